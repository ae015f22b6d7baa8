"""Claim rows W1-W4 of the FashionMNIST width sweep (beyond the paper; docs/width_sweep.md
declares them, and config/verdicts.yaml ``sweep_acc_drop`` the criterion, before the runs).

Input: the onsets of :func:`noise_injection.networks.onsets.onsets` (per width, scheme and
seed; sigma = layer-wise std, all-weights noise sigma/sqrt(M)). Logs are natural logs.

- W1, per width: the paired log ratio r_s = log sigma*_layer - log sigma*_all over the seeds
  with both onsets measured, t interval at the table's level (:func:`intervals.paired`),
  "reproduced" when it lies above 0; the line is the intersection-union over widths with Holm
  for "opposite" (:func:`verdicts.universal_verdict`). A seed with a censored onset whose
  bound fixes the sign of r_s (e.g. layer-wise above the grid, all-weights measured: r_s > 0)
  withholds the reading it contradicts, as a diverged run does in the network claims.
- W2: the least-squares slope of r in log width over the (width, seed) with both measured,
  t interval, "reproduced" above 0: the gap widens with width.
- W3, per scheme: the slope of log sigma* in log width against the two theories of
  docs/width_sweep.md: the prediction at initialization p (the centre of the range the cached
  prediction gives over its levels, :func:`sweep.predicted_slopes`) and the paper's
  mean-field picture m (:data:`sweep.MEAN_FIELD_SLOPES`). "reproduced" when the interval lies
  on p's side of their midpoint (the data favour the prediction at initialization),
  "opposite" when on m's side, inconclusive when it covers the midpoint.
- W4, per Fig. 3 sigma: the all-weights fit extrapolated to width 5,000 with its prediction
  interval for one new run: "breaks" when sigma lies above it, "does not break" below,
  "undetermined" inside; the paper breaks by the same criterion when its drop (GD minus
  all-weights accuracy) reaches ``sweep_acc_drop``, in every source read (Fig. 3's window
  values; at 0.1 also App. Fig. 8's digitized final values), does not break when in none, and
  is "ambiguous" otherwise. Agreement reads "reproduced", disagreement "opposite", an
  undetermined prediction or an ambiguous paper "inconclusive".
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from noise_injection.base import digitized
from noise_injection.base import paper_numbers as paper
from noise_injection.base.constants import constant
from noise_injection.claims.table import CLAIM_COLUMNS, claim_row
from noise_injection.base.intervals import LEVEL, paired
from noise_injection.claims.verdicts import (
    INCONCLUSIVE, OPPOSITE, REPRODUCED, interval_verdict, judge_lines, line_text, one_sided_p,
    universal_verdict)
from noise_injection.networks import onsets as O
from noise_injection.networks.experiments import SWEEP_TABLES
from noise_injection.networks.sweep import MEAN_FIELD_SLOPES

#: Fig. 3's width and sigmas (the registry's fig3_all_test_acc ``at``), and the run whose
#: digitized final values also show the sigma it shares with App. Fig. 8.
FIG3_WIDTH, FIG8_SIGMA = 5000, 0.1
BREAKS, HOLDS, UNDETERMINED, AMBIGUOUS = ("breaks", "does not break", "undetermined",
                                          "ambiguous")
STATEMENTS = {
    "W1": "all-weights noise breaks at a lower sigma than layer-wise noise, at every width",
    "W2": "the gap between the schemes' onsets widens with width",
    "W3": "the onset's slope in log width is nearer the prediction at initialization than "
          "the paper's mean-field picture, per scheme",
    "W4": "the all-weights onsets, extrapolated to width 5,000, predict where Fig. 3's "
          "all-weights noise breaks",
}
PREDICTION_COLUMNS = ("sigma", "onset", "pi_low", "pi_high", "predicted", "paper_fig3_drop",
                      "paper_fig8_drop", "paper", "verdict")


def _interval_criterion(direction: str) -> str:
    return (f"{LEVEL:.0%} t interval excludes 0 {direction}: reproduced; the other way: "
            "opposite; covers 0: inconclusive")


def _sign_fixed(censored_layer: str, censored_all: str) -> int:
    """+1 / -1 when the censoring bounds alone fix the sign of log sigma*_layer -
    log sigma*_all (one onset beyond the grid's end the other lies within or beyond the
    other end), 0 when they do not or both are measured."""
    up = {O.ABOVE: +1, O.BELOW: -1, "": 0}
    a, b = up.get(censored_layer), up.get(censored_all)
    if a is None or b is None or (a == 0 and b == 0) or a == b:
        return 0
    return int(np.sign(a - b))


def w1_core(ratios, signs, level: float = LEVEL):
    """W1's verdict per width and its one-sided p-value against the paper, vectorised:
    ``ratios`` (..., widths, seeds) of log ratios (NaN where not both measured), ``signs``
    the same shape, :func:`_sign_fixed` of the censored seeds. Returns (interval dict,
    verdicts, p_opposite)."""
    ratios = np.asarray(ratios, dtype=float)
    est = _paired_finished(ratios, level)
    verdicts = np.asarray(interval_verdict(est["low"], est["high"], +1), dtype=object)
    signs = np.asarray(signs)
    verdicts = np.where((verdicts == REPRODUCED) & (signs < 0).any(-1), INCONCLUSIVE, verdicts)
    verdicts = np.where((verdicts == OPPOSITE) & (signs > 0).any(-1), INCONCLUSIVE, verdicts)
    p_opp = one_sided_p(est["estimate"], est["se"], est["df"], -1)
    p_opp = np.where((signs > 0).any(-1), 1.0, p_opp)
    return est, verdicts.astype(str), p_opp


def _paired_finished(values, level):
    """:func:`intervals.paired` over the finite entries of the last axis (each leading index
    may keep a different number)."""
    values = np.asarray(values, dtype=float)
    if np.isfinite(values).all():
        return paired(values, level=level)
    flat = values.reshape(-1, values.shape[-1])
    out = {k: np.full(len(flat), np.nan) for k in ("estimate", "se", "df", "low", "high")}
    for i, row in enumerate(flat):
        kept = row[np.isfinite(row)]
        if len(kept):
            est = paired(kept, level=level)
            for k in out:
                out[k][i] = float(est[k])
    return {k: v.reshape(values.shape[:-1]) for k, v in out.items()}


def w1_rows(table: pd.DataFrame, scale: str) -> list[dict]:
    """W1's line and one row per width."""
    ratios = O.log_ratios(table)
    widths = sorted(ratios["width"].unique())
    rows, ps = [], []
    for width in widths:
        group = ratios[ratios["width"] == width]
        signs = [_sign_fixed(a, b) for a, b in zip(group["censored_layer"],
                                                    group["censored_all"])]
        est, verdict, p_opp = w1_core(group["log_ratio"].to_numpy()[None], np.array([signs]))
        verdict, p_opp = str(verdict[0]), float(p_opp[0])
        note = _w1_note(verdict, group, signs)
        n_both = int(np.isfinite(group["log_ratio"]).sum())
        rows.append(claim_row(
            "W1", f"width {width}", STATEMENTS["W1"], verdict,
            _interval_criterion("above (layer-wise breaks later)") + "; a censored seed whose "
            "bound fixes the sign withholds the reading it contradicts",
            setting=f"log sigma*_layer - log sigma*_all, paired by seed, width {width}",
            paper="all-weights noise fails in wide networks, layer-wise noise does not "
                  "(no onset given)", paper_source=paper.source("width_exponents"),
            estimate=float(est["estimate"][0]), ci_low=float(est["low"][0]),
            ci_high=float(est["high"][0]), test="paired t on per-seed log ratios",
            n_ok=f"both onsets measured {n_both}/{len(group)}",
            diverged=_censored_text(group), verdict_text=verdict + note,
            beyond_paper=True, measured=_ratio_text(group), scale=scale))
        ps.append(p_opp)
    return [_line("W1", rows, ps, scale), *rows]


def _w1_note(verdict, group, signs) -> str:
    if verdict != INCONCLUSIVE:
        return ""
    if np.isfinite(group["log_ratio"]).sum() < 2:
        return " (fewer than 2 seeds with both onsets measured: no interval)"
    if any(s != 0 for s in signs):
        return " (a censored seed's bound contradicts the interval's reading)"
    return ""


def _censored_text(group) -> str:
    parts = []
    for scheme in O.SCHEMES:
        states = group[f"censored_{scheme}"]
        for state in (O.BELOW, O.ABOVE, O.NO_REFERENCE):
            k = int((states == state).sum())
            if k:
                parts.append(f"{scheme} {state} the grid {k}/{len(group)}"
                             if state != O.NO_REFERENCE else f"{scheme} {state} {k}")
    return "censored: " + ("; ".join(parts) if parts else "none")


def _ratio_text(group) -> str:
    finite = group["log_ratio"].dropna()
    return ("sigma*_layer / sigma*_all per seed: "
            + (", ".join(f"{math.exp(r):.3g}" for r in finite) if len(finite) else "none"))


def _line(claim: str, rows: list[dict], p_opposite, scale: str) -> dict:
    verdicts = [r["verdict"] for r in rows]
    if p_opposite is None:
        contradicted = None
        verdict = str(universal_verdict(verdicts))
    else:
        (line,), (contradicted,) = judge_lines([verdicts], [p_opposite])
        verdict = str(line)
    scope = line_text(verdict, verdicts, contradicted)
    rule = ("reproduced only if every row is (intersection-union); opposite if Holm over the "
            f"rows' one-sided p-values against the paper rejects one at "
            f"{constant('table_alpha'):g}" if p_opposite is not None else
            "reproduced only if every row is; opposite if a row is")
    return claim_row(claim, "claim", rows[0]["statement"], verdict, f"claim line: {rule}; "
                     "else inconclusive", level="claim",
                     setting=f"{len(rows)} declared row(s)", verdict_text=scope,
                     measured=scope, beyond_paper=True, scale=scale,
                     paper_source=" | ".join(dict.fromkeys(r["paper_source"] for r in rows)))


def _fit_dict(row: pd.Series) -> dict:
    return {"slope": row["slope"], "intercept": row["intercept"], "df": row["df"],
            "residual_sd": row["residual_sd"], "n": row["n_points"], "x_mean": row["x_mean"],
            "sxx": row["sxx"], "low": row["ci_low"], "high": row["ci_high"], "se": row["se"]}


def _fit_text(row: pd.Series) -> str:
    return (f"{int(row['n_points'])} (width, seed) points, {int(row['n_left_out'])} left out "
            "(censored or unpaired)")


def w2_rows(fit_table: pd.DataFrame, scale: str) -> list[dict]:
    """W2's line and its row: the slope of the gap fit."""
    gap = fit_table.set_index("fit").loc["gap"]
    verdict = str(interval_verdict(gap["ci_low"], gap["ci_high"], +1))
    p_opp = float(one_sided_p(gap["slope"], gap["se"], gap["df"], -1))
    row = claim_row(
        "W2", "gap slope", STATEMENTS["W2"], verdict,
        _interval_criterion("above (the gap widens)"),
        setting="slope of log sigma*_layer - log sigma*_all in log width (least squares over "
                "widths and seeds): the difference of the schemes' slopes",
        paper="all-weights noise fails in wide networks, layer-wise noise does not "
              "(no slope given)", paper_source=paper.source("width_exponents"),
        estimate=float(gap["slope"]), ci_low=float(gap["ci_low"]),
        ci_high=float(gap["ci_high"]), test="least-squares slope, t interval",
        n_ok=_fit_text(gap), verdict_text=verdict + (
            "" if np.isfinite(gap["ci_low"]) else " (fewer than 3 points: no interval)"),
        beyond_paper=True, measured=f"slope {gap['slope']:+.3g} per unit log width",
        scale=scale)
    return [_line("W2", [row], [p_opp], scale), row]


def _prediction_text(predicted: dict, scheme: str) -> str:
    low, high = predicted["range"][scheme]
    levels = ", ".join(f"{lv:g}" for lv in predicted["levels"])
    widths = " and ".join(f"{min(r['widths'])}-{max(r['widths'])}" for r in predicted["runs"])
    return f"range {low:+.3g} to {high:+.3g} over levels {levels} nats, widths {widths}"


def w3_rows(fit_table: pd.DataFrame, predicted: dict, scale: str) -> list[dict]:
    """W3's line and one row per scheme (``predicted``: :func:`sweep.predicted_slopes`)."""
    rows = []
    for scheme in O.SCHEMES:
        fit = fit_table.set_index("fit").loc[scheme]
        p, m = predicted["centre"][scheme], MEAN_FIELD_SLOPES[scheme]
        low_p, high_p = predicted["range"][scheme]
        boundary = (p + m) / 2
        direction = 1 if p > m else -1
        verdict = str(interval_verdict(fit["ci_low"] - boundary, fit["ci_high"] - boundary,
                                       direction))
        covers = lambda a, b: fit["ci_low"] <= b and fit["ci_high"] >= a  # noqa: E731
        rows.append(claim_row(
            "W3", scheme, STATEMENTS["W3"], verdict,
            f"the {LEVEL:.0%} t interval of the slope lies on the side of the midpoint between "
            "the two predictions where the prediction at initialization is: reproduced; on "
            "the mean-field side: opposite; covers the midpoint: inconclusive",
            setting=f"{scheme}: slope of log sigma* in log width (least squares over widths "
                    "and seeds)",
            paper=f"mean-field picture (Sec. 3): slope {m:+.3g}",
            paper_source=paper.source("width_exponents"), estimate=float(fit["slope"]),
            ci_low=float(fit["ci_low"]), ci_high=float(fit["ci_high"]),
            test="least-squares slope, t interval", n_ok=_fit_text(fit),
            verdict_text=verdict + (
                "" if np.isfinite(fit["ci_low"]) else " (fewer than 3 points: no interval)"),
            beyond_paper=True, scale=scale,
            measured=(f"predicted at initialization {p:+.3g} "
                      f"({_prediction_text(predicted, scheme)}), mean-field {m:+.3g},"
                      f" midpoint {boundary:+.3g}; the interval "
                      f"{'reaches' if covers(low_p, high_p) else 'excludes'} the predicted "
                      f"range and {'covers' if covers(m, m) else 'excludes'} the mean-field "
                      "slope")))
    return [_line("W3", rows, None, scale), *rows]


def paper_breaks(sigma: float, threshold: float) -> tuple[float, float, str]:
    """(Fig. 3 drop, App. Fig. 8 final drop or NaN, outcome) at width 5,000: the paper's drop
    GD minus all-weights accuracy (points) in each source and :data:`BREAKS`,
    :data:`HOLDS` or :data:`AMBIGUOUS`."""
    fig3 = paper.value("fig3_test_acc") - paper.value("fig3_all_test_acc", at=sigma)
    fig8 = math.nan
    if abs(sigma - FIG8_SIGMA) < 1e-12:
        last = {s: digitized.curve(8, "test_acc", s).iloc[-1]["y"] for s in ("none", "all")}
        fig8 = float(last["none"] - last["all"])
    outcomes = {d >= threshold for d in (fig3, fig8) if np.isfinite(d)}
    outcome = AMBIGUOUS if len(outcomes) > 1 else (BREAKS if outcomes.pop() else HOLDS)
    return float(fig3), fig8, outcome


def fig3_prediction(fit_table: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Per Fig. 3 sigma (:data:`PREDICTION_COLUMNS`): the all-weights fit's onset at width
    5,000 with its prediction interval, the prediction, the paper's outcome and W4's verdict."""
    fit = _fit_dict(fit_table.set_index("fit").loc["all"])
    yhat, low, high = O.prediction_interval(fit, math.log(FIG3_WIDTH)) if np.isfinite(
        fit["slope"]) else (math.nan, math.nan, math.nan)
    rows = []
    for sigma in paper.entry("fig3_all_test_acc")["at"]:
        if not np.isfinite(low):
            predicted = UNDETERMINED
        else:
            predicted = (BREAKS if math.log(sigma) > high else
                         HOLDS if math.log(sigma) < low else UNDETERMINED)
        fig3, fig8, outcome = paper_breaks(sigma, threshold)
        verdict = (INCONCLUSIVE if predicted == UNDETERMINED or outcome == AMBIGUOUS else
                   REPRODUCED if predicted == outcome else OPPOSITE)
        rows.append({"sigma": sigma, "onset": math.exp(yhat) if np.isfinite(yhat) else math.nan,
                     "pi_low": math.exp(low), "pi_high": math.exp(high),
                     "predicted": predicted, "paper_fig3_drop": fig3, "paper_fig8_drop": fig8,
                     "paper": outcome, "verdict": verdict})
    return pd.DataFrame(rows, columns=list(PREDICTION_COLUMNS))


def w4_rows(prediction: pd.DataFrame, threshold: float, iterations: int,
            scale: str) -> list[dict]:
    """W4's line and one row per Fig. 3 sigma, from :func:`fig3_prediction`."""
    rows = []
    for _, r in prediction.iterrows():
        fig8 = ("" if not np.isfinite(r["paper_fig8_drop"]) else
                f"; App. Fig. 8 final drop {r['paper_fig8_drop']:+.2f} points (digitized)")
        rows.append(claim_row(
            "W4", f"sigma {r['sigma']:g}", STATEMENTS["W4"], r["verdict"],
            f"predicted to break when sigma lies above the {LEVEL:.0%} prediction interval of "
            "the onset at width 5,000, not to break below it, undetermined inside; the paper "
            f"breaks when GD's accuracy minus all-weights' reaches {threshold:g} points in "
            "every source read; agreement: reproduced, disagreement: opposite, undetermined "
            "or ambiguous: inconclusive",
            setting=f"all-weights fit extrapolated to width {FIG3_WIDTH:,}, sigma "
                    f"{r['sigma']:g}",
            paper=f"{r['paper']}: Fig. 3 drop {r['paper_fig3_drop']:+.2f} points{fig8}",
            paper_source=paper.source("fig3_test_acc", "fig3_all_test_acc")
            + ("" if not fig8 else " | " + paper.source("fig8_test_acc")
               + " (digitized: config/paper_digitized/fig8.csv)"),
            estimate=float(r["onset"]), ci_low=float(r["pi_low"]), ci_high=float(r["pi_high"]),
            test="prediction interval of the least-squares fit (one new run)",
            verdict_text=f"{r['verdict']} (predicted: {r['predicted']}; paper: {r['paper']})",
            beyond_paper=True, scale=scale,
            measured=(f"onset at width {FIG3_WIDTH:,} {r['onset']:.3g} [{r['pi_low']:.3g}, "
                      f"{r['pi_high']:.3g}]; caveat: the sweep's runs are {iterations:,} "
                      "iterations long, the paper's values are read at Fig. 3's "
                      f"{paper.entry('fig3_all_test_acc')['iteration']} and App. Fig. 8's "
                      f"{paper.entry('fig8_test_acc')['iteration']}")))
    return [_line("W4", rows, None, scale), *rows]


def width_sweep_claims(table: pd.DataFrame, fit_table: pd.DataFrame,
                       prediction: pd.DataFrame, predicted: dict, threshold: float,
                       iterations: int, scale: str) -> pd.DataFrame:
    """The claims table (:data:`CLAIM_COLUMNS`) of W1-W4."""
    rows = (w1_rows(table, scale) + w2_rows(fit_table, scale)
            + w3_rows(fit_table, predicted, scale)
            + w4_rows(prediction, threshold, iterations, scale))
    return pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))


def sweep_tables(finals: dict[int, pd.DataFrame], threshold: float, predicted: dict,
                 iterations: int, scale: str) -> dict[str, pd.DataFrame]:
    """Every table of the sweep's analysis (:data:`experiments.SWEEP_TABLES`) from the per-width
    :func:`summary.seed_finals` tables (``finals``: width -> table)."""
    drops = O.paired_drops(finals)
    table = O.onsets(drops, threshold)
    fit_table = O.fits(table)
    prediction = fig3_prediction(fit_table, threshold)
    out = {"drops": drops, "onsets": table, "onset_summary": O.onset_summary(table),
           "fits": fit_table, "fig3_prediction": prediction,
           "claims": width_sweep_claims(table, fit_table, prediction, predicted, threshold,
                                        iterations, scale)}
    return {name: out[name] for name in SWEEP_TABLES}
