"""Workflow configuration: schema validation with defaults and errors that name the key.

The schema is YAML (JSON Schema, draft 2020-12). A ``{"$ref": "file.yaml"}`` pointing at
another file is inlined relative to the referring file, so every workflow stage keeps its own
schema file. Defaults declared in the schema are filled in before validation; every problem is
reported at once, each with the dotted path of the bad key (``networks.experiments.fig3.lr``)
and what is allowed there.
"""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import yaml


class ConfigError(ValueError):
    """The configuration does not satisfy the schema; the message lists every bad key."""


def load_schema(path: str | Path) -> dict:
    """Load a YAML schema and inline ``$ref``s to other YAML files (relative paths)."""
    path = Path(path)
    with open(path) as fh:
        schema = yaml.safe_load(fh)
    return _inline_refs(schema, path.parent)


def _inline_refs(node, base: Path):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.endswith((".yaml", ".yml")):
            siblings = {k: _inline_refs(v, base) for k, v in node.items() if k != "$ref"}
            return {**load_schema(base / ref), **siblings}
        return {k: _inline_refs(v, base) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline_refs(v, base) for v in node]
    return node


def _fill_defaults(schema: dict, instance) -> None:
    """Insert schema defaults into ``instance`` (objects only), depth first."""
    if not isinstance(instance, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            _fill_defaults(sub, instance[key])
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in instance.items():
            if key not in schema.get("properties", {}):
                _fill_defaults(extra, value)


def _dotted(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def _explain(error: jsonschema.ValidationError) -> str:
    where = _dotted(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        where_in = "" if where == "<top level>" else f" under '{where}'"
        return f"unknown key(s) {unknown}{where_in}; allowed: {allowed}"
    if error.validator == "enum":
        return f"'{where}' = {error.instance!r} is not allowed; choose one of {error.validator_value}"
    if error.validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        return f"'{where}' = {error.instance!r} is out of range ({error.validator} {error.validator_value})"
    if error.validator == "required":
        return f"missing key under '{where}': {error.message}"
    return f"'{where}': {error.message}"


def validate_config(config: dict, schema_path: str | Path) -> dict:
    """Fill defaults into ``config`` in place, validate it, and return it.

    Raises:
        ConfigError: naming every bad key and what is allowed there.
    """
    schema = load_schema(schema_path)
    _fill_defaults(schema, config)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = "\n".join(f"  - {_explain(e)}" for e in errors)
        raise ConfigError(f"invalid workflow configuration ({schema_path}):\n{lines}")
    return config
