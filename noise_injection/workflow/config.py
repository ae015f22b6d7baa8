"""Workflow configuration: schema validation with defaults and errors that name the key.

The schema is YAML (JSON Schema, draft 2020-12). A ``{"$ref": "file.yaml"}`` pointing at
another file is inlined relative to the referring file, so every workflow stage keeps its own
schema file. Defaults declared in the schema are filled in before validation; every problem is
reported at once, each with the dotted path of the bad key (``networks.experiments.fig3.lr``)
and what is allowed there, together with the checks across fields that a schema cannot express
(:func:`cross_field_problems`) and the stages the file leaves out: every stage needs its
section (defaults of one scale must never run under another scale's label), unless the file
turns the stage off by listing it in ``stages_off``.

Snakemake parses a ``--configfile`` itself, before this module runs, and its YAML syntax
error names neither file nor line; ``python -m noise_injection.workflow.config FILE`` checks
a file on its own, a syntax error reported as ``FILE:LINE:COLUMN``.
"""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path

import jsonschema
import yaml


#: The workflow's stages, each with its config section, schema and rules/<stage>.smk.
STAGES = ("injector", "finite", "variance", "networks", "review")


class ConfigError(ValueError):
    """The configuration does not satisfy the schema; the message lists every bad key."""


def load_config_file(path: str | Path) -> dict:
    """A YAML (or JSON) configuration file as a dict; a syntax error names file, line and
    column."""
    try:
        with open(path) as fh:
            config = yaml.safe_load(fh)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        context = ""
        if err.context and err.context_mark:
            context = f" ({err.context} at line {err.context_mark.line + 1})"
        raise ConfigError(f"{where}: YAML syntax error: {err.problem or err}{context}") from err
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    return config


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
    for key, value in instance.items():
        if key in schema.get("properties", {}):
            continue
        matched = [sub for pattern, sub in schema.get("patternProperties", {}).items()
                   if re.search(pattern, key)]
        extra = schema.get("additionalProperties")
        for sub in matched or ([extra] if isinstance(extra, dict) else []):
            _fill_defaults(sub, value)


def _dotted(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def _explain(error: jsonschema.ValidationError) -> str:
    where = _dotted(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        patterns = list(error.schema.get("patternProperties", {}))
        unknown = sorted(k for k in set(error.instance) - set(allowed)
                         if not any(re.search(p, k) for p in patterns))
        where_in = "" if where == "<top level>" else f" under '{where}'"
        names = " or ".join([*([str(allowed)] if allowed else []),
                             *(f"names matching {p}" for p in patterns)])
        return f"unknown key(s) {unknown}{where_in}; allowed: {names}"
    if error.validator == "enum":
        return f"'{where}' = {error.instance!r} is not allowed; choose one of {error.validator_value}"
    if error.validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        return f"'{where}' = {error.instance!r} is out of range ({error.validator} {error.validator_value})"
    if error.validator == "required":
        return f"missing key under '{where}': {error.message}"
    return f"'{where}': {error.message}"


def cross_field_problems(config: dict, skip: set[str] = frozenset()) -> list[str]:
    """Problems across fields of the configuration, each naming its dotted key, for every
    network experiment not in ``skip`` (those with schema errors) and the width sweep. A valid
    width sweep's experiments are added to ``networks.experiments`` here (and checked like the
    others), so that every rule and script finds them where it finds the paper's."""
    from noise_injection.networks.experiments import (
        experiment_problems,
        sweep_experiments,
        sweep_problems,
    )

    networks = config.get("networks", {})
    experiments = networks.get("experiments", {})
    problems = sweep_problems(networks) if "width_sweep" in networks else []
    if "width_sweep" in networks and not problems and sweep_experiments(networks):
        if networks["width_sweep"]["of"] not in skip:
            experiments.update(sweep_experiments(networks))
    return problems + [problem for name, experiment in experiments.items() if name not in skip
                       for problem in experiment_problems(name, experiment)]


def stages_on(config: dict) -> list[str]:
    """The stages the configuration runs: all but those listed in ``stages_off``."""
    return [s for s in STAGES if s not in config.get("stages_off", [])]


def missing_stages(config: dict) -> list[str]:
    """The stages with no section in ``config`` that ``stages_off`` does not turn off."""
    return [s for s in stages_on(config) if s not in config]


def validate_config(config: dict, schema_path: str | Path, source: str | None = None) -> dict:
    """Check that every stage has its section, fill defaults into ``config`` in place,
    validate it against the schema and across fields, and return it. ``source`` names the
    configuration file(s) in the message.

    Raises:
        ConfigError: naming every bad key and what is allowed there.
    """
    schema = load_schema(schema_path)
    problems = [f"stage '{s}' has no section: copy it from config/config.yaml and scale it, "
                f"or turn the stage off with 'stages_off: [{s}]'" for s in missing_stages(config)]
    absent = [s for s in STAGES if s not in config]
    _fill_defaults(schema, config)
    for stage in absent:
        del config[stage]  # turned off, or reported missing: no defaults, nothing to check
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    problems += [_explain(e) for e in errors]
    # the cross-field checks read values the schema has vouched for
    if not any(list(e.absolute_path)[:1] == ["networks"] and len(e.absolute_path) < 3
               for e in errors):
        skip = {str(e.absolute_path[2]) for e in errors
                if list(e.absolute_path)[:2] == ["networks", "experiments"]}
        problems += cross_field_problems(config, skip)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(f"invalid workflow configuration ({source or 'config'}; schema "
                          f"{schema_path}):\n{lines}")
    return config


def main(paths: list[str]) -> int:
    """Check configuration files on their own; print each verdict, return the exit status."""
    schema = Path(__file__).resolve().parents[2] / "config" / "schema.yaml"
    status = 0
    for path in paths:
        try:
            validate_config(load_config_file(path), schema, path)
            print(f"{path}: valid")
        except (ConfigError, OSError) as err:
            print(err, file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
