"""The deviations list (config/deviations.yaml) as data: checks and the texts it generates.

The file holds ``authors`` (the paper's protocols and the authors' code as dotted
config/paper.yaml keys, ``*`` = every experiment) and ``deviations`` (entries with
:data:`FIELDS`). From it come the README section between :data:`README_MARKERS` and the report
page report/deviations.rst, so that prose and config cannot drift apart:

    python -m noise_injection.workflow.deviations --write   # regenerate both
    python -m noise_injection.workflow.deviations           # exit 1 if either is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from noise_injection.workflow.generated import sync_files
from noise_injection.workflow.htmltable import table_page

ROOT = Path(__file__).resolve().parents[2]
FIELDS = ("id", "scale", "figures", "paper", "ours", "why", "keys")
#: "option": a switch that is off at the paper scale (its keys declare no difference).
SCALES = ("paper", "quick", "all", "option")
#: The scale config whose keys an entry of each scale names.
SCALE_CONFIGS = {"paper": "paper.yaml", "all": "paper.yaml", "quick": "config.yaml",
                 "option": "paper.yaml"}
README_MARKERS = ("<!-- deviations:start (generated from config/deviations.yaml) -->",
                  "<!-- deviations:end -->")
RST_TITLE = "Choices and deviations from the paper and the authors' code"


def load_deviations(path: str | Path = ROOT / "config" / "deviations.yaml") -> dict:
    """The file, checked: every entry has every field of :data:`FIELDS`, non-empty, a known
    scale and a unique id; otherwise ValueError naming the entry and the field."""
    data = yaml.safe_load(Path(path).read_text())
    seen = set()
    for i, entry in enumerate(data["deviations"]):
        name = entry.get("id", f"#{i}")
        for field in FIELDS:
            if not entry.get(field):
                raise ValueError(f"{path}: deviation {name!r} lacks a non-empty {field!r}; "
                                 f"every entry needs {FIELDS}")
        if entry["scale"] not in SCALES:
            raise ValueError(f"{path}: deviation {name!r} has scale {entry['scale']!r}; "
                             f"allowed: {SCALES}")
        if name in seen:
            raise ValueError(f"{path}: deviation id {name!r} is used twice")
        seen.add(name)
    return data


def lookup(config: dict, dotted: str) -> list[tuple[str, object]]:
    """(key, value) of every config key matching ``dotted`` (``*`` matches every key of
    that level); KeyError naming the key if a part is missing."""
    matches = [("", config)]
    for part in dotted.split("."):
        expanded = []
        for prefix, node in matches:
            names = list(node) if part == "*" else [part]
            for name in names:
                if not isinstance(node, dict) or name not in node:
                    raise KeyError(f"{dotted}: no key {prefix + name!r} in the config")
                expanded.append((f"{prefix}{name}.", node[name]))
        matches = expanded
    return [(prefix[:-1], value) for prefix, value in matches]


def undeclared_differences(config: dict, data: dict) -> list[str]:
    """Keys where ``config`` (the validated paper scale) differs from ``data["authors"]``
    and no entry of scale "paper" or "all" declares the key."""
    declared = {k for e in data["deviations"] if e["scale"] in ("paper", "all") for k in e["keys"]}
    out = []
    for dotted, expected in data["authors"].items():
        for key, value in lookup(config, dotted):
            if value != expected and key not in declared:
                out.append(f"{key} = {value!r} (authors: {expected!r})")
    return out


def _figures(entry: dict) -> str:
    return ", ".join(str(f) for f in entry["figures"])


def readme_block(data: dict) -> str:
    """The README's generated section body (Markdown), markers included."""
    lines = [README_MARKERS[0],
             "Generated from `config/deviations.yaml` (`python -m "
             "noise_injection.workflow.deviations --write`); the report has the same list. "
             "A test fails when `config/paper.yaml` differs from the authors' conventions "
             "(listed in that file) in a key no entry declares.", "",
             "| choice | scale | figures | paper / authors' code | ours | why |",
             "| --- | --- | --- | --- | --- | --- |"]
    for e in data["deviations"]:
        cells = [f"`{e['id']}`", e["scale"], _figures(e), e["paper"], e["ours"], e["why"]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines.append(README_MARKERS[1])
    return "\n".join(lines)


def rst_page(data: dict) -> str:
    """report/deviations.rst: every entry with its config keys."""
    lines = [f"**{RST_TITLE}** (generated from config/deviations.yaml; do not edit).", ""]
    for e in data["deviations"]:
        keys = ", ".join(f"``{k}``" for k in e["keys"])
        lines += [f"- **{e['id']}** ({e['scale']} scale; Figs. {_figures(e)}). "
                  f"*Paper / authors' code:* {e['paper']} *Ours:* {e['ours']} "
                  f"*Why:* {e['why']} *Config:* {keys}.", ""]
    return "\n".join(lines)


def html_page(data: dict, title: str) -> str:
    """A standalone HTML table of the entries (the report's page; its caption is the rst)."""
    columns = ("id", "scale", "figures", "paper", "ours", "why", "keys")
    return table_page(title, columns, ([e[c] for c in columns] for e in data["deviations"]))


def with_readme_block(readme: str, block: str) -> str:
    """``readme`` with the text between the markers (included) replaced by ``block``."""
    start, end = readme.find(README_MARKERS[0]), readme.find(README_MARKERS[1])
    if start < 0 or end < start:
        raise ValueError(f"README.md lacks the markers {README_MARKERS}")
    return readme[:start] + block + readme[end + len(README_MARKERS[1]):]


def generated_files(root: Path = ROOT) -> dict[Path, str]:
    """Path -> the text it must have (README.md and report/deviations.rst)."""
    data = load_deviations(root / "config" / "deviations.yaml")
    readme = root / "README.md"
    return {readme: with_readme_block(readme.read_text(), readme_block(data)),
            root / "report" / "deviations.rst": rst_page(data)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="regenerate the files")
    return sync_files(generated_files(), parser.parse_args(argv).write,
                      "python -m noise_injection.workflow.deviations --write")


if __name__ == "__main__":
    sys.exit(main())
