"""Claims C1-C3 of docs/paper.md section 5: PGD's solution against the convex reference.

The theorems say PGD targets the minimizer of a convex problem, so the rows test exactly that,
per model, on the per-run comparison rows (one per sigma and seed, see
``noise_injection.finite.compare``): the relative objective gap |f(PGD) - f(ref)| / |f(ref)|
and the parameter error ||PGD - ref|| / ||ref||, each against a tolerance declared per scale
in the config. A diverged run (status not ok, or a NaN number) fails both. Support / group /
rank agreement is reported beside them as a description, counted on the components clear of
the cut-off. The paper shows no experiment; its value comes from the registry.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from noise_injection.claims import paper_numbers as paper
from noise_injection.claims.table import claim_row
from noise_injection.claims.verdicts import INCONCLUSIVE, OPPOSITE, REPRODUCED, all_rows_verdict

CLAIMS = {
    "lasso": ("C1", "PGD on the Hadamard model solves the Lasso with alpha = 2 sigma^2 "
                    "(normalized columns)"),
    "group_lasso": ("C2", "PGD on the grouped model solves the group Lasso of docs/paper.md 2(b)"),
    "nuclear": ("C3", "PGD on the two-layer linear net solves the nuclear-norm problem of "
                      "docs/paper.md 2(c)"),
}
STRUCTURE = {"lasso": "support", "group_lasso": "active groups", "nuclear": "rank"}
#: The tested quantities: summary column, row name, config key of the tolerance.
QUANTITIES = (("objective_gap_rel", "relative objective gap", "max_objective_gap"),
              ("rel_error", "parameter error", "max_rel_error"))


def tolerance_verdict(values, tolerance: float) -> str:
    """Per-run numbers that the theorem says are ~0 (NaN = a diverged run, which fails):
    reproduced if every run is within ``tolerance``, opposite if more than half miss it
    (PGD does not solve the problem), inconclusive otherwise."""
    values = np.abs(np.asarray(values, dtype=float))
    passed = np.nan_to_num(values, nan=np.inf) <= tolerance
    if passed.all():
        return REPRODUCED
    return OPPOSITE if passed.mean() < 0.5 else INCONCLUSIVE


def _criterion(name: str, tolerance: float, scale: str) -> str:
    return (f"every PGD run (all sigmas and seeds) has {name} <= {tolerance:g} (declared for "
            f"the {scale} scale): reproduced; more than half above it: opposite; else "
            "inconclusive; a diverged run counts as above")


def model_rows(model: str, summary: pd.DataFrame, cfg: dict, scale: str) -> list[dict]:
    """The claim line and the two tested rows of ``model`` from its summary (methods 'pgd'
    and 'gd'); ``cfg`` is the finite config (tolerances, structure_tol, structure_clearance)."""
    claim, statement = CLAIMS[model]
    pgd, gd = summary[summary.method == "pgd"], summary[summary.method == "gd"]
    ok = (pgd["status"] == "ok").to_numpy()
    n_ok = f"PGD {int(ok.sum())}/{len(pgd)}"
    base = dict(paper=f"gap {paper.value('finite_exact')}: {paper.entry('finite_exact')['note']}",
                paper_source=paper.source("finite_exact"), n_ok=n_ok, scale=scale)
    rows = []
    for column, name, key in QUANTITIES:
        values = np.where(ok, pgd[column].to_numpy(dtype=float), np.nan)
        worst = int(np.argmax(np.nan_to_num(np.abs(values), nan=np.inf)))
        rows.append(claim_row(
            claim, name, statement, tolerance_verdict(values, cfg[key]),
            _criterion(name, cfg[key], scale), setting=f"{model}: PGD vs convex reference",
            estimate=np.abs(values[worst]), measured=(
                f"worst run sigma {pgd['sigma'].iloc[worst]:g}; median "
                f"{np.nanmedian(np.abs(values)):.2g}; plain GD from the same init: median "
                f"{gd[column].abs().median():.2g}"), **base))
    clear = pgd["structure_match_clear"].astype(str).eq("True") & ok
    whole = pgd["structure_match"].astype(str).eq("True") & ok
    what = STRUCTURE[model]
    described = (f"description, not tested: same {what} on the components clear of the "
                 f"cut-off ({cfg['structure_tol']:g} x largest, clearance x"
                 f"{cfg['structure_clearance']:g}) in {int(clear.sum())}/{len(pgd)} runs, with "
                 f"every component in {int(whole.sum())}/{len(pgd)}; plain GD norm "
                 f"{gd['norm'].median():.3g} vs reference {gd['norm_ref'].median():.3g}")
    line = claim_row(claim, "claim", statement, all_rows_verdict([r["verdict"] for r in rows]),
                     "claim line: reproduced if both rows are, opposite if one is, else "
                     "inconclusive", level="claim", setting=model, measured=described, **base)
    return [line, *rows]
