"""How closely a number computed on one machine must match the same number computed on another:
every tolerance named once, with its reason and the stage it applies to (config/tolerances.yaml),
and the table comparison that applies them.

Why numbers move between machines at all: the summation order of vectorized reductions depends
on the instruction set the libraries dispatch to (numpy's dispatch targets, torch's
``ATEN_CPU_CAPABILITY``, the BLAS kernels) and on the thread count, so the same code and inputs
give sums that differ in the last bits; an aggregation keeps that difference at the last bits, a
training run amplifies it. ``benchmarks/travel.py`` measures how far each stage's numbers move
when one machine imitates another (docs/travel.md); each tolerance is set to cover that with
margin (tests/test_tolerances.py checks it against config/travel.yaml).

A value ``b`` matches ``a`` when ``|a - b| <= atol + rtol * |a|`` (NaN matches NaN, an infinity
only itself). What is not computed, the keys, hashes, counts and words (statuses, verdicts),
must match exactly; a number written inside a text cell (``"late R_eff: gd 0.0679 +- 0.0035"``)
written with a decimal point or an exponent (a rounded value) matches within the tolerance or one
unit of its last printed digit, and one written as an integer (a count) exactly.
"""

from __future__ import annotations

import fnmatch
import functools
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[2]
TOLERANCES = ROOT / "config" / "tolerances.yaml"
#: The measurement the tolerances are sized from (written by benchmarks/travel.py).
TRAVEL = ROOT / "config" / "travel.yaml"
_FIELDS = {"stage", "files", "rtol", "atol", "why"}
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class Tolerance:
    """``|a - b| <= atol + rtol * |a|`` for the numbers of ``files`` (shell patterns relative
    to a run's directory, ``*`` crossing folders: ``results/finite/*``) at ``stage``, for the
    reason ``why``."""

    name: str
    stage: str
    files: tuple[str, ...]
    rtol: float
    atol: float
    why: str

    def covers(self, path: str) -> bool:
        """Whether a file (relative to the run's directory) is one this tolerance applies to."""
        return any(fnmatch.fnmatchcase(str(path), pattern) for pattern in self.files)


@functools.cache
def tolerances(path: str | Path = TOLERANCES) -> dict[str, Tolerance]:
    """Every tolerance of ``path``, checked: each entry has exactly stage, files, rtol, atol
    and why, with non-negative finite rtol and atol."""
    entries = yaml.safe_load(Path(path).read_text())
    out = {}
    for name, entry in entries.items():
        if not isinstance(entry, dict) or set(entry) != _FIELDS:
            raise ValueError(f"{path}: tolerance {name!r} needs exactly {sorted(_FIELDS)}, "
                             f"got {sorted(entry) if isinstance(entry, dict) else entry!r}")
        for key in ("rtol", "atol"):
            if not (isinstance(entry[key], (int, float)) and 0 <= entry[key] < math.inf):
                raise ValueError(f"{path}: {name}.{key} must be a finite number >= 0, "
                                 f"got {entry[key]!r}")
        out[name] = Tolerance(name, entry["stage"], tuple(entry["files"]), float(entry["rtol"]),
                              float(entry["atol"]), " ".join(entry["why"].split()))
    return out


def tolerance(name: str) -> Tolerance:
    """One tolerance by name; a KeyError names the file and the known names."""
    known = tolerances()
    if name not in known:
        raise KeyError(f"{name!r} is not a tolerance of {TOLERANCES}; known: {sorted(known)}")
    return known[name]


def close(a, b, tol: Tolerance) -> np.ndarray:
    """Elementwise ``|a - b| <= atol + rtol * |a|``; NaN matches NaN, an infinity itself."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(invalid="ignore"):
        near = (np.abs(a - b) <= tol.atol + tol.rtol * np.abs(a)) & np.isfinite(a) & np.isfinite(b)
    return near | (np.isnan(a) & np.isnan(b)) | (np.isinf(a) & (a == b))


def _last_digit_unit(token: str) -> float:
    """One unit of the last printed digit of a number as written (``"0.0035"`` -> 1e-4)."""
    mantissa, _, exponent = token.lower().lstrip("+-").partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def _rounded(token: str) -> bool:
    return "." in token or "e" in token.lower()


def _text_matches(a: str, b: str, tol: Tolerance) -> bool:
    """Equal words and counts; rounded numbers within the tolerance or one unit of their last
    printed digit."""
    if _NUMBER.split(a) != _NUMBER.split(b):
        return False
    for x, y in zip(_NUMBER.findall(a), _NUMBER.findall(b), strict=True):
        if x == y:
            continue
        if not (_rounded(x) and _rounded(y)):
            return False
        slack = max(_last_digit_unit(x), _last_digit_unit(y))
        if not abs(float(x) - float(y)) <= tol.atol + tol.rtol * abs(float(x)) + slack:
            return False
    return True


def read_csv_text(text: str) -> pd.DataFrame:
    """A CSV as the comparison reads it: numbers as float64, empty cells as NaN."""
    return pd.read_csv(io.StringIO(text))


def table_differences(expected: pd.DataFrame, actual: pd.DataFrame, tol: Tolerance,
                      label: str = "table") -> list[str]:
    """Every cell of ``actual`` that does not match ``expected`` under ``tol``, as
    ``"label row R column C: expected vs actual"`` lines (empty: they match). Both tables are
    read as CSV text first (:func:`read_csv_text`), so a table in memory and the file written
    from it compare alike; columns and row count must be equal."""
    expected = read_csv_text(expected.to_csv(index=False))
    actual = read_csv_text(actual.to_csv(index=False))
    if list(expected.columns) != list(actual.columns):
        return [f"{label}: columns {list(actual.columns)} instead of {list(expected.columns)}"]
    if len(expected) != len(actual):
        return [f"{label}: {len(actual)} rows instead of {len(expected)}"]
    out = []
    for column in expected.columns:
        a, b = expected[column], actual[column]
        numeric = pd.api.types.is_float_dtype(a) and pd.api.types.is_float_dtype(b)
        if numeric:
            bad = ~close(a.to_numpy(), b.to_numpy(), tol)
        else:  # keys, counts, words: exact; numbers printed in text: within the tolerance
            bad = np.array([not (x == y or (pd.isna(x) and pd.isna(y))
                                 or (isinstance(x, str) and isinstance(y, str)
                                     and _text_matches(x, y, tol)))
                            for x, y in zip(a, b)], dtype=bool)
        for row in np.flatnonzero(bad):
            out.append(f"{label} row {row} column {column!r}: {a.iloc[row]!r} vs "
                       f"{b.iloc[row]!r}")
    return out


def assert_tables_close(expected: pd.DataFrame | Path, actual: pd.DataFrame,
                        tolerance_name: str, label: str | None = None) -> None:
    """Fail (AssertionError) listing every cell of ``actual`` (a table computed here) that does
    not match ``expected`` (a table or a CSV file computed elsewhere) under the named tolerance;
    the message names the tolerance, its bounds and its reason."""
    tol = tolerance(tolerance_name)
    if isinstance(expected, (str, Path)):
        label = label or str(expected)
        expected = read_csv_text(Path(expected).read_text())
    differences = table_differences(expected, actual, tol, label or "table")
    if differences:
        shown = "\n".join(differences[:20])
        raise AssertionError(
            f"{len(differences)} cell(s) beyond tolerance {tol.name!r} (rtol {tol.rtol:g}, "
            f"atol {tol.atol:g}: {tol.why}):\n{shown}")


@functools.cache
def travel(path: str | Path = TRAVEL) -> dict:
    """The measurement of benchmarks/travel.py (config/travel.yaml); {} where none was made."""
    path = Path(path)
    return yaml.safe_load(path.read_text()) if path.is_file() else {}


def fragile_verdicts(path: str | Path = TRAVEL) -> list[dict]:
    """The claim rows whose verdict word changed under some variant of the travel measurement:
    dicts with claim, row, setting, level, the baseline verdict and the verdicts seen, by
    variant."""
    return list(travel(path).get("fragile", []))


def fragile_claims(path: str | Path = TRAVEL) -> set[str]:
    """The claims with at least one fragile verdict (row or claim line)."""
    return {row["claim"] for row in fragile_verdicts(path)}
