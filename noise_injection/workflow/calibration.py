"""Calibration of the verdict rules: per-seed values simulated under known truths and passed
through the project's own functions (:func:`noise_injection.claims.seedrows.judge` for rows,
:func:`noise_injection.claims.verdicts.judge_lines` for claim lines, the declared comparisons
of :mod:`noise_injection.claims.networks` for whole tables), at the seed counts the configs
use. Each case returns the rates it measures, with their Monte-Carlo standard errors
sqrt(r (1 - r) / tables) and the target; tests/test_calibration.py checks each against its
target, and ``python -m noise_injection.workflow.calibration write`` records them in
:data:`RATES` (report/verdict_calibration.csv), which the report's "Verdict rules" page
prints, and writes the table-wide rates into the README (``check`` fails when either is
stale; tests/test_calibration.py checks both). Every draw comes from a fixed
seed, so a rerun gives the same numbers.

Simulation model: seed s of experiment e carries a shared component sqrt(rho) u_{e,s} (the
schemes of one experiment share each seed's initialization, subset and data order) plus an
independent sqrt(1 - rho) eps per setting; accuracies are that value (points), Hessian
traces exp of it (lognormal), the peak accuracy the final one plus a half-normal excess of
the same law in every setting. "No effect" means every setting has the same law.
"""

from __future__ import annotations

import argparse
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize

from noise_injection.base.intervals import LEVEL
from noise_injection.claims import networks, seedrows
from noise_injection.claims import verdicts as V
from noise_injection.workflow.config import load_config_file, validate_config
from noise_injection.workflow.generated import sync_files

ROOT = Path(__file__).resolve().parents[2]
RATES, README = ROOT / "report" / "verdict_calibration.csv", ROOT / "README.md"
README_MARKERS = ("<!-- generated:calibration-table-rates -->",
                  "<!-- /generated:calibration-table-rates -->")
COLUMNS = ("case", "what", "seeds", "tables", "rate", "mc_se", "target")
#: Simulated tables per case: the Monte-Carlo error of a rate near the one-sided level
#: (1 - LEVEL) / 2 is 0.11 points.
TABLES = 20_000
#: Tables per case for the whole-table simulations (every declared row of a scale) and for
#: the power interval of C5d's row (an integral per table).
TABLE_TABLES, ACROSS_TABLES = 4_000, 1_000
RHO = 0.5
#: A row's one-sided level: its false "reproduced" (and "opposite") rate with no effect.
TAIL = (1 - LEVEL) / 2
#: The scales whose whole claims table is simulated: name -> config file.
SCALES = {"quick": "config/config.yaml", "CPU": "config/cpu.yaml", "paper": "config/paper.yaml"}


def mc_se(rate: float, tables: int) -> float:
    """The binomial standard error of a rate measured over ``tables`` simulated tables."""
    return float(np.sqrt(rate * (1 - rate) / tables))


def _rate(case, what, seeds, tables, hits, target) -> dict:
    """A case's record from its hits (bool per table, or the rates of several variants of
    the case, of which the largest is kept)."""
    hits = [np.mean(h) for h in hits] if isinstance(hits, list) else [np.mean(hits)]
    rate = float(max(hits))
    return {"case": case, "what": what, "seeds": seeds, "tables": tables, "rate": rate,
            "mc_se": mc_se(rate, tables), "target": target}


def arms(rng, tables, n, spreads=(1.0, 1.0), means=(0.0, 0.0), rho=0.0):
    """Two settings of one experiment, shape (tables, 2, n): seed-shared component with
    correlation ``rho`` (unit scale), then scaled by each setting's spread and shifted."""
    shared = rng.normal(size=(tables, 1, n))
    own = rng.normal(size=(tables, 2, n))
    z = np.sqrt(rho) * shared + np.sqrt(1 - rho) * own
    return z * np.asarray(spreads)[:, None] + np.asarray(means)[:, None]


def _row(values, direction=+1, metric="test_acc", groups=("e", "e"), coefs=(1, -1)):
    return seedrows.judge(values, list(coefs), list(groups), direction,
                          [metric] * len(coefs))


# --- rows ------------------------------------------------------------------------------

def null_rows(n: int) -> list[dict]:
    """A paired row without divergence and no effect: false "reproduced" and "opposite"."""
    rng = np.random.default_rng(100 + n)
    row = _row(arms(rng, TABLES, n, rho=RHO))
    return [_rate(f"row null n={n}, {kind}", f"a paired row, no effect: false \"{kind}\"", n,
                  TABLES, row["verdict"] == kind, f"<= {TAIL:.1%}")
            for kind in (V.REPRODUCED, V.OPPOSITE)]


def diverged_rows(lost: int) -> list[dict]:
    """A row (layer - none, accuracy, paper +1) with ``lost`` of 3 seeds diverged in one arm,
    no effect among the finished runs, one arm's spread 3x the other's (either arm): false
    "reproduced" when the predicted-worse arm (none) loses runs, false "opposite" when the
    predicted-better arm (layer) does; the larger rate over which arm is spread."""
    out = []
    for arm, kind in ((1, V.REPRODUCED), (0, V.OPPOSITE)):
        rates = []
        for spread in ((3.0, 1.0), (1.0, 3.0)):
            rng = np.random.default_rng(200 + 10 * lost + arm + int(spread[0]))
            values = arms(rng, TABLES, 3, spreads=spread)
            values[:, arm, :lost] = np.nan
            rates.append(_row(values)["verdict"] == kind)
        who = "none (predicted worse)" if arm else "layer (predicted better)"
        out.append(_rate(f"diverged {lost} of 3, {kind}",
                         f"{lost} of 3 seeds of {who} diverged, one arm's spread 3x the "
                         f"other's, no effect: false \"{kind}\"", 3, TABLES, rates,
                         f"<= {TAIL:.1%}"))
    return out


def withheld_opposite_line() -> dict:
    """A single-row line whose predicted-worse arm lost 1 or 2 of 3 seeds (the diverged runs
    point with the paper, so "opposite" is withheld), no effect, the arms' spreads equal or
    one 3x the other: how often the line reads "opposite" (the largest rate)."""
    hits = []
    for lost in (1, 2):
        for k, spread in enumerate(((1.0, 1.0), (3.0, 1.0), (1.0, 3.0))):
            rng = np.random.default_rng(300 + 10 * lost + k)
            values = arms(rng, TABLES, 3, spreads=spread)
            values[:, 1, :lost] = np.nan
            row = _row(values)
            line = V.judge_lines([row["verdict"][:, None]], [row["p_opposite"][:, None]])[0][0]
            hits.append(line == V.OPPOSITE)
    return _rate("withheld opposite, line", "a single-row line whose row withheld "
                 "\"opposite\" (1 or 2 of 3 seeds of the predicted-worse arm diverged, spreads "
                 "equal or 3x), no effect: the line reads \"opposite\"", 3, TABLES, hits, "0")


def single_row_line() -> list[dict]:
    """A single-row line, no effect: the line's "opposite" against its row's."""
    rng = np.random.default_rng(310)
    row = _row(arms(rng, TABLES, 3, rho=RHO))
    line = V.judge_lines([row["verdict"][:, None]], [row["p_opposite"][:, None]])[0][0]
    return [_rate("single-row line, opposite", "a single-row line, no effect: the line reads "
                  "\"opposite\"", 3, TABLES, line == V.OPPOSITE, f"<= its row's {TAIL:.1%}"),
            _rate("single-row line, opposite without its row", "a single-row line reads "
                  "\"opposite\" while its only row does not", 3, TABLES,
                  (line == V.OPPOSITE) & (row["verdict"] != V.OPPOSITE), "0")]


def trace_rows(n: int) -> dict:
    """A Hessian-trace row (layer below none, paper -1) with equal geometric means (the null
    of "no ratio between the schemes"), the predicted-lower arm lognormal with cv 1
    (log-sd sqrt(ln 2)), the other with cv 0.1, a seed-shared log component of sd 0.3:
    false "reproduced"."""
    rng = np.random.default_rng(400 + n)
    sd = np.sqrt(np.log1p(np.array([1.0, 0.1]) ** 2))
    logs = 0.3 * rng.normal(size=(TABLES, 1, n)) + sd[:, None] * rng.normal(size=(TABLES, 2, n))
    row = _row(np.exp(logs), direction=-1, metric="hessian_trace")
    return _rate(f"trace lognormal n={n}", "a Hessian-trace row, equal geometric means, the "
                 "predicted-lower arm lognormal (cv 1), the other cv 0.1: false \"reproduced\"",
                 n, TABLES, row["verdict"] == V.REPRODUCED, f"<= {TAIL:.1%}")


def across_experiments() -> list[dict]:
    """C5d's row, (all - none) narrow - (all - none) wide, paper +1, no effect, seeds shared
    within each experiment (rho 0.5): false "reproduced" with equal spreads and with one of
    the four settings at 5x the spread (the largest rate over which one)."""
    out = []
    for label, scaled, rhos in (("equal spreads", [None], [RHO]),
                                ("one setting 5x", [0, 1, 2, 3], [0.0, RHO])):
        hits = []
        for rho in rhos:
            for which in scaled:
                spreads = np.ones(4)
                if which is not None:
                    spreads[which] = 5.0
                rng = np.random.default_rng(500 + 10 * (which or 0) + int(10 * rho))
                values = np.concatenate([arms(rng, TABLES, 3, spreads[:2], rho=rho),
                                         arms(rng, TABLES, 3, spreads[2:], rho=rho)], axis=1)
                row = _row(values, coefs=(1, -1, -1, 1),
                           groups=("narrow",) * 2 + ("wide",) * 2)
                hits.append(row["verdict"] == V.REPRODUCED)
        out.append(_rate(f"C5d across experiments, {label}", "C5d's row (all - none, narrow "
                         f"- wide; seeds shared within each experiment, rho "
                         f"{' or '.join(f'{r:g}' for r in rhos)}), no effect, {label}: false "
                         f"\"reproduced\" ({row['test']})", 3, TABLES, hits,
                         f"<= {TAIL:.1%}"))
    return out


# --- power ------------------------------------------------------------------------------

def power_cases(true_power: float = 0.3, n: int = 3) -> list[dict]:
    """The printed power of a paired row (effect and n fixed, the seed spread unknown) at a
    true power of ``true_power``: how often the printed estimate lies at or below the truth
    (1/2 for a median-unbiased estimate), how often its printed interval covers the truth,
    how often it reads 80 % or more, and its 10th / 50th / 90th percentiles; and the
    coverage of the printed interval for C5d's row across two experiments (true power 50 %,
    one experiment's spread twice the other's; fewer tables: its power is an integral)."""
    effect = 1.0
    sigma = optimize.brentq(lambda s: V.power(effect, [s], n) - true_power, 1e-3, 100)
    rng = np.random.default_rng(600)
    d = effect + sigma * rng.normal(size=(TABLES, n))
    printed = V.power_estimate(effect, d.std(-1, ddof=1)[:, None], np.full((TABLES, 1), n - 1),
                               n)
    est, low, high = printed["estimate"], printed["low"], printed["high"]
    q = np.percentile(est, [10, 50, 90])
    spread = f"printed 10th / 50th / 90th percentiles {q[0]:.0%} / {q[1]:.0%} / {q[2]:.0%}"
    ratio = np.array([1.0, 2.0])
    scale = optimize.brentq(lambda s: V.power(effect, s * ratio, n) - 0.5, 1e-3, 100)
    across = []
    for chunk in range(ACROSS_TABLES // 100):
        sd = scale * ratio * np.sqrt(rng.chisquare(n - 1, (100, 2)) / (n - 1))
        p = V.power_estimate(effect, sd, np.full((100, 2), n - 1), n)
        across.append((p["low"] <= 0.5) & (0.5 <= p["high"]))
    return [_rate("power, estimate at or below the truth", f"the printed power of a paired "
                  f"row at a true {true_power:.0%} (effect fixed, seed spread unknown) lies "
                  f"at or below the truth; {spread}", n, TABLES, est <= true_power,
                  "50 % (median-unbiased)"),
            _rate("power, interval covers the truth", "the printed 95 % interval of that "
                  "power covers the true power", n, TABLES, (low <= true_power)
                  & (true_power <= high), ">= 95 %"),
            _rate("power, printed >= 80 %", "the printed power reads 80 % or more at a true "
                  f"{true_power:.0%} (the spread of an estimate from {n} seeds; its interval "
                  "says so)", n, TABLES, est >= 0.8, "stated"),
            _rate("power across experiments, interval covers the truth", "C5d's row (two "
                  "experiments, spreads 1 : 2, true power 50 %): the printed 95 % interval "
                  "covers the true power", n, ACROSS_TABLES, np.concatenate(across),
                  ">= 95 %")]


# --- magnitude --------------------------------------------------------------------------

def magnitude_cases() -> list[dict]:
    """Rows whose true effect equals the paper's value (no reading error: the hardest case):
    how often the magnitude reads "below" or "above" the paper's, for a paired row and for
    C5d's row across experiments."""
    out = []
    rng = np.random.default_rng(700)
    paper = 1.0
    one = _row(arms(rng, TABLES, 3, means=(paper, 0.0), rho=RHO))
    two_values = np.concatenate([arms(rng, TABLES, 3, means=(paper, 0.0), rho=RHO),
                                 arms(rng, TABLES, 3, rho=RHO)], axis=1)
    two = _row(two_values, coefs=(1, -1, -1, 1), groups=("narrow",) * 2 + ("wide",) * 2)
    for label, row in (("a paired row", one), ("C5d's row", two)):
        words = V.magnitude(row["low"], row["high"], paper, paper, +1)
        for kind in ("below", "above"):
            out.append(_rate(f"magnitude {kind}, {label}", f"{label} whose true effect is "
                             f"the paper's value: magnitude reads \"{kind}\"", 3, TABLES,
                             words == kind, f"<= {TAIL:.1%}"))
    return out


# --- whole tables -------------------------------------------------------------------------

@cache
def scale_config(path: str) -> tuple[dict, int]:
    """(experiments, seeds) of a scale's network stage, validated with the schema."""
    config = validate_config(load_config_file(ROOT / path), ROOT / "config" / "schema.yaml",
                             path)
    return config["networks"]["experiments"], config["networks"]["n_seeds"]


def _configured(exp: dict, scheme: str, sigma: float) -> bool:
    return scheme == "none" or any(abs(s - sigma) < 1e-12 for s in exp["sigmas"][scheme])


def simulate_table(experiments: dict, n: int, tables: int, seed: int = 0) -> dict:
    """Line verdicts (claim -> array over tables) of the declared C5-C6 comparisons at a scale
    running ``experiments`` with ``n`` seeds, no effect anywhere."""
    rng = np.random.default_rng(seed)
    shared = {e: rng.normal(size=(tables, n)) for e in experiments}
    drawn = {}

    def setting(exp, scheme, sigma, metric):
        key = (exp, scheme, round(sigma, 12))
        if key not in drawn:
            z = np.sqrt(RHO) * shared[exp] + np.sqrt(1 - RHO) * rng.normal(size=(tables, n))
            drawn[key] = {"test_acc": z, "hessian_trace": np.exp(z),
                          "test_acc_peak": z + np.abs(rng.normal(size=(tables, n)))}
        return drawn[key][metric]

    families = {**networks.c5_comparisons(experiments), **networks.c6_comparisons(experiments)}
    verdicts, pvalues = [], []
    for comps in families.values():
        v, p = [], []
        for comp in comps:
            ran = all(e in experiments and _configured(experiments[e], s, sig)
                      for e, s, sig, *_ in comp.terms)
            if comp.not_applicable or not ran:
                v.append(np.full(tables, V.NOT_APPLICABLE if comp.not_applicable else V.NOT_RUN))
                p.append(np.full(tables, np.nan))
                continue
            values = np.stack([setting(e, s, sig, m) for e, s, sig, _, _, m in comp.terms], 1)
            row = seedrows.judge(values, [t[4] for t in comp.terms], [t[0] for t in comp.terms],
                                 comp.direction, [t[5] for t in comp.terms], comp.margin)
            v.append(row["verdict"])
            p.append(row["p_opposite"])
        verdicts.append(np.stack(v, -1))
        pvalues.append(np.stack(p, -1))
    return dict(zip(families, V.judge_lines(verdicts, pvalues)[0]))


def table_cases() -> list[dict]:
    """Per scale, with no effect anywhere: the rate of tables with at least one claim line
    "opposite", and with at least one line "reproduced" (C6b, a no-loss line that is true
    when nothing differs, left out)."""
    out = []
    for k, (scale, path) in enumerate(SCALES.items()):
        experiments, n = scale_config(path)
        lines = simulate_table(experiments, n, TABLE_TABLES, seed=800 + k)
        opposite = np.any([v == V.OPPOSITE for v in lines.values()], axis=0)
        reproduced = np.any([np.char.startswith(v.astype(str), V.REPRODUCED)
                             for c, v in lines.items() if c != "C6b"], axis=0)
        out += [_rate(f"table {scale}, opposite", f"{scale} scale ({path}), no effect "
                      "anywhere: at least one claim line reads \"opposite\"", n, TABLE_TABLES,
                      opposite, f"<= {V.TABLE_ALPHA:.0%} (table_alpha)"),
                _rate(f"table {scale}, reproduced", f"{scale} scale ({path}), no effect "
                      "anywhere: at least one claim line reads \"reproduced\" (C6b left out)",
                      n, TABLE_TABLES, reproduced, "stated")]
    return out


def all_cases() -> list[dict]:
    """Every case of the suite, in the order of the report's table."""
    return [*null_rows(3), *null_rows(5), *diverged_rows(1), *diverged_rows(2),
            withheld_opposite_line(), *single_row_line(), trace_rows(3), trace_rows(5),
            *across_experiments(), *power_cases(), *magnitude_cases(), *table_cases()]


def rates_table(cases: list[dict]) -> pd.DataFrame:
    """The record of the measured rates (columns :data:`COLUMNS`)."""
    return pd.DataFrame(cases, columns=list(COLUMNS))


def table_sentence(cases: list[dict]) -> str:
    """The README's statement of the table-wide rates, from the measured cases."""
    rate = {c["case"]: c for c in cases}
    parts = [f"{scale} scale: {rate[f'table {scale}, reproduced']['rate']:.1%} and "
             f"{rate[f'table {scale}, opposite']['rate']:.1%}" for scale in SCALES]
    tables = rate[f"table {next(iter(SCALES))}, opposite"]["tables"]
    return (f"with no effect anywhere, the rate of tables with at least one claim line "
            f"\"reproduced\" (C6b, true when nothing differs, left out) and with at least one "
            f"line \"opposite\", by simulation of every declared row at the configs' seeds "
            f"({tables:,} tables per scale; `report/verdict_calibration.csv`): "
            f"{'; '.join(parts)}")


def readme_text(cases: list[dict], readme: Path = README) -> str:
    """README.md with its table-wide rates (between :data:`README_MARKERS`) from ``cases``."""
    text = readme.read_text()
    start, end = README_MARKERS
    if start not in text or end not in text:
        raise ValueError(f"{readme} lacks the markers {README_MARKERS}")
    head, rest = text.split(start, 1)
    return head + start + table_sentence(cases) + end + rest.split(end, 1)[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("write", "check"))
    args = parser.parse_args(argv)
    cases = all_cases()
    return sync_files({RATES: rates_table(cases).to_csv(index=False, float_format="%.6g"),
                       README: readme_text(cases)}, args.command == "write",
                      "python -m noise_injection.workflow.calibration write")


if __name__ == "__main__":
    sys.exit(main())
