"""Claims C5 and C6 of docs/paper.md section 5: one row per comparison declared before the run.

Input: per experiment, the per-seed table of
:func:`noise_injection.networks.summary.seed_finals` (scheme, sigma, seed, metric, status,
value; accuracies in %). Each row is a contrast of seed values with the test, divergence rule
and power of :mod:`noise_injection.claims.seedrows`; each claim line is a universal over its
rows (:func:`noise_injection.claims.verdicts.universal_verdict`), judged on the settings run
at this scale. The paper's values come from the registry
(:mod:`noise_injection.claims.paper_numbers`), each row citing its own entries. Sigma
convention: layer-wise std; all-weights noise uses sigma/sqrt(M).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from noise_injection.claims import paper_numbers as paper
from noise_injection.claims import seedrows
from noise_injection.claims.constants import constant
from noise_injection.claims.table import CLAIM_COLUMNS, claim_row
from noise_injection.claims.verdicts import (
    NOT_APPLICABLE, NOT_RUN, judge_lines, line_text)

MLPS = {"mlp3_narrow": "fig7", "mlp3_wide": "fig8", "mlp5_narrow": "fig4_narrow",
        "mlp5_wide": "fig4_wide"}
CNNS = {"toy_cnn": "fig11", "fcnn": "fig12"}
#: Registry entry of each C5 experiment's final accuracies and of its Hessian-trace panel.
ACC_KEY = {**{k: f"{v}_test_acc" for k, v in MLPS.items()},
           **{k: f"{v}_test_acc" for k, v in CNNS.items()}}
TRACE_KEY = {"mlp3_narrow": "fig7_hessian_trace", "mlp3_wide": "fig8_hessian_trace",
             "mlp5_narrow": "fig9_hessian_trace", "mlp5_wide": "fig4_wide_hessian_trace",
             "toy_cnn": "fig11_hessian_trace", "fcnn": "fig12_hessian_trace"}
#: The sigma each experiment is plotted at in the paper (layer-wise std), and the sweep.
PAPER_SIGMA = {"mlp3_narrow": 0.05, "mlp3_wide": 0.1, "mlp5_narrow": 0.05, "mlp5_wide": 0.05,
               "toy_cnn": 0.05, "fcnn": 0.05}
SIGMA_SWEEP, RESNET, PAPER_RESNET_DATA = "mlp3_wide", "resnet18", "cifar10"
WIDTH_PAIRS = (("mlp3_narrow", "mlp3_wide"), ("mlp5_narrow", "mlp5_wide"))
ACC, PEAK, TRACE = "test_acc", "test_acc_peak", "hessian_trace"


@dataclass(frozen=True)
class Comparison:
    """A declared contrast: sum of coef * setting over ``terms`` (experiment, scheme, sigma,
    label, coef, metric), the paper's direction (+1 / -1), its effect (None if not given),
    the registry keys it cites; ``margin`` makes it a no-loss row."""

    claim: str
    row: str
    statement: str
    terms: tuple
    direction: int
    paper_effect: float | None
    paper_text: str
    keys: tuple
    margin: float | None = None
    not_applicable: str | None = None
    not_comparable: str | None = None


#: The paper's protocol of each experiment (config/paper.yaml): its data set and widths.
PAPER_CONFIG = Path(__file__).resolve().parents[2] / "config" / "paper.yaml"
TRACE_NOT_COMPARABLE = ("not comparable: the paper's Hessian traces sum the estimates of an "
                        "adaptive number of probes (2-100, PyHessian), so only their order is "
                        "comparable with ours")


@functools.cache
def paper_protocol() -> dict:
    """networks.experiments of config/paper.yaml (the paper's protocols)."""
    return yaml.safe_load(PAPER_CONFIG.read_text())["networks"]["experiments"]


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


def judge(comp: Comparison, finals: dict, n_seeds: int, scale: str) -> tuple[dict, float]:
    """The row of one comparison and its one-sided p-value against the paper (NaN where
    the row did not run or carries no evidence against it)."""
    test_text = {seedrows.WITHIN: "paired t on the per-seed contrasts of the seeds finished "
                                  "in every setting",
                 seedrows.ACROSS: "paired t within each experiment, Welch across them (df = "
                                  "the smaller experiment's pairs - 1)"}
    setting = "; ".join(f"{'+' if t[4] > 0 else '-'}{abs(t[4]):g} {t[3]} {t[5]}"
                        for t in comp.terms)
    base = dict(setting=setting, paper=comp.paper_text, paper_source=paper.source(*comp.keys),
                scale=scale)
    criterion = (f"{constant('level'):.0%} t interval (test column) excludes 0 in the paper's "
                 f"direction ({'+' if comp.direction > 0 else '-'}): reproduced; the other way: "
                 "opposite; diverged runs withhold a reading they contradict")
    if comp.margin is not None:
        criterion = (f"one-sided non-inferiority at margin {comp.margin:.3g} points: reproduced "
                     f"if the lower end of the {1 - 2 * constant('noninferiority_alpha'):.0%} "
                     "interval of ours - SGD > -margin, opposite if its upper end < -margin")
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
    shown = np.exp if row["log"] else (lambda v: v)
    labels = [t[3] for t in comp.terms]
    counts = dict(zip(labels, series))
    out = claim_row(
        comp.claim, comp.row, comp.statement, verdict, criterion,
        estimate=shown(row["estimate"]), ci_low=shown(row["low"]), ci_high=shown(row["high"]),
        test=test_text[test] + (" of log values (estimate: ratio of geometric means)"
                                if row["log"] else ""),
        n_ok="; ".join(f"{k} {s.notna().sum()}/{len(s)}" for k, s in counts.items()),
        diverged="; ".join(f"{k} {s.isna().sum()}/{len(s)}" for k, s in counts.items()),
        power=power, verdict_text=seedrows.verdict_text(verdict, note, power),
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


def _gain(key, scheme, ref="none"):
    return paper.value(key, scheme) - paper.value(key, ref)


def _sigmas(configs, name):
    if name not in configs:
        return [PAPER_SIGMA[name]]
    exp = configs[name]
    return exp["sigmas"]["layer"] if name == SIGMA_SWEEP else [exp["plot_sigma"]]


def c5_comparisons(configs: dict) -> dict[str, list[Comparison]]:
    """C5a (accuracy) and C5b (trace) per experiment and sigma, C5c (all-weights trend over
    sigma), C5d (all-weights loss grows with width at equal sigma), C5e-C5h (issue #22's rows:
    toy-CNN decay, wide-MLP trace blow-up, FCNN trace damping, best method lowest trace)."""
    out = {k: [] for k in ("C5a", "C5b", "C5c", "C5d", "C5e", "C5f", "C5g", "C5h")}
    for name in ACC_KEY:
        for sigma in _sigmas(configs, name):
            terms = (_term(name, "layer", sigma, 1), _term(name, "none", 0.0, -1))
            if name == SIGMA_SWEEP and abs(sigma - PAPER_SIGMA[name]) > 1e-12:
                key, gain = "fig3_test_acc", (paper.value("fig3_test_acc", "layer_low")
                                              - paper.value("fig3_test_acc", "none"))
                text = f"layer - GD >= {gain:+.2g} points (Fig. 3 window, not final)"
            else:
                key = ACC_KEY[name]
                gain = _gain(key, "layer")
                text = f"layer - GD {_num(gain)}"
            out["C5a"].append(Comparison(
                "C5a", f"{name} s={sigma:g}", "layer-wise noise improves final test accuracy "
                "over plain (S)GD, in every setting", terms, +1, gain, text, (key,)))
            tkey = TRACE_KEY[name]
            tr = paper.value(tkey)
            effect = None if tr is None else tr["layer"] - tr["none"]
            trace_terms = tuple((*t[:5], TRACE) for t in terms)
            out["C5b"].append(Comparison(
                "C5b", f"{name} s={sigma:g}", "layer-wise noise lowers the final Hessian trace "
                "compared with plain (S)GD, in every setting", trace_terms, -1, effect,
                f"lower; layer - GD {_num(effect, '')}", (tkey,)))
            out["C5h"].append(Comparison(
                "C5h", f"{name} s={sigma:g}", "the best-performing method (layer-wise, by the "
                "paper's accuracies) has the lowest Hessian trace: below all-weights noise",
                (_term(name, "layer", sigma, 1, TRACE), _term(name, "all", sigma, -1, TRACE)),
                -1, None, "layer-wise trace below all-weights (paper: lowest trace)",
                (tkey, ACC_KEY[name])))
    out["C5c"].append(_trend(configs))
    for narrow, wide in WIDTH_PAIRS:
        sig = PAPER_SIGMA[narrow]  # equal sigma on both widths (mlp3_wide sweeps it)
        terms = (_term(narrow, "all", sig, 1), _term(narrow, "none", 0.0, -1),
                 _term(wide, "all", sig, -1), _term(wide, "none", 0.0, 1))
        if narrow == "mlp3_narrow":
            keys = ("fig7_test_acc", "fig3_all_test_acc", "fig3_test_acc")
            gap = _gain("fig7_test_acc", "all") - (
                paper.value("fig3_all_test_acc", at=sig) - paper.value("fig3_test_acc", "none"))
            text = (f"(all - GD) narrow - wide at sigma {sig:g}: {_num(gap)} (narrow final, "
                    "Fig. 7; wide in Fig. 3's window)")
        else:
            keys = (ACC_KEY[narrow], ACC_KEY[wide])
            gap = _gain(ACC_KEY[narrow], "all") - _gain(ACC_KEY[wide], "all")
            text = f"(all - GD) narrow - wide at sigma {sig:g}: {_num(gap)}"
        out["C5d"].append(Comparison(
            "C5d", f"{narrow} vs {wide} s={sig:g}", "all-weights noise costs more accuracy at "
            "larger width (equal sigma), in every pair", terms, +1, gap, text, keys))
    decay = paper.value("fig11_sgd_peak_test_acc") - paper.value("fig11_test_acc", "none")
    s = PAPER_SIGMA["toy_cnn"]
    out["C5e"].append(Comparison(
        "C5e", f"toy_cnn s={s:g}", "SGD's test accuracy peaks then decays while the noisy "
        "run stays: (peak - final) of SGD exceeds that of layer-wise noise",
        (_term("toy_cnn", "none", 0.0, 1, PEAK, "SGD peak"),
         _term("toy_cnn", "none", 0.0, -1, ACC, "SGD final"),
         _term("toy_cnn", "layer", s, -1, PEAK, "layer peak"),
         _term("toy_cnn", "layer", s, 1, ACC, "layer final")), +1, decay,
        f"SGD peak - final {decay:+.2g} points; noisy runs stay", (
            "fig11_sgd_peak_test_acc", "fig11_test_acc")))
    blow = paper.value("fig4_wide_hessian_trace")
    out["C5f"].append(Comparison(
        "C5f", "mlp5_wide s=0.05", "all-weights noise blows up the wide MLP's Hessian trace",
        (_term("mlp5_wide", "all", 0.05, 1, TRACE), _term("mlp5_wide", "none", 0.0, -1, TRACE)),
        +1, blow["all"] - blow["none"], f"all - GD {blow['all'] - blow['none']:+.3g}",
        ("fig4_wide_hessian_trace",)))
    s = PAPER_SIGMA["fcnn"]
    for scheme in ("layer", "all"):
        out["C5g"].append(Comparison(
            "C5g", f"fcnn {scheme} s={s:g}", "noise damps the FCNN's Hessian trace below SGD's",
            (_term("fcnn", scheme, s, 1, TRACE), _term("fcnn", "none", 0.0, -1, TRACE)), -1,
            None, f"{scheme} trace damped towards zero, below SGD", ("fig12_hessian_trace",)))
    return out


def _trend(configs) -> Comparison:
    """C5c: least-squares slope of all-weights accuracy on log10 sigma over every sigma of the
    sweep, c_i = (x_i - mean x) / sum (x - mean x)^2; the paper's slope from Fig. 3."""
    sigmas = (configs[SIGMA_SWEEP]["sigmas"]["all"] if SIGMA_SWEEP in configs
              else paper.entry("fig3_all_test_acc")["at"])
    x = np.log10(sigmas)
    c = (x - x.mean()) / ((x - x.mean()) ** 2).sum() if len(x) > 1 else np.zeros(1)
    at = paper.entry("fig3_all_test_acc")["at"]
    px = np.log10(at)
    slope = float(np.polyfit(px, paper.value("fig3_all_test_acc"), 1)[0])
    return Comparison(
        "C5c", f"{SIGMA_SWEEP} all, sigmas {', '.join(f'{s:g}' for s in sigmas)}",
        "all-weights noise degrades as sigma grows (trend over every sigma)",
        tuple(_term(SIGMA_SWEEP, "all", s, float(ci)) for s, ci in zip(sigmas, c)), -1, slope,
        f"slope {slope:+.2f} points per decade of sigma (Fig. 3 window; not monotone)",
        ("fig3_all_test_acc",),
        not_applicable=None if len(x) > 1 else "one all-weights sigma: no trend")


def c6_comparisons(configs: dict) -> dict[str, list[Comparison]]:
    """C6a at the paper's best layer-wise sigma; C6b (no loss, margin = a fraction of the
    paper's best gain, config/verdicts.yaml) at every layer-wise sigma up to the paper's
    largest, applicable on the paper's data set only; C6c at the collapse sigma."""
    sgd = paper.value("fig6_sgd_test_acc")
    layer, allw = paper.entry("fig6_layer_test_acc"), paper.entry("fig6_all_test_acc")
    best = layer["at"][int(np.argmax(layer["value"]))]
    collapse = allw["at"][int(np.argmin(allw["value"]))]
    gain = max(layer["value"]) - sgd
    margin = constant("noninferiority_fraction") * gain
    keys = ("fig6_layer_test_acc", "fig6_sgd_test_acc")
    resnet = configs.get(RESNET)
    out = {"C6a": [Comparison(
        "C6a", f"{RESNET} s={best:g}", "layer-wise noise improves ResNet-18 test accuracy "
        "(about +0.3 points)", (_term(RESNET, "layer", best, 1), _term(RESNET, "none", 0, -1)),
        +1, gain, f"layer s={best:g} - SGD: {gain:+.2f} points", keys)], "C6b": []}
    sigmas = resnet["sigmas"]["layer"] if resnet else layer["at"]
    wrong_data = (resnet is not None and resnet.get("dataset") != PAPER_RESNET_DATA)
    for sigma in [s for s in sigmas if s <= max(layer["at"])]:
        value = paper.value("fig6_layer_test_acc", at=sigma)
        out["C6b"].append(Comparison(
            "C6b", f"{RESNET} s={sigma:g}", "layer-wise noise loses no accuracy against SGD "
            "for sigma up to about 1, at every sigma",
            (_term(RESNET, "layer", sigma, 1), _term(RESNET, "none", 0, -1)), +1,
            None if value is None else value - sgd,
            f"layer - SGD {_num(None if value is None else value - sgd)}; margin "
            f"{margin:.3g} = {constant('noninferiority_fraction'):g} x the paper's best gain "
            f"{gain:+.2f}", keys, margin=margin,
            not_applicable=(f"the margin is in points of CIFAR-10 accuracy; this scale trains "
                            f"on {resnet['dataset']}") if wrong_data else None))
    drop = paper.value("fig6_all_test_acc", at=collapse) - sgd
    trace = paper.value("fig6_hessian_trace")
    terms = (_term(RESNET, "all", collapse, 1), _term(RESNET, "none", 0, -1))
    out["C6c"] = [
        Comparison("C6c", f"{RESNET} s={collapse:g} accuracy", "all-weights noise breaks at "
                   "the paper's collapse sigma: accuracy below SGD and trace above", terms, -1,
                   drop, f"all - SGD {drop:+.2f} points", ("fig6_all_test_acc",
                                                            "fig6_sgd_test_acc")),
        Comparison("C6c", f"{RESNET} s={collapse:g} trace", "all-weights noise breaks at the "
                   "paper's collapse sigma: accuracy below SGD and trace above",
                   tuple((*t[:5], TRACE) for t in terms), +1, trace["all"] - trace["none"],
                   f"all - SGD trace {trace['all'] - trace['none']:+.3g}",
                   ("fig6_hessian_trace",)),
    ]
    return out


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
