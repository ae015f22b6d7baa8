"""The README sections generated from the shipped CPU evidence (results-cpu/, written by
:mod:`noise_injection.workflow.shipped`): "Results on real data (CPU)" (App. Fig. 7: the paper
beside our run without weight decay and beside the variant at the script's weight decay, the
curve comparison, the network verdicts) and "Width sweep on real data (CPU)" (its figure,
onsets, fits against the predictions, claim rows W1-W4, the Fig. 3 prediction and its measured
time). Every number comes from a shipped file, the registry of the paper's numbers or the
configuration; a part not yet shipped says so and names the command that ships it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from noise_injection.base import paper_numbers as paper
from noise_injection.claims.table import interval_text
from noise_injection.base.intervals import LEVEL
from noise_injection.claims.width_sweep import FIG3_WIDTH
from noise_injection.networks.experiments import DATASET_SHAPES, swept
from noise_injection.workflow.shipped import (ROOT, SHIPPED, VARIANT, VARIANT_EXPERIMENT,
                                              cpu_config)

CPU_MARKERS = ("<!-- cpu-results:start (generated from results-cpu/) -->",
               "<!-- cpu-results:end -->")
SWEEP_MARKERS = ("<!-- width-sweep:start (generated from results-cpu/) -->",
                 "<!-- width-sweep:end -->")
SHIP = "python -m noise_injection.workflow.shipped ship WORKDIR --wall-time-s S --note TEXT"
#: The quantities of App. Fig. 7 the README table shows: (metric, registry key, format).
FIG7_ROWS = (("test_acc", "fig7_test_acc", "{:.1f} %"),
             ("train_loss", "fig7_train_loss", "{:.2g}"),
             ("hessian_trace", "fig7_hessian_trace", "{:.3g}"))
SCHEME_NAMES = {"none": "plain GD", "layer": "layer-wise noise", "all": "all-weights noise"}
NOT_SHIPPED = "not yet shipped"


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def fig7_weight_decay(folder: Path) -> float | None:
    """The weight decay App. Fig. 7's records in ``folder`` ran with (None: no records)."""
    runs = sorted((folder / "results" / "networks" / VARIANT_EXPERIMENT).glob("*_seed*.json"))
    return _json(runs[0])["config"]["weight_decay"] if runs else None


def main_run_shipped(dest: Path = SHIPPED) -> bool:
    """Whether results-cpu/ holds App. Fig. 7 at the scale's own weight decay (the run that
    replaces the one now kept as the variant)."""
    experiment = cpu_config()["networks"]["experiments"][VARIANT_EXPERIMENT]
    return fig7_weight_decay(dest) == experiment["weight_decay"]


def _revisions(prov: dict) -> str:
    trained = prov.get("training_revision") or prov.get("git_revision", [])
    text = f"trained at revision {', '.join(r[:7] for r in trained)}"
    if prov.get("derived_revision"):
        text += f", tables and figures derived at revision {prov['derived_revision'][:7]}"
    return text


def _versions(prov: dict) -> str:
    versions = prov["versions"]
    versions = versions[0] if isinstance(versions, list) else versions
    return f"torch {versions.get('torch', '?')}, numpy {versions.get('numpy', '?')}"


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h"


def run_paragraph(dest: Path = SHIPPED) -> str:
    """What ran where: machine, revisions, versions, wall times, the note."""
    prov = _json(dest / "PROVENANCE.json")
    mach = prov["machine"]
    training = prov["training_wall_time_s"]
    total = sum(training.values()) if isinstance(training, dict) else training
    wall = prov["wall_time_s"]
    return (f"The shipped run of `config/cpu.yaml` (`results-cpu/`, `PROVENANCE.json`): "
            f"{mach['cpu']}, {mach['cores']} cores, {mach['memory_gib']} GiB "
            f"({mach['platform']}); {_revisions(prov)}; {_versions(prov)}; shipped "
            f"{prov['shipped_utc'][:10]}; "
            + (f"{_hours(wall)} of wall time in all, " if wall else "")
            + f"{_hours(total)} of it training networks. `tests/test_shipped.py` rebuilds its "
            f"network tables and claims from the run records. {prov['note']}").rstrip()


def _cell(summary: pd.DataFrame | None, scheme: str, metric: str, fmt: str) -> str:
    if summary is None:
        return NOT_SHIPPED
    row = summary[(summary["scheme"] == scheme) & (summary["metric"] == metric)].iloc[0]
    return (f"{fmt.format(row['mean'])} +- {fmt.format(row['std'])} "
            f"({int(row['n'])}/{int(row['n_runs'])})")


def fig7_table(dest: Path = SHIPPED) -> list[str]:
    """The paper | ours at the scale's weight decay | ours at the script's, per quantity."""
    summary_path = Path("results") / "networks" / VARIANT_EXPERIMENT / "summary.csv"
    ours = _csv(dest / summary_path) if main_run_shipped(dest) else None
    variant = _csv(dest / VARIANT / summary_path)
    decay = cpu_config()["networks"]["experiments"][VARIANT_EXPERIMENT]["weight_decay"]
    lines = ["| quantity | scheme | paper (App. Fig. 7, read off the figure) | ours, weight "
             f"decay {decay:g} (mean +- std, runs ok/run) | ours, the authors' script's weight "
             f"decay {fig7_weight_decay(dest / VARIANT):g} (variant) |",
             "| --- | --- | --- | --- | --- |"]
    for metric, key, fmt in FIG7_ROWS:
        values = paper.entry(key)["value"]
        for scheme in ("none", "layer", "all"):
            cell = (fmt.format(values[scheme]) if values is not None else
                    "not comparable in level: a sum over an adaptive number of probes "
                    "(config/deviations.yaml hessian_mean_not_sum)")
            lines.append(f"| {metric.replace('_', ' ')} | {SCHEME_NAMES[scheme]} | {cell} | "
                         f"{_cell(ours, scheme, metric, fmt)} | "
                         f"{_cell(variant, scheme, metric, fmt)} |")
    return lines


def curve_table(dest: Path = SHIPPED) -> list[str]:
    """Per compared series: our run's verdict with the share of points within the criterion,
    the median difference with its interval over seeds, and the variant's share."""
    claims_path = Path("results") / "networks" / "curves" / "claims.csv"
    variant = _csv(dest / VARIANT / claims_path)
    ours = _csv(dest / claims_path) if main_run_shipped(dest) else None
    lines = ["| claim | series | ours: verdict (points within) | ours: median difference "
             f"[{LEVEL:.0%} interval over seeds], seed band | variant (the script's weight decay): "
             "verdict (points within) |", "| --- | --- | --- | --- | --- |"]
    for _, v in variant[variant["level"] == "comparison"].iterrows():
        if ours is None:
            mine, spread = NOT_SHIPPED, NOT_SHIPPED
        else:
            r = ours[(ours["claim"] == v["claim"]) & (ours["row"] == v["row"])].iloc[0]
            mine = f"**{r['verdict_text']}** ({r['n_ok']})"
            spread = f"{interval_text(r.fillna('')) or '-'} ({r['test']}); {r['measured']}"
        lines.append(f"| {v['claim']} | {SCHEME_NAMES[v['row']]} | {mine} | {spread} | "
                     f"{v['verdict']} ({v['n_ok']}) |")
    return lines


def verdict_rows(claims: pd.DataFrame) -> list[str]:
    """The claim lines and rows that this scale ran, as a Markdown table: each row's estimate
    with its interval and level, test, power at the paper's effect, magnitude and verdict."""
    ran = claims[(claims["level"] != "claim") & claims["estimate"].notna()]
    rows = claims[claims["claim"].isin(ran["claim"]) & ((claims["level"] == "claim")
                                                        | claims["estimate"].notna())]
    lines = ["| claim | statement | row | paper | ours: estimate [interval] (level), test | "
             "power at the paper's effect | magnitude | verdict |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for _, r in rows.iterrows():
        comparison = r["level"] != "claim"
        estimate = (" ".join(filter(None, [interval_text(r.fillna("")),
                                           _text(r, "estimate_unit")])) + f", {r['test']}"
                    if comparison else "-")
        cells = [r["claim"], "" if comparison else r["statement"], r["row"], _text(r, "paper"),
                 estimate, _text(r, "power") if comparison else "",
                 _text(r, "magnitude") if comparison else "", f"**{r['verdict_text']}**"]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return lines


def _text(row: pd.Series, column: str) -> str:
    value = row.get(column, "")
    return "" if pd.isna(value) else str(value)


def cpu_section(dest: Path = SHIPPED) -> str:
    """The generated part of "Results on real data (CPU)", markers included."""
    config = cpu_config()
    e = config["networks"]["experiments"][VARIANT_EXPERIMENT]
    shipped = main_run_shipped(dest)
    lines = [CPU_MARKERS[0], "", run_paragraph(dest) if shipped else (
             f"App. Fig. 7 at weight decay {e['weight_decay']:g} is {NOT_SHIPPED} (it ships with "
             f"`{SHIP}`); `results-cpu/` still holds the earlier run, whose App. Fig. 7 is the "
             f"variant below."), "",
             f"App. Fig. 7: MLP with hidden widths "
             f"{'-'.join(map(str, e['arch_kwargs']['widths']))}, {e['train_subset']} real "
             f"FashionMNIST training images, full-batch GD (momentum {e['momentum']}, lr "
             f"{e['lr']}, {e['schedule']}), {e['epochs']:,} iterations, sigma "
             f"{e['plot_sigma']:g}, {config['networks']['n_seeds']} seeds; final values on the "
             f"{DATASET_SHAPES['fashion_mnist'][2]:,} test images (train loss and Hessian trace "
             "on the training subset). Weight decay: none, as the appendix describes the FashionMNIST runs "
             "(config/deviations.yaml weight_decay_fashion_mnist); the variant is the earlier "
             f"run at the released script's weight decay (`results-cpu/{VARIANT}/`, its "
             "records unchanged, with their own `PROVENANCE.json`).", "", *fig7_table(dest),
             "", "The curves against the paper's digitized ones (`config/paper_digitized/`): "
             "the criterion (config/verdicts.yaml `curve_*`) was fixed before the weight-decay-0 "
             "run was looked at; every point in `results/networks/curves/comparison.csv`. "
             "Hessian traces are not compared (their level is not comparable).", "",
             *curve_table(dest)]
    if shipped:
        claims = pd.concat([_csv(dest / "results" / "networks" / "claims.csv"),
                            _csv(dest / "results" / "networks" / "curves" / "claims.csv")])
        lines += ["", "Verdicts of the network claims this scale tests (the other claim lines "
                  "read \"not run at this scale\"; all rows in "
                  "`results-cpu/results/networks/claims.csv`; the rules: **Verdict rules** in "
                  "this README):", "", *verdict_rows(claims), "",
                  "![App. Fig. 7 on real FashionMNIST, CPU scale]"
                  "(results-cpu/figures/fig7_mlp3_narrow.png)"]
    return "\n".join([*lines, "", CPU_MARKERS[1]])


def onset_table(summary: pd.DataFrame) -> list[str]:
    """Per width: each scheme's onset (geometric mean [t interval]; measured / seeds, and the
    censored ones as bounds)."""
    lines = [f"| width | layer-wise sigma* [{LEVEL:.0%} interval] | all-weights sigma* "
             f"[{LEVEL:.0%} interval] |",
             "| ---: | --- | --- |"]
    for width, group in summary.groupby("width"):
        cells = []
        for scheme in ("layer", "all"):
            r = group[group["scheme"] == scheme].iloc[0]
            value = ("-" if pd.isna(r["onset"]) else f"{r['onset']:.3g}" + (
                "" if pd.isna(r["ci_low"]) else f" [{r['ci_low']:.3g}, {r['ci_high']:.3g}]"))
            bounds = [f"{int(r[k])} {k[2:]} the grid" for k in ("n_below", "n_above") if r[k]]
            cells.append(f"{value} ({int(r['n_measured'])}/{int(r['n_seeds'])} measured"
                         + (f"; {', '.join(bounds)}" if bounds else "") + ")")
        lines.append(f"| {width} | {cells[0]} | {cells[1]} |")
    return lines


def fit_table(fits: pd.DataFrame, claims: pd.DataFrame) -> list[str]:
    """The measured slopes beside the predicted ones (from W3's rows)."""
    lines = [f"| fit | measured slope [{LEVEL:.0%} interval] (points) | predicted |", "| --- | --- | --- |"]
    w3 = claims[(claims["claim"] == "W3") & (claims["level"] == "comparison")]
    for _, f in fits.iterrows():
        slope = ("-" if pd.isna(f["slope"]) else f"{f['slope']:+.3g}" + (
            "" if pd.isna(f["ci_low"]) else f" [{f['ci_low']:+.3g}, {f['ci_high']:+.3g}]"))
        row = w3[w3["row"] == f["fit"]]
        predicted = (row["measured"].iloc[0].split("; the interval")[0] if len(row) else
                     "the difference of the schemes' slopes (W2)")
        lines.append(f"| {f['fit']} | {slope} ({int(f['n_points'])}) | {predicted} |")
    return lines


def fig3_table(prediction: pd.DataFrame) -> list[str]:
    lines = [f"| sigma | all-weights onset at width {FIG3_WIDTH:,} [{LEVEL:.0%} prediction "
             "interval] | "
             "predicted | the paper: drop of GD minus all-weights (points) | verdict |",
             "| ---: | --- | --- | --- | --- |"]
    for _, r in prediction.iterrows():
        onset = ("-" if pd.isna(r["onset"]) else f"{r['onset']:.3g}" + (
            "" if pd.isna(r["pi_low"]) else f" [{r['pi_low']:.3g}, {r['pi_high']:.3g}]"))
        drops = f"Fig. 3 {r['paper_fig3_drop']:+.2f}" + (
            "" if pd.isna(r["paper_fig8_drop"]) else
            f", App. Fig. 8 final {r['paper_fig8_drop']:+.2f}")
        lines.append(f"| {r['sigma']:g} | {onset} | {r['predicted']} | {r['paper']}: {drops} "
                     f"| **{r['verdict']}** |")
    return lines


def sweep_section(dest: Path = SHIPPED) -> str:
    """The generated part of "Width sweep on real data (CPU)", markers included."""
    config = cpu_config()
    networks = config["networks"]
    sweep = networks["width_sweep"]
    folder = dest / "results" / "networks" / "width_sweep"
    intro = (f"Widths {', '.join(map(str, sweep['widths']))}; {sweep['n_seeds']} seeds; "
             f"{sweep['epochs']:,} iterations; sigma {', '.join(map(str, sweep['sigmas']['layer']))}"
             " for both schemes (layer-wise std; all weights sigma/sqrt(M)).")
    if not (folder / "claims.csv").is_file():
        return "\n".join([SWEEP_MARKERS[0], "", intro, f"The sweep is {NOT_SHIPPED} (it ships "
                          f"with `{SHIP}`).", "", SWEEP_MARKERS[1]])
    prov = _json(dest / "PROVENANCE.json")
    names = swept(networks)
    seconds = sum(prov["training_wall_time_s"].get(n, 0.0) for n in names)
    runs = sum(1 for n in names for _ in (dest / "results" / "networks" / n).glob("*_seed*.json"))
    claims = _csv(folder / "claims.csv")
    lines = [SWEEP_MARKERS[0], "", intro + f" Measured: {runs} runs, {_hours(seconds)} of "
             f"training wall time summed over their run records ({_revisions(prov)}; "
             f"{prov['machine']['cpu']}, {prov['machine']['cores']} cores).", "",
             "![The width sweep on real FashionMNIST](results-cpu/figures/width_sweep.png)", "",
             "Onsets per width (`results-cpu/results/networks/width_sweep/onsets.csv` per seed):",
             "", *onset_table(_csv(folder / "onset_summary.csv")), "",
             "Slopes of log sigma* in log width against the predictions:", "",
             *fit_table(_csv(folder / "fits.csv"), claims), "",
             "Claim rows W1-W4 (declared in docs/width_sweep.md before the runs; all rows in "
             "`results-cpu/results/networks/width_sweep/claims.csv`):", "",
             *verdict_rows(claims), "", "Fig. 3 predicted out of sample (W4):", "",
             *fig3_table(_csv(folder / "fig3_prediction.csv")), "", SWEEP_MARKERS[1]]
    return "\n".join(lines)


def replace_between(text: str, markers: tuple[str, str], block: str, name: str) -> str:
    """``text`` with the block between ``markers`` (included) replaced by ``block``."""
    pattern = re.compile(f"{re.escape(markers[0])}.*?{re.escape(markers[1])}", re.S)
    if not pattern.search(text):
        raise ValueError(f"{name} lacks the markers {markers}")
    return pattern.sub(lambda _: block, text)


def readme_text(readme: Path = ROOT / "README.md", dest: Path = SHIPPED) -> str:
    """README.md with both generated sections replaced."""
    text = replace_between(readme.read_text(), CPU_MARKERS, cpu_section(dest), str(readme))
    return replace_between(text, SWEEP_MARKERS, sweep_section(dest), str(readme))
