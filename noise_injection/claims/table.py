"""The claims table: its columns, one row builder every stage uses, and the combined table of
the review stage.

Each stage writes ``results/<stage>/claims.csv`` with :data:`CLAIM_COLUMNS`, one row per
declared comparison (level "comparison") and one claim-level line per claim (level "claim")
derived from its rows by the rule written in its criterion. Verdicts come from
:mod:`noise_injection.claims.verdicts`; this module only formats, checks and combines them
(the page a reader sees: :mod:`noise_injection.claims.page`).

Columns (:func:`claim_row` fills them; "" or NaN where a row has none):

- claim, row, level ("comparison" or "claim"), statement, setting (the contrast: coefficient,
  setting, metric per term);
- paper (the paper's number in words, with its reading error), paper_source (its citations:
  registry entries, digitized panels);
- estimate, ci_low, ci_high: ours, in estimate_unit ("points", "points per decade of sigma",
  or "ratio of geometric means" for a contrast of log values: the rows on Hessian traces);
  ci_level: the interval's two-sided level (0.95; 0.9 for a non-inferiority row, whose
  one-sided test is at 5 %);
- test: the interval's test in words; n_ok and diverged: finished / run and diverged / run per
  setting;
- power: the power at the paper's effect with the configured seeds as a median-unbiased
  estimate with its 95 % interval and the seeds 80 % needs, or why there is none ("not
  comparable: ...", "not estimable: ...", "unknown: ...");
- magnitude: where the paper's number (with its reading error) lies against our 95 % interval
  ("below / within / above the paper's ..."), or why it is not compared;
- verdict (one of :data:`~noise_injection.claims.verdicts.VERDICTS`), verdict_text (a row:
  "direction reproduced, magnitude below the paper's", or the verdict with its power; a claim
  line: "reproduced in k of n settings run (m declared not run)" and the like);
- beyond_paper, measured, criterion (the rule, fixed before the run), scale.
"""

from __future__ import annotations

import math
import os

import pandas as pd

from noise_injection.claims.verdicts import VERDICTS

CLAIM_COLUMNS = ("claim", "row", "level", "statement", "setting", "paper", "paper_source",
                 "estimate", "ci_low", "ci_high", "ci_level", "estimate_unit", "test", "n_ok",
                 "diverged", "power", "magnitude", "verdict", "verdict_text", "beyond_paper",
                 "measured", "criterion", "scale")
LEVELS = ("comparison", "claim")
VERDICT_COLORS = {
    "reproduced": "#d9f2d9",
    "reproduced in the settings run": "#ecf7e4",
    "opposite": "#f8d7da",
    "inconclusive": "#fff2cc",
    "not run at this scale": "#e9ecef",
    "not applicable at this scale": "#e9ecef",
}


def claim_row(claim: str, row: str, statement: str, verdict: str, criterion: str, *,
              level: str = "comparison", setting: str = "", paper: str = "",
              paper_source: str = "", estimate: float = math.nan, ci_low: float = math.nan,
              ci_high: float = math.nan, ci_level: float = math.nan, estimate_unit: str = "",
              test: str = "", n_ok: str = "", diverged: str = "", power: str = "",
              magnitude: str = "", verdict_text: str = "", beyond_paper: bool = False,
              measured: str = "", scale: str = "") -> dict:
    """One row of the claims table (columns :data:`CLAIM_COLUMNS`). ``n_ok`` is 'ok/run'
    and ``diverged`` 'diverged/run' per setting; ``test`` names the interval's test;
    ``power`` is the power at the paper's effect; ``verdict_text`` the verdict in words
    (default: the verdict); ``beyond_paper`` marks rows that test this project's derivations."""
    if verdict not in VERDICTS or level not in LEVELS:
        raise ValueError(f"claim {claim} row {row}: verdict {verdict!r} / level {level!r}; "
                         f"allowed: {VERDICTS} / {LEVELS}")
    return {"claim": claim, "row": row, "level": level, "statement": statement,
            "setting": setting, "paper": paper, "paper_source": paper_source,
            "estimate": float(estimate), "ci_low": float(ci_low), "ci_high": float(ci_high),
            "ci_level": float(ci_level), "estimate_unit": estimate_unit, "test": test,
            "n_ok": n_ok, "diverged": diverged, "power": power, "magnitude": magnitude,
            "verdict": verdict, "verdict_text": verdict_text or verdict,
            "beyond_paper": "beyond the paper" if beyond_paper else "", "measured": measured,
            "criterion": criterion, "scale": scale}


def read_claims(path: str | os.PathLike) -> pd.DataFrame:
    """A stage's claims file, checked: the columns of :data:`CLAIM_COLUMNS` and known verdicts."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in CLAIM_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing claim column(s) {missing}; expected {CLAIM_COLUMNS}")
    bad = sorted(set(table["verdict"]) - set(VERDICTS))
    if bad:
        raise ValueError(f"{path}: unknown verdict(s) {bad}; allowed: {VERDICTS}")
    return table[list(CLAIM_COLUMNS)]


def combine_claims(paths) -> pd.DataFrame:
    """All stages' claims files (checked by :func:`read_claims`) in one table
    (:func:`combine_tables`)."""
    return combine_tables([read_claims(p) for p in paths])


def combine_tables(tables) -> pd.DataFrame:
    """All stages' claims in one table, sorted by claim family and number (C1, C2, ..., C10,
    then the beyond-the-paper families F7.., W1..), the stages' row order kept within a
    claim; values as the CSV files hold them (text)."""
    table = pd.concat([t.astype(str).replace("nan", "") for t in tables], ignore_index=True)
    parts = table["claim"].str.extract(r"^(\D*)(\d+)")
    order = parts[0] + parts[1].astype(int).map("{:06d}".format)
    return table.iloc[order.argsort(kind="stable")].reset_index(drop=True)


def mark_fragile(table: pd.DataFrame, fragile, variants: dict, source: str):
    """The combined table with every row whose verdict word changed on an imitated machine
    (``fragile``: dicts with claim, row, level, setting, verdict and ``seen``, the word per
    variant, as benchmarks/travel.py lists them) marked at the end of its verdict_text:
    '; fragile: reads "reproduced" on an AVX2 machine (...) (<source>)'. A row matches on claim,
    row, level and setting. Returns the marked table and the entries no row matched (a travel
    measurement older than the table's rows)."""
    table = table.copy()
    unmatched = []
    for entry in fragile:
        hit = ((table["claim"] == entry["claim"]) & (table["row"] == entry["row"])
               & (table["level"] == entry["level"]) & (table["setting"] == entry["setting"]))
        if not hit.any():
            unmatched.append(entry)
            continue
        seen = ", ".join(f'reads "{word}" on {variants.get(variant, variant)}'
                         for variant, word in entry["seen"].items())
        table.loc[hit, "verdict_text"] += f"; fragile: {seen} ({source})"
    return table, unmatched


def interval_text(row) -> str:
    """A row's estimate and interval at 3 significant digits with the interval's level:
    '+2.1 [+0.4, +3.8] (95 %)' for a difference, 'r [low, high] (95 %)', unsigned, for a ratio
    ('' where there is none; the estimate alone without an interval; no level where the row
    states none)."""
    ratio = str(row["estimate_unit"]).startswith("ratio")

    def num(x):
        if x in ("", None) or pd.isna(float(x)):
            return ""
        return f"{float(x):.3g}" if ratio else f"{float(x):+.3g}"
    est, low, high = num(row["estimate"]), num(row["ci_low"]), num(row["ci_high"])
    if not (low and high):
        return est
    level = row.get("ci_level", "")
    if level in ("", None) or pd.isna(float(level)):
        return f"{est} [{low}, {high}]"
    return f"{est} [{low}, {high}] ({100 * float(level):.0f} %)"

