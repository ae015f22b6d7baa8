"""The shared verdict rules every stage's claim rows and claim lines go through.

A claim row compares settings declared before any result: a contrast sum_i c_i x_i of seed
values (x the metric, or its logarithm for a positive, skewed metric such as the Hessian
trace: see :mod:`noise_injection.claims.seedrows`). Its two-sided ``LEVEL`` t interval
(:func:`noise_injection.base.intervals.paired`) is on the per-seed contrasts
d_s = sum_i c_i x_is over the seeds finished in every setting (the settings of one experiment
share each seed's initialization, subset and data order): mean(d) +- t_{n-1} sd(d) / sqrt(n);
a contrast across experiments (C5d) pairs within each experiment and adds the experiments'
means, with Welch's standard error and the smallest experiment's n - 1 as df (conservative).

Verdicts (:data:`VERDICTS`): "reproduced" if the interval excludes 0 in the paper's direction,
"opposite" if the other way, "inconclusive" if it covers 0 (or none exists), "not run at this
scale" if a setting is missing, "not applicable at this scale" if the scale cannot resolve the
comparison. A claim line states a universal over its declared settings
(:func:`universal_verdict`, :func:`judge_lines`): "reproduced" only if every declared setting
ran and reads reproduced (intersection-union), "reproduced in the settings run" (:data:`PARTLY`)
if every setting run does but declared ones did not run; "opposite" only if one of its rows
reads opposite and Holm's step-down over the one-sided p-values of every row of the whole
table rejects it at ``TABLE_ALPHA`` (a family-wise rule: with no effect anywhere at most
``TABLE_ALPHA`` of tables carry an "opposite" line); else "inconclusive". Its words
(:func:`line_text`) say in how many settings run it reproduced and how many declared settings
did not run. Power (:func:`power`) is the probability that the row's test reads
"reproduced" at a given true effect and spread; the printed power (:func:`power_estimate`)
is its median-unbiased estimate from our seed spread with an exact interval.
Every function takes numpy arrays (vectorised over leading axes) so that the calibration
(:mod:`noise_injection.workflow.calibration`) simulates thousands of tables through them.
Constants: config/verdicts.yaml.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from noise_injection.base.constants import constant
from noise_injection.base.intervals import LEVEL

REPRODUCED, OPPOSITE, INCONCLUSIVE, NOT_RUN, NOT_APPLICABLE = (
    "reproduced", "opposite", "inconclusive", "not run at this scale",
    "not applicable at this scale")
#: A claim line whose every setting run reads reproduced while declared settings did not run.
PARTLY = "reproduced in the settings run"
VERDICTS = (REPRODUCED, PARTLY, OPPOSITE, INCONCLUSIVE, NOT_RUN, NOT_APPLICABLE)
TABLE_ALPHA = constant("table_alpha")
NONINFERIORITY_ALPHA, POWER = constant("noninferiority_alpha"), constant("power")


def interval_verdict(low, high, direction):
    """Verdict of an interval for a paper that predicts the sign ``direction`` (+1 or -1)."""
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    favour_low, favour_high = (low, high) if direction > 0 else (-high, -low)
    return np.where(favour_low > 0, REPRODUCED,
                    np.where(favour_high < 0, OPPOSITE, INCONCLUSIVE))


def one_sided_p(estimate, se, df, direction, shift=0.0):
    """P-value of H0: direction * (estimate + shift) <= 0 (one-sided t test)."""
    estimate, se = np.asarray(estimate, dtype=float), np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = direction * (estimate + shift) / se
    t = np.where(se > 0, t, np.where(direction * (estimate + shift) > 0, np.inf, -np.inf))
    return np.where(np.isnan(se) | np.isnan(estimate), np.nan, stats.t.sf(t, df))


def noninferiority(estimate, se, df, margin, alpha: float = NONINFERIORITY_ALPHA):
    """One-sided non-inferiority of ours - reference at ``margin``: the (1 - 2 alpha)
    interval; reproduced if its lower end > -margin, opposite if its upper end < -margin."""
    estimate, se = np.asarray(estimate, dtype=float), np.asarray(se, dtype=float)
    half = stats.t.ppf(1 - alpha, df) * se
    low, high = estimate - half, estimate + half
    verdict = np.where(low > -margin, REPRODUCED,
                       np.where(high < -margin, OPPOSITE, INCONCLUSIVE))
    return {"low": low, "high": high, "verdict": verdict}


def holm(pvalues, alpha: float = TABLE_ALPHA, nan_counts: bool = True):
    """Holm's step-down rule over the last axis: which hypotheses are rejected at
    family-wise error ``alpha``. NaN p-values are never rejected; they count in the family
    size m unless ``nan_counts`` is False (a setting that did not run)."""
    raw = np.asarray(pvalues, dtype=float)
    p = np.nan_to_num(raw, nan=np.inf)
    m = (np.full(p.shape[:-1], p.shape[-1]) if nan_counts
         else (~np.isnan(raw)).sum(axis=-1))[..., None]
    order = np.argsort(p, axis=-1)
    ranked = np.take_along_axis(p, order, axis=-1)
    with np.errstate(divide="ignore"):  # ranks past m hold NaNs (inf), which never pass
        passes = ranked <= alpha / (m - np.arange(p.shape[-1]))
    accepted = np.cumprod(passes, axis=-1).astype(bool)
    rejected = np.zeros_like(accepted)
    np.put_along_axis(rejected, order, accepted, axis=-1)
    return rejected


def _ran(v):
    return (v != NOT_RUN) & (v != NOT_APPLICABLE)


def universal_verdict(verdicts, contradicted=None):
    """A universal statement over its declared settings (last axis): opposite if a row is
    ``contradicted`` (default: reads opposite); reproduced if every declared setting ran and
    reads reproduced; :data:`PARTLY` if every setting run does but some did not run (or are
    not applicable at this scale); inconclusive otherwise; not run (not applicable) if no
    setting ran."""
    v = np.asarray(verdicts)
    ran = _ran(v)
    contradicted = (v == OPPOSITE) if contradicted is None else np.asarray(contradicted)
    every_run = np.all((v == REPRODUCED) | ~ran, axis=-1)
    out = np.where(contradicted.any(-1), OPPOSITE,
                   np.where(every_run & ran.all(-1), REPRODUCED,
                            np.where(every_run, PARTLY, INCONCLUSIVE)))
    none = NOT_APPLICABLE if np.all(v == NOT_APPLICABLE) else NOT_RUN
    out = np.where(ran.any(-1), out, none)
    return out if out.ndim else str(out)


def judge_lines(verdicts_by_line, p_by_line, alpha: float = TABLE_ALPHA):
    """The claim lines of one table (per line, row verdicts and one-sided p-values against
    the paper, arrays (..., k); NaN = no evidence): which rows contradict their line (read
    opposite and survive Holm at ``alpha`` over every row of the table that ran, NaN p-values
    counted as 1) and each line's :func:`universal_verdict`. Returns (line verdicts,
    contradicted rows), one array per line in each."""
    v = np.concatenate([np.asarray(x) for x in verdicts_by_line], axis=-1)
    p = np.concatenate([np.asarray(x, dtype=float) for x in p_by_line], axis=-1)
    ran = _ran(v)
    rejected = holm(np.where(ran, np.nan_to_num(p, nan=1.0), np.nan), alpha, nan_counts=False)
    cuts = np.cumsum([np.shape(x)[-1] for x in verdicts_by_line])[:-1]
    parts = np.split(rejected & (v == OPPOSITE), cuts, axis=-1)
    return [universal_verdict(x, c) for x, c in zip(verdicts_by_line, parts)], parts


def line_text(verdict: str, verdicts, contradicted=None) -> str:
    """A claim line in words: the verdict, in how many of the settings run it reproduced (or
    how many settings contradict it at the table-wide level), and how many declared settings
    did not run or are not applicable at this scale."""
    v = list(verdicts)
    ran = [x for x in v if x not in (NOT_RUN, NOT_APPLICABLE)]
    absent = [f"{v.count(kind)} declared {'not run' if kind == NOT_RUN else 'not applicable'}"
              for kind in (NOT_RUN, NOT_APPLICABLE) if kind in v]
    tail = f" ({', '.join(absent)})" if absent else ""
    opposed = v.count(OPPOSITE)
    if verdict == REPRODUCED:
        return f"reproduced in {len(v)} of {len(v)} declared settings"
    if verdict == PARTLY:
        return f"reproduced in {len(ran)} of {len(ran)} settings run{tail}"
    if verdict in (NOT_RUN, NOT_APPLICABLE):
        return f"{verdict} ({len(v)} declared settings)"
    if verdict == OPPOSITE:
        k = opposed if contradicted is None else int(np.sum(contradicted))
        return (f"opposite: {k} of {len(ran)} settings run contradict it at the table-wide "
                f"level{tail}")
    text = f"inconclusive: reproduced in {ran.count(REPRODUCED)} of {len(ran)} settings run{tail}"
    if opposed:
        text += (f"; {opposed} read opposite at the row's level, not at the table-wide level "
                 f"{TABLE_ALPHA:.0%}")
    return text


def magnitude(low, high, paper_low, paper_high, direction):
    """Where the paper's value, read with its reading error as [paper_low, paper_high], lies
    against our two-sided interval [low, high] of the same contrast, in the paper's direction
    (``direction`` +1 or -1): "below" (our whole interval is smaller in the paper's direction
    than the paper's reading), "above" (larger), "within" (they overlap); "" without an
    interval. With the true effect at the paper's value, each of "below" and "above" reads
    in at most (1 - LEVEL) / 2 of tables (the interval's tails; a reading error only widens
    the paper's side)."""
    ours = np.sort(direction * np.stack(np.broadcast_arrays(
        np.asarray(low, float), np.asarray(high, float))), axis=0)
    paper = np.sort(direction * np.asarray([paper_low, paper_high], float), axis=0)
    out = np.where(ours[1] < paper[0], "below", np.where(ours[0] > paper[1], "above", "within"))
    out = np.where(np.isnan(ours).any(0), "", out)
    return out if out.ndim else str(out)


def checks_verdict(checks, reversed_: bool) -> str:
    """A deterministic check list against the paper's thresholds: reproduced if every check
    holds, opposite if the declared reversal of the paper's statement holds, else
    inconclusive."""
    if all(checks):
        return REPRODUCED
    return OPPOSITE if reversed_ else INCONCLUSIVE


def power(effect, sigmas, n, alpha: float = (1 - LEVEL) / 2, draws: int = 20_000):
    """P(the row's one-sided level-``alpha`` test reads "reproduced") at a true contrast
    ``effect`` with ``n`` seeds per setting, where ``sigmas`` (last axis: experiments) are the
    true sds of the per-seed contrasts of each experiment. One experiment (the paired t):
    1 - F_nct(t_{1-alpha, n-1}; n-1, |effect| sqrt(n) / sigma). Several
    (:func:`~noise_injection.base.intervals.paired` across experiments, df n - 1):
    E[Phi((|effect| - t_{1-alpha, n-1} se^) / se)] with se^2 = sum_j sigma_j^2 chi2_{n-1} /
    ((n-1) n) over ``draws`` fixed-seed draws (the mean of the contrasts is independent of
    the sample variances). Vectorised over the leading
    axes of ``sigmas``; NaN where the effect or a sigma is unknown, or a sigma is 0."""
    s = np.asarray(sigmas, dtype=float)
    if effect is None or not np.isfinite(effect):
        return np.full(s.shape[:-1], np.nan) if s.ndim > 1 else np.nan
    effect, crit = abs(effect), stats.t.ppf(1 - alpha, n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        if s.shape[-1] == 1:
            out = stats.nct.sf(crit, n - 1, effect * np.sqrt(n) / s[..., 0])
        else:
            chi = np.random.default_rng(0).chisquare(n - 1, (draws, s.shape[-1]))
            se_hat = np.sqrt((s[..., None, :] ** 2 * chi / (n - 1)).sum(-1) / n)
            se = np.sqrt((s**2).sum(-1) / n)[..., None]
            out = stats.norm.cdf((effect - crit * se_hat) / se).mean(-1)
    bad = ~np.isfinite(s).all(-1) | (s <= 0).any(-1)
    out = np.where(bad, np.nan, out)
    return out if np.ndim(out) else float(out)


def sigma_bounds(spread, df, level: float):
    """(median-unbiased estimate, lower, upper) of a true sd sigma from a sample sd ``spread``
    with ``df`` degrees of freedom, by df s^2 / sigma^2 ~ chi2_df: sigma_q = s sqrt(df /
    chi2_{df, q}) at q = 1/2, (1 + level)/2 and (1 - level)/2 (exact)."""
    s, df = np.asarray(spread, dtype=float), np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        at = [s * np.sqrt(df / stats.chi2.ppf(q, df)) for q in (0.5, (1 + level) / 2,
                                                                  (1 - level) / 2)]
    return tuple(at)


def power_estimate(effect, spreads, dfs, n, alpha: float = (1 - LEVEL) / 2,
                   level: float = LEVEL) -> dict:
    """The printed power of a row at a true contrast ``effect`` with ``n`` seeds per
    setting, from the observed sds ``spreads`` of the per-seed contrasts (last axis:
    experiments; ``dfs`` their degrees of freedom). The spread is unknown, so the power is an
    estimate: :func:`power` at each experiment's median-unbiased sigma (:func:`sigma_bounds`;
    for one experiment the estimate is then median-unbiased for the true power, which falls
    as sigma grows), with the interval of :func:`power` at the ends of the sigmas' intervals
    (for g experiments each at level 1 - (1 - level) / g, so that the interval covers the
    true power with probability >= ``level``; exact for one). NaN ("not estimable") where a
    spread is zero or unknown or has no degree of freedom: a zero spread from a few seeds
    says nothing of the true one."""
    s, df = np.atleast_1d(np.asarray(spreads, float)), np.atleast_1d(np.asarray(dfs, float))
    g = s.shape[-1]
    mid, low_sigma, high_sigma = sigma_bounds(s, df, 1 - (1 - level) / g)
    ok = (s > 0).all(-1) & (df >= 1).all(-1) & np.isfinite(s).all(-1)
    out = {key: np.where(ok, power(effect, np.where(ok[..., None], sig, 1.0), n, alpha), np.nan)
           for key, sig in (("estimate", mid), ("low", high_sigma), ("high", low_sigma))}
    return {k: v if np.ndim(v) else float(v) for k, v in out.items()}


def seeds_needed(effect, sigmas, alpha: float = (1 - LEVEL) / 2, target: float = POWER,
                 most: int | None = None):
    """The smallest seeds per setting (>= 2) at which :func:`power` at ``sigmas`` reaches
    ``target`` (bisection: power rises with n); ``most`` + 1 means "more than most" (config
    seeds_most); None where power is unknown."""
    most = int(constant("seeds_most")) if most is None else most
    if not np.isfinite(power(effect, sigmas, 2, alpha)):
        return None
    if power(effect, sigmas, most, alpha) < target:
        return most + 1
    low, high = 1, most  # power(high) >= target; n = 1 has no interval
    while high - low > 1:
        mid = (low + high) // 2
        reached = power(effect, sigmas, mid, alpha) >= target
        low, high = (low, mid) if reached else (mid, high)
    return high
