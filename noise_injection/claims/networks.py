"""Claims C5 and C6 of docs/paper.md section 5: one row per comparison declared before the run.

Input: per experiment, the summary table of :func:`noise_injection.networks.summary.summarize`
(columns scheme, sigma, metric, mean, std, n, n_runs, n_diverged over the ok runs;
accuracies in %). Each row is a contrast of seed means with a 95% Welch interval and the
shared verdicts of :mod:`noise_injection.claims.verdicts`; the paper's values come from the
registry (:mod:`noise_injection.claims.paper_numbers`). Sigma convention: layer-wise std;
all-weights noise uses sigma/sqrt(M).

Divergence is evidence (rule fixed here, before any result): a diverged run scores chance
accuracy (:data:`CHANCE_ACCURACY`) in accuracy rows; it has no Hessian trace, so trace rows
use the ok runs and show "diverged k/n", and a side left with fewer than 2 ok runs makes
the trace row inconclusive. Every row shows n ok / n run per setting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from noise_injection.claims import paper_numbers as paper
from noise_injection.claims.table import CLAIM_COLUMNS, claim_row
from noise_injection.claims.verdicts import (
    INCONCLUSIVE,
    NOT_RUN,
    OPPOSITE,
    REPRODUCED,
    all_rows_verdict,
    contrast,
    family_verdict,
    interval_verdict,
    noninferiority,
    one_sided_p,
    seeds_needed,
    with_diverged,
)

#: Experiments of claim C5 (MLPs on FashionMNIST, CNNs on CIFAR-10) and its width pairs.
C5_EXPERIMENTS = ("mlp3_narrow", "mlp3_wide", "mlp5_narrow", "mlp5_wide", "toy_cnn", "fcnn")
WIDTH_PAIRS = (("mlp3_narrow", "mlp3_wide"), ("mlp5_narrow", "mlp5_wide"))
SIGMA_SWEEP = "mlp3_wide"
RESNET = "resnet18"
ACCURACY, TRACE = "test_acc", "hessian_trace"
#: Test accuracy (%) a diverged run scores: chance level of the 10 classes of every data set.
CHANCE_ACCURACY = 100.0 / 10
INTERVAL = "95% Welch t interval of the difference of seed means"
HOLM = ("claim line: Holm over the rows' two-sided p-values at family-wise 5%: reproduced if "
        "it confirms the paper's direction in at least one row and the opposite in none, "
        "opposite if the reverse, else inconclusive")


class Missing(LookupError):
    """A setting the row needs was not run at this scale."""


@dataclass(frozen=True)
class Group:
    """Seed statistics of one setting for one metric, after the divergence rule."""

    mean: float
    std: float
    n: int
    n_ok: int
    n_run: int

    def counts(self, label: str) -> str:
        return f"{label} {self.n_ok}/{self.n_run}"


def group(summary: pd.DataFrame, scheme: str, sigma: float, metric: str) -> Group:
    """One setting's statistics; :class:`Missing` if it was not run."""
    rows = summary[(summary["scheme"] == scheme) & (summary["metric"] == metric)
                   & ((summary["sigma"] - sigma).abs() < 1e-12)]
    if rows.empty:
        raise Missing(f"{scheme} sigma={sigma:g} {metric}")
    row = rows.iloc[0]
    n_run, n_div = int(row["n_runs"]), int(row["n_diverged"])
    n_ok = n_run - n_div
    if metric == ACCURACY:
        mean, std, n = with_diverged(row["mean"], row["std"], n_ok, n_div, CHANCE_ACCURACY)
    else:
        mean, std, n = row["mean"], row["std"], n_ok
    return Group(float(mean), float(std), int(n), n_ok, n_run)


@dataclass(frozen=True)
class Comparison:
    """A declared comparison: sum of coef * setting over ``terms`` (experiment, scheme,
    sigma, label, coef), the paper's direction (+1 / -1) and its effect (None if not given)."""

    claim: str
    row: str
    statement: str
    metric: str
    terms: tuple
    direction: int
    paper_effect: float | None
    paper_text: str
    paper_source: str
    margin: float | None = None  # set: a "no loss" (non-inferiority) row
    missing: str | None = None  # set: why this scale cannot make the comparison


def _setting_text(comp: Comparison) -> str:
    parts = [f"{'+' if c > 0 else '-'} {label}" for _, _, _, label, c in comp.terms]
    return f"{comp.metric}: " + " ".join(parts).lstrip("+ ")


def _notes(comp: Comparison, groups: list[Group], se: float, verdict: str) -> list[str]:
    """What a reader needs beside the interval: seed stds, divergence, and for an
    inconclusive row the seeds per setting that would resolve the paper's effect (or, for a
    "no loss" row, the margin) with 80% power."""
    coefs, stds = [c for *_, c in comp.terms], [g.std for g in groups]
    notes = [f"seed std {', '.join(f'{s:.3g}' for s in stds)}"]
    if any(g.n_ok < g.n_run for g in groups):
        notes.append("diverged " + ", ".join(f"{g.n_run - g.n_ok}/{g.n_run}" for g in groups)
                     + (f" (scored {CHANCE_ACCURACY:g}%)" if comp.metric == ACCURACY
                        else " (no trace: ok runs only)"))
    if not np.isfinite(se):
        notes.append("no interval: a setting has fewer than 2 seeds")
    if verdict == INCONCLUSIVE and comp.margin is None:
        need = seeds_needed(comp.paper_effect, coefs, stds)
        notes.append("no paper effect size to resolve" if need is None else
                     f"seeds per setting to resolve the paper's {comp.paper_effect:+.3g} "
                     f"with 80% power: {need}")
    elif verdict == INCONCLUSIVE:
        need = seeds_needed(comp.margin, coefs, stds, level=0.9)
        notes.append(f"seeds per setting to show no loss beyond the margin at a true "
                     f"difference of 0 with 80% power: {need}")
    return notes


def judge(comp: Comparison, summaries: dict, scale: str) -> tuple[dict, float, float]:
    """The row of one comparison and its one-sided p-values (paper's direction, opposite)."""
    base = dict(setting=_setting_text(comp), paper=comp.paper_text,
                paper_source=comp.paper_source, scale=scale)
    criterion = (f"{INTERVAL}: reproduced if it excludes 0 in the paper's direction "
                 f"({'+' if comp.direction > 0 else '-'}), opposite if the other way")
    if comp.margin is not None:
        criterion = (f"no loss: 90% Welch interval (TOST, one side) of ours - reference; "
                     f"reproduced if its lower end > -{comp.margin:.2g} points (margin fixed "
                     "from the paper's spread), opposite if its upper end < -margin")
    try:
        if comp.missing:
            raise Missing(comp.missing)
        groups = [group(summaries[e], s, sig, comp.metric) for e, s, sig, _, _ in comp.terms]
    except (Missing, KeyError) as missing:
        row = claim_row(comp.claim, comp.row, comp.statement, NOT_RUN, criterion,
                        measured=f"missing setting: {missing}", **base)
        return row, np.nan, np.nan
    coefs = [c for *_, c in comp.terms]
    est = contrast(coefs, [g.mean for g in groups], [g.std for g in groups],
                   [g.n for g in groups])
    if comp.margin is None:
        low, high = est["low"], est["high"]
        verdict = str(interval_verdict(low, high, comp.direction))
        shift = 0.0
    else:
        tost = noninferiority(est["estimate"], est["se"], est["df"], comp.margin)
        low, high, verdict = tost["low"], tost["high"], str(tost["verdict"])
        shift = comp.margin
    p_paper = float(one_sided_p(est["estimate"], est["se"], est["df"], comp.direction, shift))
    p_opp = float(one_sided_p(est["estimate"], est["se"], est["df"], -comp.direction, shift))
    notes = _notes(comp, groups, est["se"], verdict)
    row = claim_row(comp.claim, comp.row, comp.statement, verdict, criterion,
                    estimate=est["estimate"], ci_low=low, ci_high=high,
                    n_ok="; ".join(g.counts(label) for g, (*_, label, _) in
                                   zip(groups, comp.terms)),
                    measured="; ".join(notes), **base)
    return row, p_paper, p_opp


def _acc_gap(key: str, scheme: str, reference: str = "none"):
    return paper.value(key, scheme) - paper.value(key, reference)


def _text(effect, unit: str = "points") -> str:
    return "no number given" if effect is None else f"{effect:+.3g} {unit}".rstrip()


def c5_comparisons(configs: dict) -> dict[str, list[Comparison]]:
    """The declared comparisons of C5a-C5d, from the experiments' sigmas (every layer-wise
    sigma of the sigma-sweep experiment, the plotted sigma elsewhere)."""
    out = {"C5a": [], "C5b": [], "C5c": [], "C5d": []}
    for name in C5_EXPERIMENTS:
        exp = configs[name]
        sigmas = exp["sigmas"]["layer"] if name == SIGMA_SWEEP else [exp["plot_sigma"]]
        for sigma in sigmas:
            terms = ((name, "layer", sigma, f"{name} layer s={sigma:g}", 1),
                     (name, "none", 0.0, f"{name} none", -1))
            if name == SIGMA_SWEEP:
                key = "mlp3_wide_sigma_layer_gain"
                gain = paper.value(key, at=sigma)
            else:
                key = f"{name}_test_acc"
                gain = _acc_gap(key, "layer")
            out["C5a"].append(Comparison(
                "C5a", f"{name} s={sigma:g}", "layer-wise noise improves final test accuracy "
                "over plain (S)GD", ACCURACY, terms, +1, gain,
                f"layer - GD {_text(gain)}", paper.source(key)))
            trace = (paper.value("mlp5_wide_hessian_trace", "layer")
                     - paper.value("mlp5_wide_hessian_trace", "none")
                     if name == "mlp5_wide" else None)
            out["C5b"].append(Comparison(
                "C5b", f"{name} s={sigma:g}", "layer-wise noise lowers the final Hessian "
                "trace compared with plain (S)GD", TRACE, terms, -1, trace,
                f"lower; layer - GD {_text(trace, '')}" if trace is not None else
                "lower (Figs. 7-12; no number given)",
                paper.source("mlp5_wide_hessian_trace")))
    exp = configs[SIGMA_SWEEP]
    low, high = min(exp["sigmas"]["all"]), max(exp["sigmas"]["all"])
    key = "mlp3_wide_sigma_all_test_acc"
    a, b = paper.value(key, at=low), paper.value(key, at=high)
    drop = None if a is None or b is None else a - b
    out["C5c"].append(Comparison(
        "C5c", f"{SIGMA_SWEEP} s={low:g} vs {high:g}", "all-weights noise degrades as sigma "
        "grows", ACCURACY,
        ((SIGMA_SWEEP, "all", low, f"all s={low:g}", 1),
         (SIGMA_SWEEP, "all", high, f"all s={high:g}", -1)), +1, drop,
        f"all s={low:g} - all s={high:g}: {_text(drop)}", paper.source(key),
        missing=None if low < high else f"one all-weights sigma only ({low:g})"))
    for narrow, wide in WIDTH_PAIRS:
        terms = []
        for name, sign in ((narrow, 1), (wide, -1)):
            sigma = configs[name]["plot_sigma"]
            terms += [(name, "all", sigma, f"{name} all s={sigma:g}", sign),
                      (name, "none", 0.0, f"{name} none", -sign)]
        gap = (_acc_gap(f"{narrow}_test_acc", "all") - _acc_gap(f"{wide}_test_acc", "all"))
        out["C5d"].append(Comparison(
            "C5d", f"{narrow} vs {wide}", "all-weights noise degrades as the width grows",
            ACCURACY, tuple(terms), +1, gap,
            f"(all - GD) narrow - wide: {_text(gap)}",
            paper.source(f"{wide}_test_acc")))
    return out


def c6_comparisons(config: dict) -> dict[str, list[Comparison]]:
    """C6a at the paper's best layer-wise sigma, C6b (no loss) at every layer-wise sigma up
    to the paper's largest, C6c at the sigma where the paper's all-weights noise collapses."""
    none = paper.value("resnet18_none_test_acc")
    layer, allw = paper.entry("resnet18_layer_test_acc"), paper.entry("resnet18_all_test_acc")
    best = layer["at"][int(np.argmax(layer["value"]))]
    collapse = allw["at"][int(np.argmin(allw["value"]))]
    margin = max(layer["value"]) - min(layer["value"])
    out = {"C6a": [Comparison(
        "C6a", f"{RESNET} s={best:g}", "layer-wise noise improves ResNet-18 test accuracy "
        "(about +0.3 points)", ACCURACY,
        ((RESNET, "layer", best, f"layer s={best:g}", 1), (RESNET, "none", 0.0, "SGD", -1)),
        +1, paper.value("resnet18_layer_test_acc", at=best) - none,
        f"layer s={best:g} - SGD: {paper.value('resnet18_layer_test_acc', at=best) - none:+.2f}"
        " points", paper.source("resnet18_layer_test_acc"))]}
    out["C6b"] = []
    for sigma in [s for s in config["sigmas"]["layer"] if s <= max(layer["at"])]:
        value = paper.value("resnet18_layer_test_acc", at=sigma)
        effect = None if value is None else value - none
        out["C6b"].append(Comparison(
            "C6b", f"{RESNET} s={sigma:g}", "layer-wise noise loses no accuracy against SGD "
            "for sigma up to about 1", ACCURACY,
            ((RESNET, "layer", sigma, f"layer s={sigma:g}", 1),
             (RESNET, "none", 0.0, "SGD", -1)), +1, effect,
            f"layer - SGD {_text(effect)}; margin {margin:.2f} = spread of the paper's "
            "layer-wise means", paper.source("resnet18_layer_test_acc"), margin=margin))
    terms = ((RESNET, "all", collapse, f"all s={collapse:g}", 1),
             (RESNET, "none", 0.0, "SGD", -1))
    drop = paper.value("resnet18_all_test_acc", at=collapse) - none
    rise = (paper.value("resnet18_hessian_trace", "all")
            - paper.value("resnet18_hessian_trace", "none"))
    out["C6c"] = [
        Comparison("C6c", f"{RESNET} s={collapse:g} accuracy", "all-weights noise breaks at "
                   "the paper's collapse sigma: accuracy falls below SGD", ACCURACY, terms, -1,
                   drop, f"all - SGD {drop:+.2f} points", paper.source("resnet18_all_test_acc")),
        Comparison("C6c", f"{RESNET} s={collapse:g} trace", "all-weights noise breaks: its "
                   "Hessian trace rises above SGD's", TRACE, terms, +1, rise,
                   f"all - SGD trace {rise:+.3g}", paper.source("resnet18_hessian_trace")),
    ]
    return out


def _claim_line(claim: str, rows: list[dict], verdict: str, rule: str, scale: str,
                extra: str = "") -> dict:
    counts = ", ".join(f"{v}: {sum(r['verdict'] == v for r in rows)}"
                       for v in (REPRODUCED, OPPOSITE, INCONCLUSIVE, NOT_RUN)
                       if any(r["verdict"] == v for r in rows))
    return claim_row(claim, "claim", rows[0]["statement"], verdict, rule, level="claim",
                     setting=f"{len(rows)} row(s)", measured=f"rows: {counts}{extra}",
                     paper="; ".join(dict.fromkeys(r["paper_source"] for r in rows)),
                     scale=scale)


def _family(claim, comps, summaries, scale, rule: str) -> list[dict]:
    judged = [judge(c, summaries, scale) for c in comps]
    rows = [r for r, _, _ in judged]
    p_paper = [p for _, p, _ in judged]
    p_opp = [p for _, _, p in judged]
    if all(r["verdict"] == NOT_RUN for r in rows):
        verdict, text, extra = NOT_RUN, "every setting missing", ""
    elif rule == "holm":
        verdict, confirmed, contradicted = family_verdict(p_paper, p_opp)
        verdict, text = str(verdict), HOLM
        extra = f"; Holm confirms {int(confirmed)}, contradicts {int(contradicted)}"
    elif rule == "all":
        verdict = all_rows_verdict([r["verdict"] for r in rows], p_opp)
        text, extra = ("claim line: reproduced if every row is (intersection-union), opposite "
                       "if Holm over the rows' one-sided p-values against the paper rejects "
                       "one at 5%, else inconclusive"), ""
    else:  # "primary": the first row decides, a contradicting supporting row withholds it
        verdict = rows[0]["verdict"]
        if verdict == REPRODUCED and any(r["verdict"] == OPPOSITE for r in rows[1:]):
            verdict = INCONCLUSIVE
        text, extra = ("claim line: the accuracy row's verdict; reproduced is withheld "
                       "(inconclusive) if the trace row reads opposite"), ""
    return [_claim_line(claim, rows, verdict, text, scale, extra), *rows]


RULES = {"C5a": "holm", "C5b": "holm", "C5c": "holm", "C5d": "holm", "C6a": "holm",
         "C6b": "all", "C6c": "primary"}


def network_claims(summaries: dict[str, pd.DataFrame], configs: dict[str, dict],
                   scale: str) -> pd.DataFrame:
    """The claims table (columns :data:`CLAIM_COLUMNS`) of C5 and C6 at ``scale``: per claim
    its claim-level line, then one row per declared comparison."""
    families = {**c5_comparisons(configs), **c6_comparisons(configs[RESNET])}
    rows = []
    for claim, comps in families.items():
        rows += _family(claim, comps, summaries, scale, RULES[claim])
    return pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))
