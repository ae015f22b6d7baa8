"""Claims C5 and C6 of docs/paper.md section 5: one row per comparison declared before the run.

Input: per experiment, the per-seed table of
:func:`noise_injection.networks.summary.seed_finals` (scheme, sigma, seed, metric, status,
value; accuracies in %). Each row is a contrast of seed values with the test, divergence rule
and power of :mod:`noise_injection.claims.seedrows`; the claim lines are judged over the whole
table (:func:`noise_injection.claims.verdicts.judge_lines`). Every row tests a statement the
paper makes, in the setting where it makes it:

- accuracies (C5a, C5c-C5e, C6a-C6c): the paper's value is its digitized end point where the
  figure was digitized (App. Figs. 7-10, Fig. 6: :mod:`noise_injection.base.digitized`, with
  its reading error), else the registry's reading (:mod:`noise_injection.claims.
  paper_numbers`); each row cites both;
- Hessian traces (C5b, C5f, C6d): the order of the schemes that each figure itself shows,
  pair by pair: App. Figs. 7-10 over the last ``trace_order_window`` of their iterations
  (:func:`~noise_injection.base.digitized.trace_order`), Fig. 11 as the registry reads it,
  Fig. 6 at each sigma (:func:`~noise_injection.base.digitized.trace_order_at`); the
  wide-MLP rows where all-weights noise lies above (C5f) only at the paper's width. The
  paper's traces sum an adaptive number of probes, so only orders are compared: their power
  and magnitude read "not comparable". C6c's trace row tests the text's "sharp increase" at
  the collapse sigma against the sigma below it.

Beside the direction, each row with a comparable paper number says whether that number (with
its reading error) lies below, within or above our interval
(:func:`~noise_injection.claims.verdicts.magnitude`). Sigma convention: layer-wise std;
all-weights noise uses sigma/sqrt(M).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from noise_injection.base import digitized
from noise_injection.base import paper_numbers as paper
from noise_injection.claims import seedrows
from noise_injection.base.constants import constant
from noise_injection.base.results import file_sha256
from noise_injection.claims.table import CLAIM_COLUMNS, claim_row
from noise_injection.claims.verdicts import (
    NOT_APPLICABLE, NOT_RUN, judge_lines, line_text, magnitude)

MLPS = {"mlp3_narrow": "fig7", "mlp3_wide": "fig8", "mlp5_narrow": "fig4_narrow",
        "mlp5_wide": "fig4_wide"}
CNNS = {"toy_cnn": "fig11", "fcnn": "fig12"}
#: Registry entry of each C5 experiment's final accuracies and of its Hessian-trace panel.
ACC_KEY = {**{k: f"{v}_test_acc" for k, v in MLPS.items()},
           **{k: f"{v}_test_acc" for k, v in CNNS.items()}}
TRACE_KEY = {"mlp3_narrow": "fig7_hessian_trace", "mlp3_wide": "fig8_hessian_trace",
             "mlp5_narrow": "fig9_hessian_trace", "mlp5_wide": "fig4_wide_hessian_trace",
             "toy_cnn": "fig11_hessian_trace"}
#: The App. figure digitized for each MLP (its final values and trace panel).
DIGITIZED = {"mlp3_narrow": 7, "mlp3_wide": 8, "mlp5_narrow": 9, "mlp5_wide": 10}
#: The sigma each experiment is plotted at in the paper (layer-wise std), and the sweep.
PAPER_SIGMA = {"mlp3_narrow": 0.05, "mlp3_wide": 0.1, "mlp5_narrow": 0.05, "mlp5_wide": 0.05,
               "toy_cnn": 0.05, "fcnn": 0.05}
SIGMA_SWEEP, RESNET, PAPER_RESNET_DATA = "mlp3_wide", "resnet18", "cifar10"
WIDTH_PAIRS = (("mlp3_narrow", "mlp3_wide"), ("mlp5_narrow", "mlp5_wide"))
WIDE = tuple(wide for _, wide in WIDTH_PAIRS)
ACC, PEAK, TRACE = "test_acc", "test_acc_peak", "hessian_trace"
NAMES = {"none": "GD", "layer": "layer-wise", "all": "all-weights"}


def _name(exp: str, scheme: str) -> str:
    """A scheme's name in a row: plain GD for the full-batch MLPs, SGD for the CNNs."""
    return "SGD" if scheme == "none" and exp not in MLPS else NAMES[scheme]
#: The paper's protocol of each experiment (config/paper.yaml): its data set and widths.
PAPER_CONFIG = Path(__file__).resolve().parents[2] / "config" / "paper.yaml"
TRACE_NOT_COMPARABLE = ("not comparable: the paper's Hessian traces sum the estimates of an "
                        "adaptive number of probes (2-100, PyHessian), so only their order is "
                        "comparable with ours")
WINDOW = ("not comparable: the paper's value is read inside Fig. 3's window (iteration 8,000 "
          "of 10,000), ours is the run's final value")


@dataclass(frozen=True)
class Comparison:
    """A declared contrast: sum of coef * setting over ``terms`` (experiment, scheme, sigma,
    label, coef, metric), the paper's direction (+1 / -1), its effect (None if not given)
    with the reading error of that number (None: read by eye without one), the registry keys
    and other sources it cites, the unit of the estimate; ``margin`` makes it a no-loss row;
    ``magnitude_note`` says why the paper's number is not set against ours."""

    claim: str
    row: str
    statement: str
    terms: tuple
    direction: int
    paper_effect: float | None
    paper_text: str
    keys: tuple
    sources: tuple = ()
    paper_error: float | None = None
    unit: str = "points"
    margin: float | None = None
    magnitude_note: str | None = None
    not_applicable: str | None = None
    not_comparable: str | None = None


@functools.cache
def paper_protocol() -> dict:
    """networks.experiments of config/paper.yaml (the paper's protocols)."""
    return yaml.safe_load(PAPER_CONFIG.read_text())["networks"]["experiments"]


def paper_inputs() -> dict:
    """What the claims read of the paper besides the registry, by content: the SHA-256 of
    each data file (CSV, JSON) of config/paper_digitized/ and each experiment's data set and
    widths in config/paper.yaml (the workflow reruns the claims when one changes)."""
    files = sorted(p for p in digitized.FOLDER.glob("*") if p.suffix in (".csv", ".json"))
    return {"digitized": {p.name: file_sha256(p) for p in files},
            "protocol": {e: {"dataset": x["dataset"], "arch_kwargs": x.get("arch_kwargs", {})}
                         for e, x in paper_protocol().items()}}


def not_comparable(configs: dict, experiments, metric: str = ACC) -> str | None:
    """Why the paper's number for a row on ``experiments`` and ``metric`` cannot be set
    beside ours at this scale (its power and magnitude then say so), or None: a Hessian
    trace (:data:`TRACE_NOT_COMPARABLE`), or an experiment trained here on other data than
    the paper's."""
    if metric == TRACE:
        return TRACE_NOT_COMPARABLE
    for exp in dict.fromkeys(experiments):
        ours, theirs = configs.get(exp, {}).get("dataset"), paper_protocol()[exp]["dataset"]
        if exp in configs and ours != theirs:
            return f"not comparable: this scale trains {exp} on {ours}, the paper on {theirs}"
    return None


def _comparability(configs: dict, families: dict) -> dict:
    """``families`` with each comparison's :func:`not_comparable` reason at this scale."""
    def reason(comp):
        metric = TRACE if any(t[5] == TRACE for t in comp.terms) else ACC
        return not_comparable(configs, [t[0] for t in comp.terms], metric)
    return {claim: [replace(c, not_comparable=reason(c)) for c in comps]
            for claim, comps in families.items()}


def _term(exp, scheme, sigma, coef, metric=ACC, label=None):
    return (exp, scheme, sigma, label or f"{exp} {scheme}" + (f" s={sigma:g}" if sigma else ""),
            coef, metric)


def _num(x, unit="points"):
    return "no number given" if x is None else f"{x:+.3g} {unit}".rstrip()


@dataclass(frozen=True)
class Reading:
    """A number of the paper: value, reading error (None: read by eye, none stated) and the
    sources it comes from (registry keys, digitized panels)."""

    value: float
    error: float | None
    keys: tuple = ()
    sources: tuple = ()

    def __sub__(self, other: "Reading") -> "Reading":
        error = None if None in (self.error, other.error) else self.error + other.error
        return Reading(self.value - other.value, error, tuple(dict.fromkeys(
            self.keys + other.keys)), tuple(dict.fromkeys(self.sources + other.sources)))

    def text(self, what: str, unit: str = "points") -> str:
        error = ("read by eye, no reading error stated" if self.error is None
                 else f"reading error +-{self.error:.2g}")
        return f"{what} {self.value:+.3g} {unit} ({error})"


def final_accuracy(exp: str, scheme: str) -> Reading:
    """The paper's final test accuracy of ``scheme`` in ``exp`` at its plotted sigma: the
    digitized end point of App. Figs. 7-10 (their reading error), else the registry's
    reading."""
    if exp in DIGITIZED:
        y, error = digitized.final(DIGITIZED[exp], ACC, scheme)
        return Reading(y, error, (ACC_KEY[exp],), (digitized.source(DIGITIZED[exp], ACC),))
    return Reading(paper.value(ACC_KEY[exp], scheme), None, (ACC_KEY[exp],))


def resnet_accuracy(scheme: str, sigma: float) -> Reading | None:
    """Fig. 6's final accuracy of ``scheme`` at ``sigma`` (plain SGD: sigma 0): its digitized
    marker, else the registry's reading where the marker is hidden; None where neither."""
    key = {"none": "fig6_sgd_test_acc", "layer": "fig6_layer_test_acc",
           "all": "fig6_all_test_acc"}[scheme]
    read = digitized.at_sigma(ACC, scheme, sigma)
    if read is not None:
        return Reading(*read, (key,), (digitized.source(6, ACC),))
    value = paper.value(key, at=None if scheme == "none" else sigma)
    return None if value is None else Reading(value, None, (key,))


def window_accuracy(scheme: str, sigma: float = 0.0) -> Reading | None:
    """Fig. 3's reading at the end of its window (iteration 8,000; registry)."""
    key = {"none": "fig3_test_acc", "layer": "fig3_layer_test_acc",
           "all": "fig3_all_test_acc"}[scheme]
    value = paper.value(key, at=None if scheme == "none" else sigma)
    return None if value is None else Reading(value, None, (key,))


def _sigmas(configs, name):
    if name not in configs:
        return [PAPER_SIGMA[name]]
    exp = configs[name]
    return exp["sigmas"]["layer"] if name == SIGMA_SWEEP else [exp["plot_sigma"]]


def _from(reading: Reading | None, **fields) -> dict:
    """The paper fields of a comparison from a reading (or its absence)."""
    if reading is None:
        return dict(paper_effect=None, keys=fields.pop("keys"), **fields)
    return dict(paper_effect=reading.value, paper_error=reading.error,
                keys=fields.pop("keys", reading.keys), sources=reading.sources, **fields)


def c5_comparisons(configs: dict) -> dict[str, list[Comparison]]:
    """C5a (accuracy) per experiment and sigma, C5b (the trace order each figure shows),
    C5c (all-weights trend over sigma), C5d (all-weights loss grows with width at equal
    sigma), C5e (toy-CNN decay), C5f (all-weights noise raises the wide MLPs' trace, at the
    paper's width)."""
    out = {k: [] for k in ("C5a", "C5b", "C5c", "C5d", "C5e", "C5f")}
    statement = ("layer-wise noise improves final test accuracy over plain (S)GD, in every "
                 "setting")
    for name in ACC_KEY:
        for sigma in _sigmas(configs, name):
            terms = (_term(name, "layer", sigma, 1), _term(name, "none", 0.0, -1))
            if name == SIGMA_SWEEP and abs(sigma - PAPER_SIGMA[name]) > 1e-12:
                layer = window_accuracy("layer", sigma)
                gain = None if layer is None else layer - window_accuracy("none")
                fields = _from(gain, keys=("fig3_test_acc", "fig3_layer_test_acc"),
                               magnitude_note=WINDOW,
                               paper_text=("no number: Fig. 3 shows no curve at this sigma"
                                           if gain is None else gain.text(
                                               "layer - GD at iteration 8,000 of Fig. 3's "
                                               "window:")))
            else:
                gain = final_accuracy(name, "layer") - final_accuracy(name, "none")
                fields = _from(gain, paper_text=gain.text("layer - GD"))
            out["C5a"].append(Comparison("C5a", f"{name} s={sigma:g}", statement, terms, +1,
                                         **fields))
    for comp in trace_orders(configs):
        out[comp.claim].append(comp)
    out["C5c"].append(_trend(configs))
    for narrow, wide in WIDTH_PAIRS:
        sig = PAPER_SIGMA[narrow]  # equal sigma on both widths (mlp3_wide sweeps it)
        terms = (_term(narrow, "all", sig, 1), _term(narrow, "none", 0.0, -1),
                 _term(wide, "all", sig, -1), _term(wide, "none", 0.0, 1))
        narrow_loss = final_accuracy(narrow, "all") - final_accuracy(narrow, "none")
        if wide == SIGMA_SWEEP:  # the paper shows sigma 0.05 on the wide net in Fig. 3 only
            gap = narrow_loss - (window_accuracy("all", sig) - window_accuracy("none"))
            fields = _from(gap, magnitude_note=WINDOW, paper_text=gap.text(
                f"(all - GD) narrow - wide at sigma {sig:g} (narrow final, Fig. 7; wide at "
                "iteration 8,000 of Fig. 3's window):"))
        else:
            gap = narrow_loss - (final_accuracy(wide, "all") - final_accuracy(wide, "none"))
            fields = _from(gap, paper_text=gap.text(f"(all - GD) narrow - wide at sigma "
                                                    f"{sig:g}:"))
        out["C5d"].append(Comparison(
            "C5d", f"{narrow} vs {wide} s={sig:g}", "all-weights noise costs more accuracy at "
            "larger width (equal sigma), in every pair", terms, +1, **fields))
    decay = paper.value("fig11_sgd_peak_test_acc") - paper.value("fig11_test_acc", "none")
    s = PAPER_SIGMA["toy_cnn"]
    out["C5e"].append(Comparison(
        "C5e", f"toy_cnn s={s:g}", "SGD's test accuracy peaks then decays while the noisy "
        "run stays: (peak - final) of SGD exceeds that of layer-wise noise",
        (_term("toy_cnn", "none", 0.0, 1, PEAK, "SGD peak"),
         _term("toy_cnn", "none", 0.0, -1, ACC, "SGD final"),
         _term("toy_cnn", "layer", s, -1, PEAK, "layer peak"),
         _term("toy_cnn", "layer", s, 1, ACC, "layer final")), +1,
        **_from(Reading(decay, None, ("fig11_sgd_peak_test_acc", "fig11_test_acc")),
                paper_text=Reading(decay, None).text("SGD peak - final (noisy runs stay):"))))
    return out


def _width_note(configs: dict, exp: str) -> str | None:
    """Why a row about the wide MLP's width does not apply at this scale, or None."""
    if exp not in configs:
        return None
    ours = configs[exp].get("arch_kwargs", {}).get("widths")
    theirs = paper_protocol()[exp]["arch_kwargs"]["widths"]
    return None if ours == theirs else (f"the paper shows this at widths {theirs}; this scale "
                                        f"runs {exp} at {ours}")


def trace_orders(configs: dict) -> list[Comparison]:
    """The Hessian-trace order each of App. Figs. 7-10 and Fig. 11 shows near the end of
    training, one row per ordered pair (lower, higher), paired log ratio lower / higher < 1:
    C5b, except the wide MLPs' pairs where all-weights noise lies above, C5f (applicable only
    at the paper's width)."""
    window = constant("trace_order_window")
    figures = [(DIGITIZED[e], e, digitized.trace_order(DIGITIZED[e], window),
                (digitized.source(DIGITIZED[e], TRACE),)) for e in DIGITIZED]
    figures.append((11, "toy_cnn", [tuple(p) for p in paper.entry(TRACE_KEY["toy_cnn"])["order"]],
                    ()))
    out = []
    for number, exp, pairs, sources in figures:
        sigma = PAPER_SIGMA[exp]
        for lower, higher in pairs:
            wide = exp in WIDE and higher == "all"
            claim, statement = (("C5f", "all-weights noise raises the wide MLPs' Hessian trace "
                                 "above the other schemes' (Figs. 8 and 10), at the paper's "
                                 "width") if wide else
                                ("C5b", "each figure's order of the final Hessian traces "
                                 "(Figs. 7-11): every pair the figure shows ordered"))
            at = {s: 0.0 if s == "none" else sigma for s in (lower, higher)}
            read = ("over the last quarter of its iterations" if number != 11
                    else "at the end")
            out.append(Comparison(
                claim, f"Fig. {number} {exp} s={sigma:g}: {_name(exp, lower)} < "
                f"{_name(exp, higher)}",
                statement, (_term(exp, lower, at[lower], 1, TRACE),
                            _term(exp, higher, at[higher], -1, TRACE)), -1, None,
                f"Fig. {number} shows {_name(exp, lower)} below {_name(exp, higher)} {read} "
                "(order only)", (TRACE_KEY[exp],), sources, unit="ratio",
                not_applicable=_width_note(configs, exp) if wide else None))
    return out


def _trend(configs) -> Comparison:
    """C5c: least-squares slope of all-weights accuracy on log10 sigma over every sigma of the
    sweep, c_i = (x_i - mean x) / sum (x - mean x)^2; the paper's slope from Fig. 3."""
    sigmas = (configs[SIGMA_SWEEP]["sigmas"]["all"] if SIGMA_SWEEP in configs
              else paper.entry("fig3_all_test_acc")["at"])
    x = np.log10(sigmas)
    c = (x - x.mean()) / ((x - x.mean()) ** 2).sum() if len(x) > 1 else np.zeros(1)
    at = paper.entry("fig3_all_test_acc")["at"]
    slope = float(np.polyfit(np.log10(at), paper.value("fig3_all_test_acc"), 1)[0])
    return Comparison(
        "C5c", f"{SIGMA_SWEEP} all, sigmas {', '.join(f'{s:g}' for s in sigmas)}",
        "all-weights noise degrades as sigma grows (trend over every sigma)",
        tuple(_term(SIGMA_SWEEP, "all", s, float(ci)) for s, ci in zip(sigmas, c)), -1, slope,
        f"slope {slope:+.2f} points per decade of sigma (Fig. 3 at iteration 8,000; not "
        "monotone)", ("fig3_all_test_acc",), unit="points per decade of sigma",
        magnitude_note=WINDOW,
        not_applicable=None if len(x) > 1 else "one all-weights sigma: no trend")


def c6_comparisons(configs: dict) -> dict[str, list[Comparison]]:
    """C6a at the paper's best layer-wise sigma; C6b (no loss, margin = a fraction of the
    paper's best gain, config/verdicts.yaml) at every layer-wise sigma up to the paper's
    largest, applicable on the paper's data set only; C6c at the collapse sigma (accuracy
    below SGD, trace above the sigma below); C6d the trace order Fig. 6 shows at each sigma."""
    sgd = paper.value("fig6_sgd_test_acc")
    layer, allw = paper.entry("fig6_layer_test_acc"), paper.entry("fig6_all_test_acc")
    best = layer["at"][int(np.argmax(layer["value"]))]
    collapse = allw["at"][int(np.argmin(allw["value"]))]
    gain = max(layer["value"]) - sgd
    margin = constant("noninferiority_fraction") * gain
    resnet = configs.get(RESNET)
    best_gain = resnet_accuracy("layer", best) - resnet_accuracy("none", 0.0)
    out = {"C6a": [Comparison(
        "C6a", f"{RESNET} s={best:g}", "layer-wise noise improves ResNet-18 test accuracy "
        "(about +0.3 points)", (_term(RESNET, "layer", best, 1), _term(RESNET, "none", 0, -1)),
        +1, **_from(best_gain, paper_text=best_gain.text(f"layer s={best:g} - SGD:")))],
        "C6b": []}
    sigmas = resnet["sigmas"]["layer"] if resnet else layer["at"]
    wrong_data = (resnet is not None and resnet.get("dataset") != PAPER_RESNET_DATA)
    for sigma in [s for s in sigmas if s <= max(layer["at"])]:
        at = resnet_accuracy("layer", sigma)
        diff = None if at is None else at - resnet_accuracy("none", 0.0)
        rule = (f"margin {margin:.3g} = {constant('noninferiority_fraction'):g} x the paper's "
                f"best gain {gain:+.2f}")
        out["C6b"].append(Comparison(
            "C6b", f"{RESNET} s={sigma:g}", "layer-wise noise loses no accuracy against SGD "
            "for sigma up to about 1, at every sigma",
            (_term(RESNET, "layer", sigma, 1), _term(RESNET, "none", 0, -1)), +1,
            **_from(diff, keys=("fig6_layer_test_acc", "fig6_sgd_test_acc"),
                    paper_text=(f"no number at this sigma; {rule}" if diff is None else
                                f"{diff.text('layer - SGD')}; {rule}")),
            margin=margin,
            not_applicable=(f"the margin is in points of CIFAR-10 accuracy; this scale trains "
                            f"on {resnet['dataset']}") if wrong_data else None))
    drop = resnet_accuracy("all", collapse) - resnet_accuracy("none", 0.0)
    lower = allw["at"][allw["at"].index(collapse) - 1]
    statement = ("all-weights noise breaks at the paper's collapse sigma: accuracy below SGD "
                 "and a sharp increase of the trace")
    out["C6c"] = [
        Comparison("C6c", f"{RESNET} s={collapse:g} accuracy", statement,
                   (_term(RESNET, "all", collapse, 1), _term(RESNET, "none", 0, -1)), -1,
                   **_from(drop, paper_text=drop.text("all - SGD"))),
        Comparison("C6c", f"{RESNET} all s={collapse:g} vs s={lower:g} trace", statement,
                   (_term(RESNET, "all", collapse, 1, TRACE),
                    _term(RESNET, "all", lower, -1, TRACE)), +1, None,
                   f"the text's \"sharp increase of the Hessian trace\" at sigma {collapse:g} "
                   f"(Fig. 6: above its value at sigma {lower:g}; order only)",
                   ("fig6_hessian_trace",), (digitized.source(6, TRACE),), unit="ratio"),
    ]
    out["C6d"] = [
        Comparison("C6d", f"{RESNET} s={sigma:g}: {_name(RESNET, a)} < {_name(RESNET, b)}",
                   "Fig. 6's order of the final Hessian traces at each sigma: every pair whose "
                   "error bars do not overlap",
                   (_term(RESNET, a, 0.0 if a == "none" else sigma, 1, TRACE),
                    _term(RESNET, b, 0.0 if b == "none" else sigma, -1, TRACE)), -1, None,
                   f"Fig. 6 at sigma {sigma:g}: {_name(RESNET, a)} below {_name(RESNET, b)} "
                   "(error bars apart; order only)", ("fig6_hessian_trace",),
                   (digitized.source(6, TRACE),), unit="ratio")
        for sigma in sorted(set(layer["at"]) | set(allw["at"]))
        for a, b in digitized.trace_order_at(sigma)]
    return out


def judge(comp: Comparison, finals: dict, n_seeds: int, scale: str) -> tuple[dict, float]:
    """The row of one comparison and its one-sided p-value against the paper (NaN where
    the row did not run or carries no evidence against it)."""
    test_text = {seedrows.WITHIN: "paired t on the per-seed contrasts of the seeds finished "
                                  "in every setting",
                 seedrows.ACROSS: "paired t within each experiment, Welch across them (df = "
                                  "the smaller experiment's pairs - 1)"}
    setting = "; ".join(f"{'+' if t[4] > 0 else '-'}{abs(t[4]):.3g} {t[3]} {t[5]}"
                        for t in comp.terms)
    base = dict(setting=setting, paper=comp.paper_text, scale=scale,
                paper_source=" | ".join([paper.source(*comp.keys), *comp.sources]))
    criterion = (f"{constant('level'):.0%} t interval (test column) excludes "
                 f"{'1' if comp.unit == 'ratio' else '0'} in the paper's direction "
                 f"({'above' if comp.direction > 0 else 'below'}): reproduced; the other way: "
                 "opposite; diverged runs withhold a reading they contradict; magnitude: the "
                 "paper's number with its reading error below, within or above that interval")
    if comp.margin is not None:
        criterion = (f"one-sided non-inferiority at margin {comp.margin:.3g} points: reproduced "
                     f"if the lower end of the {1 - 2 * constant('noninferiority_alpha'):.0%} "
                     "interval of ours - SGD > -margin, opposite if its upper end < -margin; "
                     f"magnitude against the {constant('level'):.0%} interval")
    if comp.not_applicable:
        return claim_row(comp.claim, comp.row, comp.statement, NOT_APPLICABLE, criterion,
                         measured=comp.not_applicable, **base), np.nan
    try:
        series = [seedrows.seed_values(finals[e], s, sig, m) for e, s, sig, _, _, m in comp.terms]
    except (seedrows.Missing, KeyError) as missing:
        return claim_row(comp.claim, comp.row, comp.statement, NOT_RUN, criterion,
                         measured=f"missing setting: {missing}", **base), np.nan
    coefs, groups = [t[4] for t in comp.terms], [t[0] for t in comp.terms]
    row = seedrows.judge(seedrows.aligned(series), coefs, groups, comp.direction,
                         [t[5] for t in comp.terms], comp.margin)
    verdict, note, test = str(row["verdict"]), str(row["note"]), str(row["test"])
    power = _power(comp, row, n_seeds)
    size, word = _magnitude(comp, row)
    shown = np.exp if row["log"] else (lambda v: v)
    counts = dict(zip([t[3] for t in comp.terms], series))
    out = claim_row(
        comp.claim, comp.row, comp.statement, verdict, criterion,
        estimate=shown(row["estimate"]), ci_low=shown(row["low"]), ci_high=shown(row["high"]),
        ci_level=(1 - 2 * constant("noninferiority_alpha") if comp.margin is not None
                  else constant("level")) if np.isfinite(row["low"]) else np.nan,
        estimate_unit=("ratio of geometric means" if row["log"] else comp.unit),
        test=test_text[test] + (" of log values" if row["log"] else ""),
        n_ok="; ".join(f"{k} {s.notna().sum()}/{len(s)}" for k, s in counts.items()),
        diverged="; ".join(f"{k} {s.isna().sum()}/{len(s)}" for k, s in counts.items()),
        power=power, magnitude=size,
        verdict_text=seedrows.verdict_text(verdict, note, power, word),
        measured=f"seed std {', '.join(f'{s.std(ddof=1):.3g}' for s in series)}", **base)
    return out, float(row["p_opposite"])


def _power(comp: Comparison, row: dict, n_seeds: int) -> str:
    """The power column of a judged row, or why it has no power."""
    if comp.not_comparable:
        return comp.not_comparable
    if comp.margin is None and comp.paper_effect is None:
        return "unknown: the paper gives no number"
    pw = seedrows.row_power(comp.paper_effect, row, n_seeds, comp.margin)
    if not np.isfinite(pw["estimate"]):
        return ("not estimable: no spread of the per-seed contrasts (fewer than 2 pairs, or "
                "equal contrasts)")
    at = (f"a true difference 0 (margin {comp.margin:.3g})" if comp.margin is not None
          else f"the paper's effect {comp.paper_effect:+.3g}")
    return seedrows.power_text(pw, at, n_seeds)


def _magnitude(comp: Comparison, row: dict) -> tuple[str, str]:
    """(magnitude column, its word below / within / above or ''): where the paper's number,
    with its reading error, lies against our 95 % interval."""
    if comp.not_comparable:
        return comp.not_comparable, ""
    if comp.magnitude_note:
        return comp.magnitude_note, ""
    if comp.paper_effect is None:
        return "no paper number", ""
    error = comp.paper_error or 0.0
    word = magnitude(row["low95"], row["high95"], comp.paper_effect - error,
                     comp.paper_effect + error, comp.direction)
    if not word:
        return "no interval", ""
    reading = ("read by eye, no reading error stated" if comp.paper_error is None
               else f"reading error +-{comp.paper_error:.2g}")
    return (f"{word} the paper's {comp.paper_effect:+.3g} ({reading}) against our "
            f"{constant('level'):.0%} interval [{row['low95']:+.3g}, {row['high95']:+.3g}]",
            word)


def claim_line(claim: str, rows: list[dict], verdict: str, contradicted, scale: str) -> dict:
    """The claim's line: its universal verdict (:func:`~noise_injection.claims.verdicts.
    judge_lines`) and its words (:func:`~noise_injection.claims.verdicts.line_text`)."""
    verdicts = [r["verdict"] for r in rows]
    text = line_text(verdict, verdicts, contradicted)
    return claim_row(
        claim, "claim", rows[0]["statement"], verdict,
        "claim line: reproduced only if every declared setting ran and reads reproduced "
        "(intersection-union; 'reproduced in the settings run' where declared settings did "
        "not run); opposite only if one of its rows reads opposite and Holm's step-down over "
        "the one-sided p-values of every row of the table rejects it at "
        f"{constant('table_alpha'):g} (family-wise over the table); else inconclusive",
        level="claim", setting=f"{len(rows)} declared setting(s)", verdict_text=text,
        measured=text, paper_source=" | ".join(dict.fromkeys(r["paper_source"] for r in rows)),
        scale=scale)


def network_claims(finals: dict[str, pd.DataFrame], configs: dict[str, dict],
                   scale: str, n_seeds: int) -> pd.DataFrame:
    """The claims table (columns :data:`CLAIM_COLUMNS`) of C5 and C6 at ``scale``; ``finals``
    and ``configs`` hold the experiments this scale runs (others: not run)."""
    families = _comparability(configs, {**c5_comparisons(configs), **c6_comparisons(configs)})
    judged = {claim: [judge(c, finals, n_seeds, scale) for c in comps]
              for claim, comps in families.items()}
    lines, contradicted = judge_lines(
        [np.array([r["verdict"] for r, _ in rows]) for rows in judged.values()],
        [np.array([p for _, p in rows]) for rows in judged.values()])
    out = []
    for (claim, rows), verdict, against in zip(judged.items(), lines, contradicted):
        rows = [r for r, _ in rows]
        out += [claim_line(claim, rows, str(verdict), against, scale), *rows]
    return pd.DataFrame(out, columns=list(CLAIM_COLUMNS))
