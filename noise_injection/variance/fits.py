"""Statistics of the width study that need no torch (the claims and figure jobs import them):
a variance with its standard error, and a log-log slope over the widest widths."""

from __future__ import annotations

import numpy as np


def variance_with_se(samples: np.ndarray) -> tuple[float, float]:
    """Unbiased sample variance and its standard error sqrt((m4 - var^2) / S), m4 the fourth
    central moment (no Gaussian assumption: the perturbed losses are heavy-tailed)."""
    samples = np.asarray(samples, dtype=np.float64)
    centred = samples - samples.mean()
    var = float(np.sum(centred**2) / (len(samples) - 1))
    m4 = float(np.mean(centred**4))
    return var, float(np.sqrt(max(m4 - var**2, 0.0) / len(samples)))


def fit_loglog(widths, values, decades: float) -> tuple[float, float]:
    """Least-squares (slope, intercept) of log(values) on log(widths) over the widths within
    ``decades`` of the largest one (the asymptotic regime the theory's exponents describe)."""
    widths, values = np.asarray(widths, dtype=float), np.asarray(values, dtype=float)
    keep = widths >= widths.max() / 10**decades
    if keep.sum() < 2:
        raise ValueError(f"need at least two widths within {decades} decade(s) of the largest")
    slope, intercept = np.polyfit(np.log(widths[keep]), np.log(values[keep]), 1)
    return float(slope), float(intercept)
