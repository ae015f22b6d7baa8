"""Wall time and status of the runs behind the figures, read from their run records (every
JSON with provenance that :mod:`noise_injection.base.results` writes)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd


def _run_records(paths):
    """(path, record) of every run record (a JSON with provenance) among ``paths``."""
    for path in paths:
        try:
            record = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(record, dict) and "provenance" in record:
            yield Path(path), record


def wall_time(record: dict) -> float:
    """A run's wall time in seconds, over all restarts when it was resumed from a checkpoint."""
    return float(record.get("wall_time_total_s", record.get("wall_time_s", 0.0)))


def runs_behind(path: str | os.PathLike) -> list[Path]:
    """The run records a figure input stands for: the input itself when it is one, else its
    record of the same name (``lasso_pgd.npz`` -> ``lasso_pgd.json``), else, for a table
    aggregated over a folder (``curves.csv``), every run record in that folder."""
    path = Path(path)
    found = [p for p, _ in _run_records([path.with_suffix(".json")])]
    return found or [p for p, _ in _run_records(sorted(path.parent.glob("*.json")))]


def wall_time_behind(files) -> tuple[int, float]:
    """Number of run records and their summed wall time (s) behind ``files`` (a figure's
    inputs, :func:`runs_behind`): the runs a figure was drawn from, each counted once."""
    paths = sorted({p for f in files for p in runs_behind(f)})
    records = [r for _, r in _run_records(paths)]
    return len(records), sum(wall_time(r) for r in records)


def run_timings(results_dir: str | os.PathLike) -> pd.DataFrame:
    """Wall time and status of every run record (a JSON with provenance) under results/,
    grouped by the folder that holds it (one folder per stage or experiment)."""
    results_dir = Path(results_dir)
    rows = []
    for path, record in _run_records(sorted(results_dir.rglob("*.json"))):
        rows.append({
            "group": str(path.parent.relative_to(results_dir)),
            "status": record.get("status"),
            "wall_time_s": wall_time(record),
            "device": record["provenance"].get("device", "cpu"),
        })
    if not rows:
        return pd.DataFrame(columns=["group", "runs", "diverged", "wall_time_s", "device"])
    frame = pd.DataFrame(rows)
    return (
        frame.groupby("group")
        .agg(runs=("status", "size"),
             diverged=("status", lambda s: int((s == "diverged").sum())),
             wall_time_s=("wall_time_s", "sum"),
             device=("device", lambda d: ",".join(sorted(set(d)))))
        .reset_index()
    )
