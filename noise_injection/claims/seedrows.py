"""One claim row from per-seed values: the declared contrast, its test, divergence and power.

A row is a contrast sum_i c_i x_i over settings (experiment, scheme, sigma, metric).
:func:`judge` computes its interval and verdict from an array of seed values, vectorised over
leading axes (one row of the claims table, or thousands of simulated tables in
tests/test_calibration.py, go through the same code). Its test
(:mod:`noise_injection.claims.verdicts`), chosen from which runs finished, never from their
values: paired t on the per-seed contrasts when every setting lies in one experiment (the
schemes share each seed's init, subset and data order) and every run finished; Welch when the
settings lie in different experiments and each has >= 2 finished runs; pooled (Student) t
over the finished runs otherwise (a diverged run breaks the pairs).

Divergence (rule fixed before any result): a diverged run has no final value; it is the
worst outcome of its setting (accuracy: low, Hessian trace: high). The interval uses the
finished runs, which stay exchangeable under the null, and the per-setting diverged counts
are reported. Where the diverged runs point against the paper's direction (sum_i c_i b_i k_i
has the opposite sign to it; b_i = -1 for accuracy, +1 for trace, k_i diverged fraction),
"reproduced" is withheld (inconclusive); where they point with it, "opposite" is withheld.
Power: :func:`~noise_injection.claims.verdicts.power` of the design's test (paired or Welch) at
the paper's effect with the configured seeds, at our seed spread.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from noise_injection.claims.verdicts import (
    INCONCLUSIVE, NONINFERIORITY_ALPHA, OPPOSITE, PAIRED, POOLED, POWER, REPRODUCED, WELCH,
    interval_verdict, noninferiority, one_sided_p, paired, pooled, power, power_estimate,
    seeds_needed, welch)

#: Sign of the bad end of each metric: where a diverged run lies.
BAD = {"test_acc": -1, "test_acc_peak": -1, "hessian_trace": +1}
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


def _finished_stats(values):
    """Per setting (last axis = seeds): mean, std (ddof 1; NaN below 2) and count of the
    finished (non-NaN) runs."""
    n = (~np.isnan(values)).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(values, -1) / n
        var = np.nansum((values - mean[..., None]) ** 2, -1) / (n - 1)
    return mean, np.where(n > 1, np.sqrt(var), np.nan), n


def judge(values, coefs, groups, direction: int, metrics, margin=None) -> dict:
    """Interval, test and verdict of the contrast sum_i c_i x_i of ``values`` (..., settings,
    seeds; NaN = diverged) by the module's rule; ``groups`` gives each setting's experiment,
    ``metrics`` its metric (for the divergence rule). Returns arrays over the leading axes:
    test, estimate, se, df, low, high, p_opposite (one-sided p-value against the paper),
    verdict and note."""
    x, c = np.asarray(values, dtype=float), np.asarray(coefs, dtype=float)
    finished = ~np.isnan(x)
    mean, std, n = _finished_stats(x)
    one_experiment = len(set(groups)) == 1
    complete = finished.all(axis=(-2, -1))
    pair = paired(np.einsum("k,...kn->...n", c, np.nan_to_num(x)))
    between, pool = welch(c, mean, std, n), pooled(c, mean, std, n)
    use_pair = one_experiment & complete
    use_welch = (not one_experiment) & (n.min(-1) >= 2)
    est = {k: np.where(use_pair, pair[k], np.where(use_welch, between[k], pool[k]))
           for k in ("estimate", "se", "df", "low", "high")}
    none = n.min(-1) < 1
    est = {k: np.where(none, np.nan, v) for k, v in est.items()}
    est["test"] = np.where(use_pair, PAIRED, np.where(use_welch, WELCH, POOLED))
    tilt = direction * (c * np.asarray([BAD[m] for m in metrics]) * (1 - finished.mean(-1))).sum(-1)
    return {**est, **verdict_of(est, direction, tilt, margin)}


def verdict_of(est: dict, direction: int, tilt, margin=None) -> dict:
    """Verdict, interval ends, p_opposite and note of an interval: the interval's verdict
    (or the non-inferiority test's), with the divergence rule applied."""
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
    return {"low": low, "high": high, "p_opposite": np.where(withhold_opp, 1.0, p_opp),
            "verdict": np.where(withhold_rep | withhold_opp, INCONCLUSIVE, verdict),
            "note": note}


def planned_power(effect, coefs, series, one_experiment, n, margin=None):
    """(power, seeds for POWER) of the design's test at ``n`` seeds and the paper's effect
    (or, for a no-loss row, at a true difference 0 against the margin)."""
    alpha = NONINFERIORITY_ALPHA if margin is not None else None
    effect = margin if margin is not None else effect
    complete = pd.concat(series, axis=1).dropna()
    kwargs = {} if alpha is None else {"alpha": alpha}
    if one_experiment and len(complete) >= 2:
        spread = float((complete.to_numpy() @ np.asarray(coefs)).std(ddof=1))
        printed = power_estimate(effect, spread, len(complete) - 1, n, **kwargs)["estimate"]
        return float(printed), seeds_needed(effect, PAIRED, [1.0], [spread], **kwargs)
    else:
        test, c = (PAIRED if one_experiment else WELCH), coefs
        s = [x.dropna().std(ddof=1) for x in series]
        test = POOLED if test == PAIRED else test
    return (float(power(effect, test, c, s, n, **kwargs)),
            seeds_needed(effect, test, c, s, **kwargs))


def verdict_text(verdict: str, note: str, pw: float, need, n: int) -> str:
    """The row's reading: the verdict, why a reading was withheld, and for an inconclusive
    row its power at the paper's effect with the configured seeds."""
    text = verdict + (f" ({note})" if note else "")
    if verdict != INCONCLUSIVE:
        return text
    if not np.isfinite(pw):
        return text + ": no paper effect size, power unknown"
    more = "more than " + str(need - 1) if need and need > 1000 else str(need)
    under = "" if pw >= POWER else "underpowered, "
    return (f"{text}: {under}{pw:.0%} power at the paper's effect with {n} seeds; "
            f"{POWER:.0%} needs {more}")
