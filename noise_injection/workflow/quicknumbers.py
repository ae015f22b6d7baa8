"""The quick scale's finite-dimensional and variance numbers that the README's stage paragraphs
state, taken from a finished default run (its results/finite/claims.csv,
results/variance/claims.csv and results/variance/calibration.json) into the gallery's record, and the paragraphs' generated
sentences written from that record (noise_injection.workflow.gallery puts them into the README).

Sigma convention of these stages: the per-coordinate std of the noise on every parameter (the
theory's sigma)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd

#: The claims of the finite and variance stages.
CLAIMS = ("C1", "C2", "C3", "C4")
#: What the calibration targets are, in words (noise_injection.variance.onset's keys).
TARGET_WORDS = {"gd_reff_small": "GD's final R_eff", "reff_optimum": "the R_eff optimum"}
_ROW_FIELDS = ("claim", "row", "level", "setting", "estimate", "verdict", "verdict_text",
               "measured")


def record_numbers(run: Path) -> dict:
    """From a finished default run in ``run`` (a clone): its revision, the calibration of
    Fig. 2's sigma and every row of claims C1-C4."""
    results = run / "results"
    claims = pd.concat([pd.read_csv(results / stage / "claims.csv", dtype=str,
                                    keep_default_na=False) for stage in ("finite", "variance")])
    scales = set(claims["scale"])
    if scales != {"quick"}:
        raise ValueError(f"the claims of {results} are of scale {sorted(scales)}, not the "
                         "quick scale the README's paragraphs describe")
    calibration = json.loads((results / "variance" / "calibration.json").read_text())
    rows = claims[claims["claim"].isin(CLAIMS)]
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=run,
                              capture_output=True, text=True, check=True).stdout.strip()
    return {"revision": revision,
            "calibration": {"sigma": calibration["sigma"], "source": calibration["source"],
                            "fit": calibration.get("fit")},
            "claims": [{k: (float(r[k]) if k == "estimate" and r[k] else r[k] or None)
                        for k in _ROW_FIELDS} for _, r in rows.iterrows()]}


def _rows(numbers: dict, claim: str) -> tuple[dict, list[dict]]:
    rows = [r for r in numbers["claims"] if r["claim"] == claim]
    line = next(r for r in rows if r["level"] == "claim")
    return line, [r for r in rows if r["level"] != "claim"]


def _row_text(row: dict) -> str:
    estimate = "" if row["estimate"] is None else f"{row['estimate']:.3g}; "
    return f"{row['row']} **{row['verdict']}** ({estimate}{row['measured']})"


def finite_text(numbers: dict) -> str:
    """C1-C3 at the quick scale: each claim's verdict and its rows' estimates as measured."""
    parts = []
    for claim in ("C1", "C2", "C3"):
        line, rows = _rows(numbers, claim)
        parts.append(f"{claim} ({line['setting']}) **{line['verdict_text']}**: "
                     + "; ".join(_row_text(r) for r in rows))
    return (f"At the quick scale (the default run of revision {numbers['revision']}; estimate "
            f"= the median run): " + ". ".join(parts) + ".")


def variance_text(numbers: dict) -> str:
    """Fig. 2's calibrated sigma with its fit, and claim C4's rows at the quick scale."""
    cal = numbers["calibration"]
    fit = cal["fit"] or {}
    words = [TARGET_WORDS.get(k, k) for k in fit.get("targets", {})]
    fitted = (f"sigma = {cal['sigma']:.3g} ({cal['source']}"
              + (f", at width {fit['width']}, to {' and '.join(words)} read off the paper's "
                 f"plot, {', '.join(f'{v:g}' for v in fit['targets'].values())}: model values "
                 f"{', '.join(f'{v:.3g}' for v in fit['model'].values())}, log residuals "
                 f"{', '.join(f'{v:+.2f}' for v in fit['log_residuals'].values())}"
                 if fit else "") + ")")
    ratio = ""
    if {"gd_reff_small", "reff_optimum"} <= set(fit.get("model", {})):
        ours = fit["model"]["gd_reff_small"] / fit["model"]["reff_optimum"]
        paper = fit["targets"]["gd_reff_small"] / fit["targets"]["reff_optimum"]
        ratio = (f"; at this sigma our GD end point carries {ours:.2g}x the optimum's R_eff "
                 f"where the paper's carries {paper:.2g}x")
    line, rows = _rows(numbers, "C4")
    return (f"At the quick scale (the default run of revision {numbers['revision']}) the fit "
            f"gives {fitted}{ratio}. C4 **{line['verdict_text']}**: "
            + "; ".join(_row_text(r) for r in rows) + ".")
