"""The paper's appendix curves matched curve for curve (issue 28): our seed curves of an MLP
experiment against the paper's digitized ones (config/paper_digitized/,
:mod:`noise_injection.base.digitized`), with the criterion fixed before the weight-decay-0
rerun was looked at (config/verdicts.yaml ``curve_*``).

At each unambiguous digitized iteration x >= ``curve_from`` that lies within our run, our
curve is interpolated between our (log-spaced) evaluations linearly in log iteration, in log
loss for the train loss and linearly for test accuracy. The seed mean is the geometric mean
for the loss (the centre our figures draw on log axes, with the band x/÷ the geometric std)
and the arithmetic mean for accuracy (band +- 1 std). A point is within the criterion when
|ln(ours / paper)| <= ln(``curve_loss_factor``) + ln(1 + r) for the loss (r: the panel's
relative reading error) or |ours - paper| <= ``curve_acc_points`` + a for accuracy (a: the
absolute reading error); the curve "follows" the paper's when at least ``curve_fraction`` of
its points are. Reported beside it: the median over points of log10(ours / paper) (accuracy:
ours - paper, points) per seed, with the t interval over seeds, and the fraction of the
paper's points inside our seed band widened by the reading error. Hessian traces are not
compared: the paper's are sums over an adaptive number of probes (config/deviations.yaml),
so their level is not comparable with ours.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from noise_injection.base import digitized
from noise_injection.base.constants import constant
from noise_injection.claims.table import CLAIM_COLUMNS, claim_row
from noise_injection.base.intervals import LEVEL, paired
from noise_injection.claims.verdicts import (
    NOT_APPLICABLE, OPPOSITE, REPRODUCED, line_text, universal_verdict)
from noise_injection.networks.experiments import digitized_figure

#: The compared metrics, each with its claim letter; "loss": compared in log.
METRICS = {"train_loss": ("a", "train-loss", True), "test_acc": ("b", "test-accuracy", False)}
SCHEMES = ("none", "layer", "all")
SCHEME_WORDS = {"none": "plain GD", "layer": "layer-wise noise", "all": "all-weights noise"}
POINT_COLUMNS = ("metric", "scheme", "iteration", "paper", "ours", "band_low", "band_high",
                 "difference", "margin", "within", "in_band")


def seed_curves(runs_long: pd.DataFrame, scheme: str, sigma: float,
                metric: str) -> pd.DataFrame:
    """One setting's curves: rows = evaluation iterations > 0, columns = seeds (a diverged
    run's values end at its divergence: NaN after)."""
    rows = runs_long[(runs_long["scheme"] == scheme) & (runs_long["metric"] == metric)
                     & ((runs_long["sigma"] - sigma).abs() < 1e-12) & (runs_long["epoch"] > 0)]
    return rows.pivot_table(index="epoch", columns="seed", values="value", aggfunc="first")


def interpolate(iterations, values, at, log_values: bool) -> np.ndarray:
    """``values`` (last axis along ``iterations``, increasing, > 0) at ``at``: linear in log
    iteration, and in log value when ``log_values``; NaN outside the run."""
    x = np.log(np.asarray(iterations, dtype=float))
    v = np.asarray(values, dtype=float)
    v = np.log(v) if log_values else v
    out = np.interp(np.log(np.asarray(at, dtype=float)), x, v, left=np.nan, right=np.nan)
    return np.exp(out) if log_values else out


def compare(runs_long: pd.DataFrame, number: int, sigma: float, metric: str,
            scheme: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The points of one series (:data:`POINT_COLUMNS`) and, per seed, the median over those
    points of log10(ours / paper) (accuracy: ours - paper)."""
    log = METRICS[metric][2]
    kind, error = digitized.reading_error(number, metric)
    if kind != ("relative" if log else "absolute"):
        raise ValueError(f"Fig. {number} {metric}: a {kind} reading error; the comparison "
                         f"needs a {'relative' if log else 'absolute'} one")
    paper = digitized.curve(number, metric, scheme)
    curves = seed_curves(runs_long, scheme, 0.0 if scheme == "none" else sigma, metric)
    paper = paper[(paper["x"] >= constant("curve_from"))
                  & (paper["x"] <= curves.index.max())].reset_index(drop=True)
    per_seed = np.array([interpolate(curves.index, curves[s], paper["x"], log)
                         for s in curves.columns])
    if log:
        logs = np.log(per_seed)
        centre, spread = np.exp(logs.mean(0)), np.exp(logs.std(0, ddof=1))
        low, high = centre / spread, centre * spread
        diff = np.log10(centre / paper["y"].to_numpy())
        margin = math.log10(constant("curve_loss_factor")) + math.log10(1 + error)
        widen = (1 + error, 1 + error)
        seed_diffs = np.log10(per_seed / paper["y"].to_numpy())
        in_band = (paper["y"] >= low / widen[0]) & (paper["y"] <= high * widen[1])
    else:
        centre, spread = per_seed.mean(0), per_seed.std(0, ddof=1)
        low, high = centre - spread, centre + spread
        diff = centre - paper["y"].to_numpy()
        margin = constant("curve_acc_points") + error
        seed_diffs = per_seed - paper["y"].to_numpy()
        in_band = (paper["y"] >= low - error) & (paper["y"] <= high + error)
    points = pd.DataFrame({"metric": metric, "scheme": scheme, "iteration": paper["x"],
                           "paper": paper["y"], "ours": centre, "band_low": low,
                           "band_high": high, "difference": diff, "margin": margin,
                           "within": np.abs(diff) <= margin, "in_band": in_band},
                          columns=list(POINT_COLUMNS))
    return points, np.median(seed_diffs, axis=1)


def comparison(runs_long: pd.DataFrame, number: int, sigma: float):
    """Every compared series: (points table, {(metric, scheme): per-seed medians})."""
    tables, medians = [], {}
    for metric in METRICS:
        for scheme in SCHEMES:
            points, seed_medians = compare(runs_long, number, sigma, metric, scheme)
            tables.append(points)
            medians[(metric, scheme)] = seed_medians
    return pd.concat(tables, ignore_index=True), medians


def curve_claims(points: pd.DataFrame, medians: dict, number: int, name: str,
                 scale: str) -> pd.DataFrame:
    """Claims F<number>a (train loss) and F<number>b (test accuracy): one row per scheme
    and a line each (:data:`CLAIM_COLUMNS`)."""
    fraction = constant("curve_fraction")
    out = []
    for metric, (letter, words, log) in METRICS.items():
        claim = f"F{number}{letter}"
        tolerance = (f"a factor {constant('curve_loss_factor'):g}" if log else
                     f"{constant('curve_acc_points'):g} point(s)")
        statement = (f"our {words} curve follows the paper's App. Fig. {number} curve within "
                     f"{tolerance} (widened by the reading error) at no fewer than "
                     f"{fraction:.0%} of its unambiguous digitized iterations from "
                     f"{int(constant('curve_from')):,} on")
        rows = []
        for scheme in SCHEMES:
            pts = points[(points["metric"] == metric) & (points["scheme"] == scheme)]
            rows.append(_row(claim, statement, pts, medians[(metric, scheme)], log, number,
                             name, scheme, fraction, scale))
        verdicts = [r["verdict"] for r in rows]
        verdict = str(universal_verdict(verdicts))
        out += [claim_row(claim, "claim", statement, verdict,
                          "claim line: reproduced only if every series follows; opposite if "
                          "one does not", level="claim", setting=f"{len(rows)} series",
                          verdict_text=line_text(verdict, verdicts),
                          measured=line_text(verdict, verdicts), scale=scale,
                          paper_source=rows[0]["paper_source"]), *rows]
    return pd.DataFrame(out, columns=list(CLAIM_COLUMNS))


def _row(claim, statement, pts, seed_medians, log, number, name, scheme, fraction, scale):
    unit = "log10(ours / paper)" if log else "ours - paper (points)"
    source = (f"Fig. {number}, {'train loss' if log else 'test accuracy'}, "
              f"{SCHEME_WORDS[scheme]}: digitized (config/paper_digitized/fig{number}.csv)")
    criterion = (f"follows (reproduced) when at least {fraction:.0%} of the points are within "
                 "the margin; otherwise opposite; no point in our run: not applicable")
    base = dict(setting=f"{name} {SCHEME_WORDS[scheme]}, {len(pts)} digitized iterations",
                paper_source=source, scale=scale)
    if pts.empty:
        return claim_row(claim, scheme, statement, NOT_APPLICABLE, criterion,
                         measured="no digitized point within our run", **base)
    share = float(pts["within"].mean())
    verdict = REPRODUCED if share >= fraction else OPPOSITE
    est = paired(np.asarray(seed_medians, dtype=float))
    return claim_row(
        claim, scheme, statement, verdict, criterion,
        paper=f"the paper's curve at {len(pts)} iterations", estimate=float(est["estimate"]),
        ci_low=float(est["low"]), ci_high=float(est["high"]),
        test=f"median over points of {unit} per seed, t interval over seeds",
        n_ok=f"within {int(pts['within'].sum())}/{len(pts)}",
        verdict_text=f"{verdict} ({'follows' if verdict == REPRODUCED else 'does not follow'}: "
                     f"{share:.0%} of the points within the margin)",
        measured=(f"median {unit} of the seed-mean curve {np.median(pts['difference']):+.3g}; "
                  f"{pts['in_band'].mean():.0%} of the paper's points inside our seed band "
                  f"widened by the reading error; {LEVEL:.0%} interval over "
                  f"{len(seed_medians)} seeds"), **base)


def curve_tables(runs: dict[str, pd.DataFrame], experiments: dict,
                 scale: str) -> dict[str, pd.DataFrame]:
    """The comparison points and the claims of every experiment in ``runs`` (name -> long
    runs table of :func:`summary.read_runs`) at its ``plot_sigma``: {"comparison", "claims"}."""
    points, claims = [], []
    for name, runs_long in runs.items():
        number = digitized_figure(name)
        table, medians = comparison(runs_long, number, experiments[name]["plot_sigma"])
        points.append(table.assign(experiment=name))
        claims.append(curve_claims(table, medians, number, name, scale))
    return {"comparison": pd.concat(points, ignore_index=True)[["experiment", *POINT_COLUMNS]],
            "claims": pd.concat(claims, ignore_index=True)}
