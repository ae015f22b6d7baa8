"""The deviations list (config/deviations.yaml) as data: checks and the texts it generates.

The file holds ``authors`` (the checklist of the paper's protocols and the authors' code: per
item of :data:`NETWORK_ITEMS` / :data:`FIGURE_ITEMS`, the value of a dotted config/paper.yaml
key or of a ``code.`` fact of :mod:`noise_injection.workflow.codefacts`, ``*`` = every
experiment, with its source) and ``deviations`` (entries with :data:`FIELDS`). From it come the
README section between :data:`README_MARKERS` and the report page report/deviations.rst, so
that prose and config cannot drift apart:

    python -m noise_injection.workflow.deviations --write   # regenerate both
    python -m noise_injection.workflow.deviations           # exit 1 if either is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from noise_injection.networks.experiments import EXPERIMENTS
from noise_injection.workflow.generated import sync_files
from noise_injection.base.htmltable import table_page

ROOT = Path(__file__).resolve().parents[2]
FIELDS = ("id", "scale", "figures", "paper", "ours", "why", "keys")
#: Fields of a checklist entry (``value`` may be null: not stated); optional: ``unsettled``.
CHECK_FIELDS = ("item", "key", "value", "source")
#: The checklist's items for each of the seven network experiments (issues 23 and 28).
NETWORK_ITEMS = (
    "architecture", "initialization",
    "data.subset_size", "data.subset_draw", "data.normalization", "data.augmentation",
    "optimizer.kind", "optimizer.momentum", "optimizer.weight_decay", "optimizer.batch",
    "optimizer.lr", "optimizer.schedule", "optimizer.scheduler_switch", "optimizer.iterations",
    "noise.sigma", "noise.tensors", "noise.order", "noise.cutoff",
    "evaluation.split", "evaluation.schedule", "evaluation.loss_averaging",
    "evaluation.timing", "evaluation.mode",
    "hessian.estimator", "hessian.probes", "hessian.subset", "hessian.augmentation",
    "hessian.aggregation", "hessian.when",
    "seeds", "runs", "numerics.precision", "numerics.tf32", "numerics.devices")
#: Figs. 1-2: a linear net on synthetic data, no Hessian, no image pipeline, float64 on a CPU.
FIGURE_ITEMS = {
    "fig1": ("architecture", "initialization", "data", "noise.sigma", "noise.order",
             "evaluation"),
    "fig2": ("architecture", "initialization", "data", "optimizer.lr", "optimizer.iterations",
             "noise.sigma", "noise.order"),
}
#: The figures whose protocol a section of the variance stage sets (other sections: both).
VARIANCE_FIGURES = {"heatmap": ("fig1",), "dynamics": ("fig2",)}
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
    for i, check in enumerate(data["authors"]):
        missing = [f for f in CHECK_FIELDS if f not in check or
                   (f != "value" and not check[f])]
        if missing:
            raise ValueError(f"{path}: checklist entry #{i} ({check.get('key')}) lacks "
                             f"{missing}; every entry needs {CHECK_FIELDS}")
    return data


def targets(key: str) -> tuple[str, ...]:
    """The experiments (:data:`EXPERIMENTS`) or figures ("fig1", "fig2") a checklist key
    concerns: networks.experiments.NAME (``*``: all), other networks keys: all seven;
    variance.heatmap: Fig. 1, variance.dynamics: Fig. 2, other variance keys: both."""
    parts = key.removeprefix("code.").split(".")
    if parts[0] == "networks":
        if parts[1] == "experiments" and parts[2] != "*":
            return (parts[2],)
        return EXPERIMENTS
    return VARIANCE_FIGURES.get(parts[1], tuple(FIGURE_ITEMS))


def missing_items(data: dict) -> list[str]:
    """'target: item' for every item of :data:`NETWORK_ITEMS` / :data:`FIGURE_ITEMS` that no
    checklist entry covers."""
    covered = {(t, c["item"]) for c in data["authors"] for t in targets(c["key"])}
    required = [(e, item) for e in EXPERIMENTS for item in NETWORK_ITEMS]
    required += [(f, item) for f, items in FIGURE_ITEMS.items() for item in items]
    return [f"{t}: {item}" for t, item in required if (t, item) not in covered]


def declares(declared: str, key: str) -> bool:
    """Whether a declared key (``*`` = any name at its level) is ``key`` or a parent of it."""
    d, k = declared.split("."), key.split(".")
    return len(d) <= len(k) and all(a in ("*", b) for a, b in zip(d, k))


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


def _paper_experiments_only(config: dict) -> dict:
    """``config`` with only the paper's experiments under networks.experiments: the
    checklist describes the authors' protocol, and the width sweep's experiments (beyond the
    paper, docs/width_sweep.md) have none to compare with."""
    networks = config.get("networks")
    if not networks:
        return config
    experiments = {k: v for k, v in networks["experiments"].items() if k in EXPERIMENTS}
    return {**config, "networks": {**networks, "experiments": experiments}}


def undeclared_differences(config: dict, data: dict) -> list[str]:
    """Keys that no entry of scale "paper" or "all" declares (a declared key covers its
    sub-keys) where ``config`` (the validated paper scale, with ``code`` =
    :func:`codefacts.code_facts`) differs from the checklist's value, or whose checklist entry
    is ``unsettled`` (a choice to declare even where we match)."""
    config = _paper_experiments_only(config)
    declared = [k for e in data["deviations"] if e["scale"] in ("paper", "all") for k in e["keys"]]
    out = []
    for check in data["authors"]:
        for key, value in lookup(config, check["key"]):
            if any(declares(d, key) for d in declared):
                continue
            if value != check["value"]:
                out.append(f"{key} = {value!r} (authors: {check['value']!r})")
            elif check.get("unsettled"):
                out.append(f"{key} = {value!r} (undeclared choice: {check['unsettled']})")
    return out


def _figures(entry: dict) -> str:
    return ", ".join(str(f) for f in entry["figures"])


def readme_block(data: dict) -> str:
    """The README's generated section body (Markdown), markers included."""
    lines = [README_MARKERS[0],
             "Generated from `config/deviations.yaml` (`python -m "
             "noise_injection.workflow.deviations --write`); the report has the same list. "
             "A test fails when `config/paper.yaml` or our code differs from the checklist of "
             "the authors' protocol in that file (every item of every experiment and of "
             "Figs. 1-2, each with its source) in a key no entry declares.", "",
             "| choice | scale | figures | paper / authors' code | ours | why |",
             "| --- | --- | --- | --- | --- | --- |"]
    for e in data["deviations"]:
        cells = [f"`{e['id']}`", e["scale"], _figures(e), e["paper"], e["ours"], e["why"]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines.append(README_MARKERS[1])
    return "\n".join(lines)


def rst_page(data: dict) -> str:
    """report/deviations.rst: every entry with its config keys, then the checklist."""
    lines = [f"**{RST_TITLE}** (generated from config/deviations.yaml; do not edit).", ""]
    for e in data["deviations"]:
        keys = ", ".join(f"``{k}``" for k in e["keys"])
        lines += [f"- **{e['id']}** ({e['scale']} scale; Figs. {_figures(e)}). "
                  f"*Paper / authors' code:* {e['paper']} *Ours:* {e['ours']} "
                  f"*Why:* {e['why']} *Config:* {keys}.", ""]
    lines += ["**The authors' protocol, item by item** (the checklist the test compares "
              "config/paper.yaml and our code with; ``code.`` keys are facts read from our "
              "code; null = not stated).", ""]
    for c in data["authors"]:
        unsettled = f" *Unsettled:* {c['unsettled']}." if c.get("unsettled") else ""
        lines += [f"- *{c['item']}*: ``{c['key']}`` = ``{json.dumps(c['value'])}`` "
                  f"({c['source']}).{unsettled}", ""]
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
