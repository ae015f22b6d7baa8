"""One claim row from per-seed values: the declared contrast, its test, divergence and power.

A row is a contrast sum_i c_i x_i over settings (experiment, scheme, sigma, metric).
:func:`judge` computes its interval and verdict from an array of seed values, vectorised over
leading axes (one row of the claims table, or thousands of simulated tables in
:mod:`noise_injection.workflow.calibration`, go through the same code).

Scale: a positive, right-skewed metric (:data:`LOG_METRICS`: the Hessian trace, the losses)
enters as its logarithm, so the contrast of two settings is the per-seed log ratio and the
row reports exp(mean log ratio), a ratio of geometric means. Only ratios between schemes are
comparable across Hessian-trace estimators (a trace summed over K probes is K times ours), and
a t test on raw traces is not calibrated at 3 seeds (a skewed arm's mean is usually
underestimated). A non-positive trace estimate (Hutchinson noise) has no logarithm and is left
out like an unfinished run.

Test (:func:`~noise_injection.base.intervals.paired`), fixed before any result: the paired t
on the per-seed contrasts over the seeds finished in every setting of the row (the schemes of
one experiment share each seed's init, subset and data order); across experiments (C5d),
paired within each experiment, then Welch across them with the conservative df. Fewer than 2
pairs in an experiment: "inconclusive, too few pairs".

Divergence (rule fixed before any result): a diverged run has no final value; it is the
worst outcome of its setting (accuracy: low, Hessian trace: high). The pairs use the seeds
that finished everywhere, which stay exchangeable under the null, and the per-setting
diverged counts are reported. Where the diverged runs point against the paper's direction
(tilt = direction * sum_i c_i b_i k_i < 0; b_i = -1 for accuracy, +1 for trace, k_i the
diverged fraction), "reproduced" is withheld (inconclusive); where they point with it
(tilt > 0), "opposite" is withheld and the row carries no evidence against the paper into
its claim line (p-value NaN).
Power (:func:`row_power`): the probability that the row's test reads "reproduced" at the
paper's effect with the configured seeds, estimated from our seed spread (median-unbiased,
with its exact 95 % interval); none from a zero spread, and none where the scale does not run
the paper's data or the paper's number is not comparable with ours (the caller says so).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from noise_injection.base.constants import constant
from noise_injection.base.intervals import LEVEL, paired
from noise_injection.claims.verdicts import (
    INCONCLUSIVE, NONINFERIORITY_ALPHA, OPPOSITE, POWER, REPRODUCED, interval_verdict,
    noninferiority, one_sided_p, power_estimate, seeds_needed, sigma_bounds)

#: Sign of the bad end of each metric: where a diverged run lies.
BAD = {"test_acc": -1, "test_acc_peak": -1, "hessian_trace": +1, "train_loss": +1,
       "test_loss": +1}
#: Positive, right-skewed metrics: compared on the log scale (ratios).
LOG_METRICS = ("hessian_trace", "train_loss", "test_loss")
#: The test of a row within one experiment, and across experiments.
WITHIN, ACROSS = "paired", "paired within experiments, Welch across"
TOO_FEW = "too few pairs: fewer than 2 seeds finished in every setting"
WITHHELD = {REPRODUCED: "reproduced withheld: diverged runs point against the paper",
            OPPOSITE: "opposite withheld: diverged runs point with the paper"}


class Missing(LookupError):
    """A setting the row needs was not run at this scale."""


def seed_values(finals: pd.DataFrame, scheme: str, sigma: float, metric: str) -> pd.Series:
    """Final value per seed of one setting (NaN where the run diverged); Missing if absent."""
    rows = finals[(finals["scheme"] == scheme) & (finals["metric"] == metric)
                  & ((finals["sigma"] - sigma).abs() < 1e-12)]
    if rows.empty:
        raise Missing(f"{scheme} sigma={sigma:g} {metric}")
    ok = rows["status"] == "ok"
    return pd.Series(np.where(ok, rows["value"].astype(float), np.nan),
                     index=rows["seed"].to_numpy()).sort_index()


def aligned(series: list[pd.Series]) -> np.ndarray:
    """The settings' seed values as one array (settings, seeds), aligned on the seeds (a seed
    absent from a setting counts as not finished)."""
    return pd.concat(series, axis=1).to_numpy(dtype=float).T


def judge(values, coefs, groups, direction: int, metrics, margin=None) -> dict:
    """Interval, test and verdict of the contrast sum_i c_i x_i of ``values`` (..., settings,
    seeds; NaN = diverged) by the module's rule; ``groups`` gives each setting's experiment,
    ``metrics`` its metric. Returns arrays over the leading axes: estimate, se, df, low,
    high (on the test's scale: log for :data:`LOG_METRICS`; for a no-loss row the
    non-inferiority interval), low95 and high95 (the two-sided ``LEVEL`` interval either
    way), n (pairs, the smallest experiment's), sd and pairs (per experiment, last axis),
    p_opposite (one-sided p-value against the paper; NaN where the row carries no evidence
    against it), verdict and note; and the row's test and ``log`` (whether the contrast is on
    the log scale)."""
    x, c = np.asarray(values, dtype=float), np.asarray(coefs, dtype=float)
    log = [m in LOG_METRICS for m in metrics]
    if any(log) and not all(log):
        raise ValueError(f"a contrast mixes log-scale and linear metrics: {metrics}")
    finished = ~np.isnan(x)
    if all(log):
        with np.errstate(invalid="ignore", divide="ignore"):
            x = np.log(np.where(x > 0, x, np.nan))
    names = list(dict.fromkeys(groups))
    contrasts = []
    for name in names:
        terms = [i for i, g in enumerate(groups) if g == name]
        part = np.einsum("k,...kn->...n", c[terms], x[..., terms, :])  # NaN unless complete
        contrasts.append(part)
    est = paired(*contrasts)
    est = {**est, "low95": est["low"], "high95": est["high"]}
    tilt = direction * (c * np.asarray([BAD[m] for m in metrics])
                        * (1 - finished.mean(-1))).sum(-1)
    out = {**est, **verdict_of(est, direction, tilt, margin)}
    out["note"] = np.where(est["n"] < 2, TOO_FEW, out["note"])
    return {**out, "test": WITHIN if len(names) == 1 else ACROSS, "log": all(log)}


def verdict_of(est: dict, direction: int, tilt, margin=None) -> dict:
    """Verdict, interval ends, p_opposite and note of an interval: the interval's verdict
    (or the non-inferiority test's at ``margin``), with the divergence rule applied (``tilt``,
    see the module docstring)."""
    shift = 0.0 if margin is None else margin
    if margin is None:
        low, high = est["low"], est["high"]
        verdict = interval_verdict(low, high, direction)
    else:
        ni = noninferiority(est["estimate"], est["se"], est["df"], margin)
        low, high, verdict = ni["low"], ni["high"], ni["verdict"]
    p_opp = one_sided_p(est["estimate"], est["se"], est["df"], -direction, shift)
    withhold_rep = (verdict == REPRODUCED) & (tilt < 0)
    withhold_opp = (verdict == OPPOSITE) & (tilt > 0)
    note = np.where(withhold_rep, WITHHELD[REPRODUCED],
                    np.where(withhold_opp, WITHHELD[OPPOSITE], ""))
    return {"low": low, "high": high, "p_opposite": np.where(tilt > 0, np.nan, p_opp),
            "verdict": np.where(withhold_rep | withhold_opp, INCONCLUSIVE, verdict),
            "note": note}


def row_power(effect, row: dict, n: int, margin=None) -> dict:
    """The printed power of a judged ``row`` (:func:`judge`, one table) at the paper's
    ``effect`` (or, for a no-loss row, at a true difference 0 against ``margin``, one-sided
    at ``NONINFERIORITY_ALPHA``) with ``n`` seeds per setting:
    :func:`~noise_injection.claims.verdicts.power_estimate` from the row's per-experiment
    spreads, and the seeds ``POWER`` needs at the estimate and at the ends of the spreads'
    interval (:func:`~noise_injection.claims.verdicts.sigma_bounds`, Bonferroni over the
    experiments as there)."""
    kwargs = {} if margin is None else {"alpha": NONINFERIORITY_ALPHA}
    effect = margin if margin is not None else effect
    spreads, dfs = np.asarray(row["sd"], float), np.asarray(row["pairs"], float) - 1
    printed = power_estimate(effect, spreads, dfs, n, **kwargs)
    sigmas = sigma_bounds(spreads, dfs, 1 - (1 - LEVEL) / len(spreads))
    need = ([None] * 3 if not np.isfinite(printed["estimate"])
            else [seeds_needed(effect, sig, **kwargs) for sig in sigmas])
    return {**printed, "need": need[0], "need_range": (need[1], need[2])}


def _seeds(need) -> str:
    most = int(constant("seeds_most"))
    return f"more than {most}" if need > most else str(need)


def _percent(x: float) -> str:
    return ">99%" if x >= 0.995 else "<1%" if x < 0.005 else f"{x:.0%}"


def power_text(pw: dict, effect_text: str, n: int) -> str:
    """A row's power column: the estimate, its interval, at what effect and seeds, and the
    seeds ``POWER`` needs (an estimate is never printed as 100 %)."""
    low, high = pw["need_range"]
    return (f"{_percent(pw['estimate'])} [{_percent(pw['low'])}, {_percent(pw['high'])}] with "
            f"{n} seeds at "
            f"{effect_text} (median-unbiased estimate from our seed spread; 95 % interval); "
            f"{POWER:.0%} needs {_seeds(pw['need'])} seeds ({_seeds(low)} to {_seeds(high)} "
            "over the interval)")


def verdict_text(verdict: str, note: str, power: str, size: str = "") -> str:
    """The row's reading: the verdict ("direction reproduced, magnitude below / within /
    above the paper's" where the paper's number is comparable), why a reading was withheld,
    and for an inconclusive row its power (or why it has none) and the magnitude."""
    magnitude = f"magnitude {size} the paper's" if size else ""
    if verdict == REPRODUCED:
        return "direction reproduced" + (f", {magnitude}" if magnitude else "")
    text = verdict + (f" ({note})" if note else "")
    if verdict == INCONCLUSIVE:
        text += f"; {magnitude}" if magnitude else ""
        text += f"; power: {power}" if power else ""
    return text
