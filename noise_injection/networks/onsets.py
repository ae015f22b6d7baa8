"""Where each noise scheme breaks in the FashionMNIST width sweep (docs/width_sweep.md, fixed
before its runs): the paired accuracy drops, the onset sigma* per width, scheme and seed, its
interval over seeds, and the fits of log sigma* against log width.

Sigma convention (the experiments'): sigma is the layer-wise std; all-weights noise has std
sigma/sqrt(M) on every tensor. Accuracies are in %, drops in points.

- Drop: ``GD's final test accuracy - the scheme's``, at the same width and seed (the schemes of
  one seed share the training subset, the initialization and the data order). A diverged run
  has no final accuracy; it counts as chance level, 100 / 10 classes = 10 % (it predicts no
  better than a guess), so it is broken at any threshold below GD's accuracy minus 10 points.
- Onset: along the sigma grid, the first grid point where the drop reaches ``threshold``
  (config/verdicts.yaml ``sweep_acc_drop``); sigma* interpolates linearly in log sigma between
  the grid point before it (drop d0 < threshold) and it (drop d1 >= threshold):
  log sigma* = log s0 + (threshold - d0) / (d1 - d0) * (log s1 - log s0). An onset at the
  first grid point is censored below (sigma* < the first sigma), none on the grid censored
  above (sigma* > the last): reported as a bound, left out of the fits, counted in the rows.
- Fits (:func:`loglog_fit`): least squares of log sigma* on log width over every measured
  (width, seed), with the t interval at the claims table's level (df = points - 2). Seeds that
  share a subset across widths add a per-seed offset; with the same widths in every seed that
  offset cancels from the slope and only inflates the residual variance, so the interval is
  then conservative.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from noise_injection.base.intervals import LEVEL, paired

#: Final test accuracy (%) a diverged run counts as: chance level of the 10 classes.
CHANCE_ACC = 100.0 / 10
BELOW, ABOVE, NO_REFERENCE = "below", "above", "no finished plain GD run"
SCHEMES = ("layer", "all")
DROP_COLUMNS = ("width", "scheme", "sigma", "seed", "status", "gd_test_acc", "test_acc", "drop")
ONSET_COLUMNS = ("width", "scheme", "seed", "onset", "censored", "bracket_low",
                 "bracket_high")
SUMMARY_COLUMNS = ("width", "scheme", "n_seeds", "n_measured", "n_below", "n_above",
                   "n_missing", "onset", "ci_low", "ci_high", "df")
FIT_COLUMNS = ("fit", "slope", "ci_low", "ci_high", "se", "df", "intercept", "n_points",
               "n_left_out", "residual_sd", "x_mean", "sxx")


def paired_drops(finals: dict[int, pd.DataFrame]) -> pd.DataFrame:
    """Per width (key of ``finals``, each a :func:`summary.seed_finals` table), noisy
    scheme, sigma and seed: the paired drop of final test accuracy below plain GD's
    (:data:`DROP_COLUMNS`); a diverged noisy run has accuracy :data:`CHANCE_ACC`, a seed
    whose GD run did not finish has no drop (NaN)."""
    rows = []
    for width, table in sorted(finals.items()):
        acc = table[table["metric"] == "test_acc"]
        gd = acc[acc["scheme"] == "none"].set_index("seed")
        for _, run in acc[acc["scheme"].isin(SCHEMES)].iterrows():
            ref = gd.loc[run["seed"]] if run["seed"] in gd.index else None
            gd_acc = (float(ref["value"]) if ref is not None and ref["status"] == "ok"
                      else math.nan)
            value = float(run["value"]) if run["status"] == "ok" else CHANCE_ACC
            rows.append({"width": int(width), "scheme": run["scheme"],
                         "sigma": float(run["sigma"]), "seed": int(run["seed"]),
                         "status": run["status"], "gd_test_acc": gd_acc, "test_acc": value,
                         "drop": gd_acc - value})
    return (pd.DataFrame(rows, columns=list(DROP_COLUMNS))
            .sort_values(["width", "scheme", "seed", "sigma"]).reset_index(drop=True))


def onset(sigmas, drops, threshold: float) -> tuple[float, str, float, float]:
    """(sigma*, censored, bracket_low, bracket_high) of one drop curve along increasing
    ``sigmas``: sigma* interpolated linearly in log sigma at the first crossing of
    ``threshold`` and censored "" when measured; NaN, :data:`BELOW` and (nan, first sigma)
    when the first grid point already breaks; NaN, :data:`ABOVE` and (last sigma, nan) when
    none does; NaN and :data:`NO_REFERENCE` when a drop is NaN (no GD run to pair with)."""
    s, d = np.asarray(sigmas, dtype=float), np.asarray(drops, dtype=float)
    if np.any(np.diff(s) <= 0):
        raise ValueError(f"sigmas must increase strictly, got {s.tolist()}")
    if np.isnan(d).any():
        return math.nan, NO_REFERENCE, math.nan, math.nan
    hits = np.nonzero(d >= threshold)[0]
    if not len(hits):
        return math.nan, ABOVE, float(s[-1]), math.nan
    i = int(hits[0])
    if i == 0:
        return math.nan, BELOW, math.nan, float(s[0])
    t = (threshold - d[i - 1]) / (d[i] - d[i - 1])
    log_onset = math.log(s[i - 1]) + t * (math.log(s[i]) - math.log(s[i - 1]))
    return math.exp(log_onset), "", float(s[i - 1]), float(s[i])


def onsets(drops: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """:func:`onset` of every (width, scheme, seed) of a :func:`paired_drops` table
    (:data:`ONSET_COLUMNS`)."""
    rows = []
    for (width, scheme, seed), curve in drops.groupby(["width", "scheme", "seed"]):
        curve = curve.sort_values("sigma")
        value, censored, low, high = onset(curve["sigma"], curve["drop"], threshold)
        rows.append({"width": width, "scheme": scheme, "seed": seed, "onset": value,
                     "censored": censored, "bracket_low": low, "bracket_high": high})
    return pd.DataFrame(rows, columns=list(ONSET_COLUMNS))


def onset_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per width and scheme: seeds, measured and censored counts, and the geometric mean of
    the measured onsets with the t interval of the mean log onset (df = measured - 1; NaN
    below 2) (:data:`SUMMARY_COLUMNS`)."""
    rows = []
    for (width, scheme), group in table.groupby(["width", "scheme"]):
        measured = group.loc[group["censored"] == "", "onset"].to_numpy(dtype=float)
        est = paired(np.log(measured)) if len(measured) else None
        rows.append({
            "width": width, "scheme": scheme, "n_seeds": len(group),
            "n_measured": len(measured), "n_below": int((group["censored"] == BELOW).sum()),
            "n_above": int((group["censored"] == ABOVE).sum()),
            "n_missing": int((group["censored"] == NO_REFERENCE).sum()),
            "onset": math.exp(float(est["estimate"])) if est else math.nan,
            "ci_low": math.exp(float(est["low"])) if est else math.nan,
            "ci_high": math.exp(float(est["high"])) if est else math.nan,
            "df": float(est["df"]) if est else math.nan})
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def loglog_fit(x, y, level: float = LEVEL) -> dict:
    """Least squares of ``y`` on ``x`` (already logs; last axis = points, leading axes
    vectorised): slope b = Sxy / Sxx, intercept, residual sd s = sqrt(SSE / (n - 2)),
    se = s / sqrt(Sxx), df = n - 2 and the two-sided ``level`` t interval of the slope (NaN
    below 3 points). Also x_mean and Sxx for :func:`prediction_interval`."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = x.shape[-1]
    x_mean, y_mean = x.mean(axis=-1), y.mean(axis=-1)
    dx, dy = x - x_mean[..., None], y - y_mean[..., None]
    sxx = (dx**2).sum(axis=-1)
    slope = (dx * dy).sum(axis=-1) / sxx
    intercept = y_mean - slope * x_mean
    df = n - 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        sse = ((dy - slope[..., None] * dx) ** 2).sum(axis=-1)
        s = np.sqrt(sse / df) if df > 0 else np.full(np.shape(slope), np.nan)
        se = s / np.sqrt(sxx)
        half = stats.t.ppf(0.5 + level / 2, df) * se if df > 0 else np.nan
    return {"slope": slope, "intercept": intercept, "se": se, "df": df if df > 0 else np.nan,
            "low": slope - half, "high": slope + half, "n": n, "residual_sd": s,
            "x_mean": x_mean, "sxx": sxx}


def prediction_interval(fit: dict, x0: float, level: float = LEVEL) -> tuple[float, float,
                                                                             float]:
    """(prediction, low, high) at ``x0`` for one new point of a :func:`loglog_fit`:
    yhat +- t_{df} s sqrt(1 + 1/n + (x0 - x_mean)^2 / Sxx); NaN interval below 3 points."""
    yhat = float(fit["intercept"] + fit["slope"] * x0)
    if not np.isfinite(fit["df"]):
        return yhat, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, fit["df"]) * fit["residual_sd"] * math.sqrt(
        1 + 1 / fit["n"] + (x0 - fit["x_mean"]) ** 2 / fit["sxx"]))
    return yhat, yhat - half, yhat + half


def log_ratios(table: pd.DataFrame) -> pd.DataFrame:
    """Per width and seed: log sigma*_layer - log sigma*_all where both are measured (column
    ``log_ratio``, NaN otherwise) and the two censoring states."""
    wide = table.pivot_table(index=["width", "seed"], columns="scheme",
                             values=["onset", "censored"], aggfunc="first", dropna=False)
    out = pd.DataFrame({"censored_layer": wide[("censored", "layer")],
                        "censored_all": wide[("censored", "all")],
                        "log_ratio": np.log(wide[("onset", "layer")].astype(float))
                        - np.log(wide[("onset", "all")].astype(float))})
    return out.reset_index()


def fits(table: pd.DataFrame) -> pd.DataFrame:
    """The slope fits (:data:`FIT_COLUMNS`): per scheme, log sigma* on log width over the
    measured (width, seed); "gap", log sigma*_layer - log sigma*_all on log width over the
    (width, seed) with both measured (W2: the difference of the schemes' slopes)."""
    rows = []
    ratios = log_ratios(table)
    series = {scheme: table[table["scheme"] == scheme].rename(columns={"onset": "value"})
              for scheme in SCHEMES}
    series["gap"] = ratios.rename(columns={"log_ratio": "value"})
    for name, data in series.items():
        logs = data["value"] if name == "gap" else np.log(data["value"].astype(float))
        keep = np.isfinite(logs.to_numpy(dtype=float))
        fit = loglog_fit(np.log(data["width"].to_numpy(dtype=float)[keep]),
                         logs.to_numpy(dtype=float)[keep]) if keep.sum() >= 2 else None
        nan = math.nan
        rows.append({"fit": name, "n_points": int(keep.sum()), "n_left_out": int((~keep).sum()),
                     **({k: nan for k in FIT_COLUMNS[1:7] + FIT_COLUMNS[9:]} if fit is None
                        else {"slope": float(fit["slope"]), "ci_low": float(fit["low"]),
                              "ci_high": float(fit["high"]), "se": float(fit["se"]),
                              "df": float(fit["df"]), "intercept": float(fit["intercept"]),
                              "residual_sd": float(fit["residual_sd"]),
                              "x_mean": float(fit["x_mean"]), "sxx": float(fit["sxx"])})})
    return pd.DataFrame(rows, columns=list(FIT_COLUMNS))
