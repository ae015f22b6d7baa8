"""One claim row from per-seed values: the declared contrast, its test, divergence and power.

A row is a contrast sum_i c_i x_i over settings (experiment, scheme, sigma, metric). Its test
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
    interval_verdict, noninferiority, one_sided_p, paired, pooled, power, seeds_needed, welch)

#: Sign of the bad end of each metric: where a diverged run lies.
BAD = {"test_acc": -1, "test_acc_peak": -1, "hessian_trace": +1}


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


def estimate(coefs, series: list[pd.Series], one_experiment: bool):
    """(test, interval dict) of sum_i c_i x_i by the module's rule."""
    c = np.asarray(coefs, dtype=float)
    finished = [s.dropna() for s in series]
    same_seeds = all(s.index.equals(series[0].index) for s in series)
    if one_experiment and same_seeds and all(len(f) == len(s) for f, s in zip(finished, series)):
        return PAIRED, paired(sum(ci * s.to_numpy() for ci, s in zip(c, series)))
    stats_ = ([f.mean() for f in finished], [f.std(ddof=1) if len(f) > 1 else np.nan
                                              for f in finished], [len(f) for f in finished])
    if not one_experiment and min(stats_[2]) >= 2:
        return WELCH, welch(c, *stats_)
    if min(stats_[2]) < 1:
        nan = np.nan
        return POOLED, {"estimate": nan, "se": nan, "df": nan, "low": nan, "high": nan}
    return POOLED, pooled(c, *stats_)


def divergence_tilt(coefs, metrics, series: list[pd.Series], direction: int) -> float:
    """direction * sum_i c_i b_i k_i: > 0 if diverged runs favour the paper, < 0 if not."""
    return direction * sum(c * BAD[m] * s.isna().mean() for c, m, s in zip(coefs, metrics, series))


def planned_power(effect, coefs, series, one_experiment, n, margin=None):
    """(power, seeds for POWER) of the design's test at ``n`` seeds and the paper's effect
    (or, for a no-loss row, at a true difference 0 against the margin)."""
    alpha = NONINFERIORITY_ALPHA if margin is not None else None
    effect = margin if margin is not None else effect
    complete = pd.concat(series, axis=1).dropna()
    if one_experiment and len(complete) >= 2:
        test, c, s = PAIRED, [1.0], [float((complete.to_numpy() @ np.asarray(coefs)).std(ddof=1))]
    else:
        test, c = (PAIRED if one_experiment else WELCH), coefs
        s = [x.dropna().std(ddof=1) for x in series]
        test = POOLED if test == PAIRED else test
    kwargs = {} if alpha is None else {"alpha": alpha}
    return (float(power(effect, test, c, s, n, **kwargs)),
            seeds_needed(effect, test, c, s, **kwargs))


def row_verdict(est: dict, direction: int, tilt: float, margin=None):
    """(verdict, low, high, p_opposite, note) of a row: the interval's verdict (or the
    non-inferiority test's), with the divergence rule applied."""
    shift = 0.0 if margin is None else margin
    if margin is None:
        low, high = est["low"], est["high"]
        verdict = str(interval_verdict(low, high, direction))
    else:
        ni = noninferiority(est["estimate"], est["se"], est["df"], margin)
        low, high, verdict = float(ni["low"]), float(ni["high"]), str(ni["verdict"])
    p_opp = float(one_sided_p(est["estimate"], est["se"], est["df"], -direction, shift))
    note = ""
    if verdict == REPRODUCED and tilt < 0:
        verdict, note = INCONCLUSIVE, "reproduced withheld: diverged runs point against the paper"
    elif verdict == OPPOSITE and tilt > 0:
        verdict, note = INCONCLUSIVE, "opposite withheld: diverged runs point with the paper"
        p_opp = 1.0
    return verdict, low, high, p_opp, note


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
