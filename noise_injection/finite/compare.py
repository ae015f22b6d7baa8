"""PGD against the convex reference, model by model (docs/paper.md section 2, claims C1-C3).

Sigma convention: sigma is the per-coordinate std of the noise on EVERY parameter (the
theory's sigma). ``model`` is "lasso", "group_lasso" or "nuclear"; ``data`` an instance from
``finite_data.make_instance``.
"""

from __future__ import annotations

import numpy as np

from noise_injection.finite import reference
from noise_injection.finite.structure import active, structure


def reference_solution(model: str, data: dict, sigma: float) -> np.ndarray:
    """The independent convex solution at noise level sigma."""
    if model == "lasso":
        return reference.lasso_reference(data["X"], data["y"], sigma)
    if model == "group_lasso":
        return reference.group_lasso_reference(data["X"], data["y"], data["groups"], sigma)
    return reference.nuclear_reference(data["X"], data["Y"], sigma)


def reference_path(model: str, data: dict, sigmas) -> np.ndarray:
    """Reference solutions stacked along ``sigmas``."""
    return np.stack([reference_solution(model, data, float(s)) for s in sigmas])


def objective(model: str, data: dict, predictor: np.ndarray, sigma: float) -> float:
    """The convex objective PGD targets, at ``predictor``."""
    if model == "lasso":
        return reference.lasso_objective(data["X"], data["y"], predictor, sigma)
    if model == "group_lasso":
        return reference.group_lasso_objective(data["X"], data["y"], data["groups"],
                                               predictor, sigma)
    return reference.nuclear_objective(data["X"], data["Y"], predictor, sigma)


def compare(model: str, data: dict, predictor: np.ndarray, ref: np.ndarray, sigma: float,
            tol: float, clearance: float) -> dict:
    """A predictor against the reference at one sigma: relative error ||p - ref|| / ||ref||
    (Frobenius), structure sizes and agreement (same support / same active groups / same
    rank), the norm the penalty weights (l1, sum of group norms, nuclear) and the relative
    objective gap. The agreement is also counted on the components clear of the cut-off
    only: those whose reference magnitude lies outside [tol / clearance, tol * clearance]
    times the reference's largest (components entering or leaving the path sit inside)."""
    mine, theirs = structure(model, data, predictor), structure(model, data, ref)
    scale = theirs.max()
    mine_on, theirs_on = active(mine, scale, tol), active(theirs, scale, tol)
    if model == "nuclear":
        same = mine_on.sum() == theirs_on.sum()
    else:
        same = (mine_on == theirs_on).all()
    clear = active(theirs, scale, tol * clearance) | ~active(theirs, scale, tol / clearance)
    ref_objective = objective(model, data, ref, sigma)
    gap = objective(model, data, predictor, sigma) - ref_objective
    return {
        "rel_error": float(np.linalg.norm(predictor - ref) / np.linalg.norm(ref)),
        "n_active": int(mine_on.sum()),
        "n_active_ref": int(theirs_on.sum()),
        "structure_match": bool(same),
        "n_clear": int(clear.sum()),
        "structure_match_clear": bool((mine_on == theirs_on)[clear].all()),
        "norm": float(mine.sum()),
        "norm_ref": float(theirs.sum()),
        "objective_gap_rel": float(gap / abs(ref_objective)),
    }


def summary_rows(model: str, data: dict, path: dict, references: np.ndarray,
                 tol: float, clearance: float) -> list[dict]:
    """One row per (method, sigma, seed): PGD at its sigma, and plain GD (sigma-free)
    compared with the reference at every sigma of the grid. ``path`` as from
    ``finite.pgd_path``; ``references`` (n_sigma, ...)."""
    rows = []
    for i, sigma in enumerate(path["sigmas"]):
        for j, seed in enumerate(path["seeds"]):
            for method, predictor, ok in (("pgd", path["pgd"][i, j], path["pgd_finite"][i, j]),
                                          ("gd", path["gd"][j], path["gd_finite"][j])):
                row = {"model": model, "method": method, "sigma": float(sigma),
                       "seed": int(seed), "status": "ok" if ok else "diverged"}
                if ok:
                    row.update(compare(model, data, predictor, references[i], sigma, tol,
                                           clearance))
                rows.append(row)
    return rows
