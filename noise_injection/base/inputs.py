"""Checked reads for the jobs that consume results (aggregation, figures, claims, notebook).

A consumer never works from a damaged or incomplete file: each reader parses the whole file,
checks the keys / arrays / columns / rows the consumer needs, and otherwise raises
:class:`InputError` naming the file, what is wrong, and how to rebuild it. No torch here, and
pandas only where a table is read: every job writes its record through this module
(:mod:`noise_injection.base.results` re-exports ``read_json``), and most never read a table,
so they do not pay pandas' import (~0.3 s of CPU per job).
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


class InputError(RuntimeError):
    """A result file that a job reads is unreadable or lacks what the job needs."""


def input_error(path: str | os.PathLike, problem: str, rule: str | None = None) -> InputError:
    """The error for ``path``, with the way to rebuild it (the rule that writes it, if known)."""
    forcerun = f" or `snakemake --forcerun {rule}`" if rule else ""
    return InputError(f"{path}: {problem}. Rebuild it: delete {path} and run the same "
                      f"snakemake command again{forcerun}.")


def read_json(path: str | os.PathLike, rule: str | None = None,
              keys: Iterable[str] = ()) -> dict:
    """A JSON object with at least ``keys`` (dotted for nested keys: ``config.scheme``)."""
    try:
        with open(path) as fh:
            record = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise input_error(path, f"not valid JSON (truncated or damaged?): {err}", rule) from err
    if not isinstance(record, dict):
        raise input_error(path, f"expected a JSON object, found {type(record).__name__}", rule)
    missing = [k for k in keys if not _has_dotted(record, k)]
    if missing:
        raise input_error(path, f"missing key(s) {missing}", rule)
    return record


def _has_dotted(record: dict, key: str) -> bool:
    node = record
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def read_npz(path: str | os.PathLike, rule: str | None = None,
             keys: Iterable[str] = ()) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` (all read now, so a damaged member fails here), with at
    least ``keys``."""
    try:
        with np.load(path) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise input_error(path, f"not a readable .npz (truncated or damaged?): {err!r}",
                          rule) from err
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise input_error(path, f"missing array(s) {missing}; found {sorted(arrays)}", rule)
    return arrays


def read_table(path: str | os.PathLike, rule: str | None = None,
               columns: Iterable[str] = (), **read_csv) -> pd.DataFrame:
    """A CSV table with at least ``columns`` (``read_csv`` goes to ``pandas.read_csv``)."""
    import pandas as pd

    try:
        table = pd.read_csv(path, **read_csv)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise input_error(path, f"not a readable CSV table (truncated or damaged?): {err}",
                          rule) from err
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise input_error(path, f"missing column(s) {missing}; found {list(table.columns)}",
                          rule)
    return table


def require_rows(table: pd.DataFrame, path: str | os.PathLike, wanted: Iterable[dict],
                 rule: str | None = None) -> None:
    """Every combination in ``wanted`` (a dict column -> value; floats compared with a
    relative tolerance of 1e-9) matches at least one row of ``table``, else
    :class:`InputError` listing all that are missing."""
    missing = []
    for combination in wanted:
        mask = np.ones(len(table), dtype=bool)
        for column, value in combination.items():
            if isinstance(value, float):
                mask &= np.isclose(table[column].astype(float), value, rtol=1e-9, atol=0.0)
            else:
                mask &= (table[column] == value).to_numpy()
        if not mask.any():
            missing.append(combination)
    if missing:
        shown = ", ".join(" ".join(f"{k}={v}" for k, v in c.items()) for c in missing[:8])
        more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        raise input_error(path, f"no rows for {shown}{more}", rule)
