"""Tracked files that are generated from the workflow's own data (the figure and data maps,
the README's deviations section, report/deviations.rst): write them, or check that they are
up to date (tests fail on stale text)."""

from __future__ import annotations

import sys
from pathlib import Path


def sync_files(files: dict[Path, str], write: bool, command: str) -> int:
    """Write each path's text (``write``) or report the stale ones on stderr with the
    ``command`` that regenerates them; returns 1 if any was stale, else 0."""
    stale = []
    for path, text in files.items():
        if write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path}")
        elif not path.is_file() or path.read_text() != text:
            stale.append(str(path))
    if stale:
        print(f"out of date: {', '.join(stale)}; run {command}", file=sys.stderr)
        return 1
    return 0
