"""The registry of the paper's numbers (config/paper_numbers.yaml): the one place where a
number of the paper is written down. Claims, captions and the notebook read it from here.

Each entry: claim, figure, panel, section (where in the paper), setting, iteration ("final",
"window ...", "peak ..." or "none"), quantity, value (number, list matching ``at``, mapping or
null), unit, source ("stated in the text" or "read off the figure"), an optional note and an
optional ``order`` (pairs [lower, higher] of schemes a trace panel shows ordered).
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

REGISTRY = Path(__file__).resolve().parents[2] / "config" / "paper_numbers.yaml"
FIELDS = ("claim", "figure", "panel", "section", "setting", "iteration", "quantity", "value",
          "unit", "source")
SOURCES = ("stated in the text", "read off the figure")
SCHEMES = ("none", "layer", "all")


def check_registry(entries: dict, path: str | Path = REGISTRY) -> dict:
    """``entries`` checked: every field of :data:`FIELDS`, a known source, ``at`` as long as
    ``value`` where given; raises ValueError naming the entry and the field."""
    for key, entry in entries.items():
        missing = [f for f in FIELDS if f not in entry]
        if missing:
            raise ValueError(f"{path}: entry {key!r} lacks field(s) {missing}; needs {FIELDS}")
        if entry["source"] not in SOURCES:
            raise ValueError(f"{path}: entry {key!r} has source {entry['source']!r}; "
                             f"allowed: {SOURCES}")
        if "at" in entry and len(entry["at"]) != len(entry["value"]):
            raise ValueError(f"{path}: entry {key!r}: 'at' and 'value' differ in length")
        pairs = entry.get("order", [])
        if any(len(p) != 2 or not set(p) <= set(SCHEMES) or p[0] == p[1] for p in pairs):
            raise ValueError(f"{path}: entry {key!r}: 'order' must hold pairs [lower, higher] "
                             f"of distinct schemes {SCHEMES}")
    return entries


@functools.cache
def registry(path: str | Path = REGISTRY) -> dict:
    """All entries of the registry, checked."""
    return check_registry(yaml.safe_load(Path(path).read_text()), path)


def entry(key: str) -> dict:
    """One entry; a KeyError names the key and the registry file."""
    entries = registry()
    if key not in entries:
        raise KeyError(f"{key!r} is not in {REGISTRY}; known: {sorted(entries)}")
    return entries[key]


def value(key: str, field: str | None = None, at: float | None = None):
    """The value of ``key``; ``field`` picks from a mapping, ``at`` from a list (by sigma)."""
    item = entry(key)
    out = item["value"]
    if field is not None:
        out = out[field]
    if at is not None:
        positions = [i for i, a in enumerate(item["at"]) if abs(a - at) < 1e-12]
        out = out[positions[0]] if positions else None
    return out


def source(*keys: str) -> str:
    """Where numbers come from, one citation per key: 'Fig. 6, test accuracy vs sigma, SGD
    (main text (experiments); final (150 epochs)); read off the figure'."""
    def cite(key):
        item = entry(key)
        where = "no figure" if item["figure"] == "none" else f"Fig. {item['figure']}"
        return (f"{where}, {item['panel']} ({item['section']}; {item['iteration']}); "
                f"{item['source']}")
    return " | ".join(cite(k) for k in keys)
