"""Figures of the finite-dimensional stage: PGD (markers, mean +- std over seeds) over the
convex reference path (lines), with plain GD for contrast. Sigma = per-coordinate noise std
on every parameter (the theory's sigma)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from noise_injection.base.plotting import SCHEME_COLORS, SCHEME_LABELS, legend_beside


def path_panel(ax, sigmas, pgd_values, path_sigmas, path_values, ylabel: str,
               max_lines: int = 10) -> None:
    """Reference curves (one per component, the ``max_lines`` largest, one colour each) and
    PGD markers; the legend sits right of the panel, off the curves.

    pgd_values: (n_sigma, n_seeds, m); path_values: (n_path, m)."""
    order = np.argsort(-np.abs(path_values).max(0))[:max_lines]
    colors = plt.cm.tab10(np.arange(10))
    mean, std = pgd_values.mean(1), pgd_values.std(1)
    for rank, k in enumerate(order):
        color = colors[rank % 10]
        ax.plot(path_sigmas, path_values[:, k], color=color, lw=1.2,
                label=SCHEME_LABELS["reference"] if rank == 0 else None)
        ax.errorbar(sigmas, mean[:, k], yerr=std[:, k], fmt="o", ms=4, color=color,
                    mfc="none", label="PGD (mean ± std over seeds)" if rank == 0 else None)
    ax.set(xlabel=r"$\sigma$ (noise std per parameter)", ylabel=ylabel)
    legend_beside(ax)


def contrast_panel(ax, index, gd, pgd, ref, sigma: float, ylabel: str, norm_name: str) -> None:
    """Plain GD vs PGD vs reference at one sigma, component by component (stems)."""
    for values, key, marker, label in (
        (gd, "none", "x", f"plain GD, {norm_name} = {np.abs(gd).sum():.3g}"),
        (pgd, "layer", "o", f"PGD, {norm_name} = {np.abs(pgd).sum():.3g}"),
        (ref, "reference", "+", f"reference, {norm_name} = {np.abs(ref).sum():.3g}"),
    ):
        ax.plot(index, values, marker, ms=5, color=SCHEME_COLORS[key], label=label,
                mfc="none" if marker == "o" else None)
    ax.axhline(0, color="k", lw=0.6)
    ax.set(xlabel="component", ylabel=ylabel, title=rf"$\sigma$ = {sigma:g}")
    legend_beside(ax)
