"""The constants that decide verdicts (config/verdicts.yaml), each with the reason for its
value: the one place where a threshold of a claim row is written down."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

CONSTANTS = Path(__file__).resolve().parents[2] / "config" / "verdicts.yaml"


@functools.cache
def constants(path: str | Path = CONSTANTS) -> dict:
    """All entries, checked: each has a value and a reason ("why")."""
    entries = yaml.safe_load(Path(path).read_text())
    for key, entry in entries.items():
        if set(entry) != {"value", "why"}:
            raise ValueError(f"{path}: entry {key!r} needs exactly 'value' and 'why'")
    return entries


def constant(name: str) -> float:
    """The value of one constant; a KeyError names the file."""
    entries = constants()
    if name not in entries:
        raise KeyError(f"{name!r} is not in {CONSTANTS}; known: {sorted(entries)}")
    return entries[name]["value"]
