"""The shipped evidence of the CPU scale (config/cpu.yaml): one complete run on real
FashionMNIST, kept in the repository under ``results-cpu/`` with its provenance, and the
README section "Results on real data (CPU)" generated from it.

``ship`` copies a finished run's records (run JSON + NPZ, summaries, claims tables, timings)
and figure PNGs from a work directory and writes ``PROVENANCE.json``: machine, dates, git
revision, library versions, wall time and how the run went. ``rebuild_network_tables`` redoes
the network summary and claims from the shipped run records with the workflow's own functions
(tests/test_shipped.py compares them with the shipped tables). ``readme_section`` puts the
paper's App. Fig. 7 numbers (config/paper_numbers.yaml) beside ours. Both read the
configuration the run used (``results-cpu/cpu.yaml``), not the checkout's config/cpu.yaml.

``rebuild_tables`` redoes every claims table of the run (finite, variance, networks and the
combined ``results/claims.csv``) from the shipped records with the functions the workflow's
rules call, so that a change of the verdict rules is carried into the shipped evidence by
``write`` (tests/test_shipped.py checks that the shipped tables are current).

    python -m noise_injection.workflow.shipped ship WORKDIR --wall-time-s S --note TEXT
    python -m noise_injection.workflow.shipped write   # tables + README section; `check`
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from noise_injection.claims import paper_numbers as paper
from noise_injection.claims.table import interval_text
from noise_injection.networks.experiments import configured, run_paths
from noise_injection.networks.summary import read_runs, seed_finals, summarize
from noise_injection.workflow.config import load_config_file, validate_config
from noise_injection.workflow.generated import sync_files
from noise_injection.workflow.results import library_versions, write_json

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "results-cpu"
CONFIG = "config/cpu.yaml"
#: What a shipped run keeps: records and tables under results/ (no checkpoints, no HTML) and
#: the figures as PNG.
KEEP = ("results/**/*.json", "results/**/*.npz", "results/**/*.csv", "figures/*.png")
README_MARKERS = ("<!-- cpu-results:start (generated from results-cpu/) -->",
                  "<!-- cpu-results:end -->")
#: The quantities of App. Fig. 7 the README table shows: (metric, registry key, format).
FIG7_ROWS = (("test_acc", "fig7_test_acc", "{:.1f} %"),
             ("train_loss", "fig7_train_loss", "{:.2g}"),
             ("hessian_trace", "fig7_hessian_trace", "{:.3g}"))
SCHEME_NAMES = {"none": "plain GD", "layer": "layer-wise noise", "all": "all-weights noise"}


def cpu_config(dest: Path = SHIPPED) -> dict:
    """The CPU scale's configuration as the shipped run used it (``dest/cpu.yaml``), with the
    schema's defaults filled in."""
    path = Path(dest) / "cpu.yaml"
    return validate_config(load_config_file(path), ROOT / "config" / "schema.yaml", str(path))


def machine() -> dict:
    """This machine: processor model, cores, memory and platform."""
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {"cpu": model, "cores": os.cpu_count(), "memory_gib": round(pages / 2**30, 1),
            "platform": platform.platform(), "python": platform.python_version()}


def ship(workdir: Path, dest: Path = SHIPPED, wall_time_s: float | None = None,
         note: str = "") -> dict:
    """Copy the finished CPU-scale run in ``workdir`` into ``dest`` (replacing what was
    there) and write ``dest/PROVENANCE.json``; returns the provenance. The git revision and
    versions are those the run records carry (they must agree across records)."""
    workdir = Path(workdir)
    if dest.exists():
        shutil.rmtree(dest)
    files = sorted({p for pattern in KEEP for p in workdir.glob(pattern)
                    if "checkpoints" not in p.parts})
    for path in files:
        target = dest / path.relative_to(workdir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    shutil.copy2(workdir / CONFIG, dest / "cpu.yaml")
    records = [json.loads(p.read_text()) for p in sorted((dest / "results").rglob("*.json"))]
    revisions = {r["provenance"]["git_revision"] for r in records if "provenance" in r}
    runs = [r for r in records if "data_source" in r]
    provenance = {
        "config": "cpu.yaml (config/cpu.yaml as run)",
        "git_revision": sorted(revisions),
        "versions": runs[0]["provenance"]["versions"] if runs else library_versions(),
        "machine": machine(),
        "shipped_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "wall_time_s": wall_time_s,
        "training_wall_time_s": sum(r["wall_time_total_s"] for r in runs),
        "data_source": runs[0]["data_source"] if runs else [],
        "files": len(files),
        "note": note,
    }
    write_json(dest / "PROVENANCE.json", provenance)
    return provenance


def _runs(dest: Path, name: str, config: dict) -> tuple[list[Path], list[Path]]:
    networks = config["networks"]
    return tuple([dest / p for p in run_paths(name, networks, suffix)]
                 for suffix in ("json", "npz"))


def rebuild_network_tables(dest: Path = SHIPPED) -> dict[str, pd.DataFrame]:
    """The network summaries and claims table rebuilt from the shipped run records with the
    functions the workflow's rules call (aggregate_network, network_claims)."""
    from noise_injection.claims.networks import network_claims

    config = cpu_config(dest)
    networks = config["networks"]
    tables, finals = {}, {}
    for name in configured(networks):
        runs_long = read_runs(*_runs(dest, name, config))
        tables[f"results/networks/{name}/summary.csv"] = summarize(runs_long)[1]
        finals[name] = tables[f"results/networks/{name}/finals.csv"] = seed_finals(runs_long)
    tables["results/networks/claims.csv"] = network_claims(
        finals, networks["experiments"], config["scale"], networks["n_seeds"])
    return tables


def rebuild_tables(dest: Path = SHIPPED) -> dict[str, pd.DataFrame]:
    """Every table of the shipped run that the verdict rules decide: the network tables of
    :func:`rebuild_network_tables`, the finite and variance stages' claims (rules
    finite_claims, variance_claims) and the combined claims table (rule claims_table)."""
    from noise_injection.claims.finite import claims_table as finite_claims
    from noise_injection.claims.table import combine_tables
    from noise_injection.claims.variance import claims_from_results
    from noise_injection.workflow.inputs import read_table

    config = cpu_config(dest)
    results = Path(dest) / "results"
    variance = config["variance"]
    tables = rebuild_network_tables(dest)
    tables["results/finite/claims.csv"] = finite_claims(
        read_table(results / "finite" / "summary.csv"), config["finite"], config["scale"])
    tables["results/variance/claims.csv"] = claims_from_results(
        results / "variance" / "heatmap.json", results / "variance" / "width" / "linear1.json",
        [results / "variance" / "dynamics" / f"width{w}.json"
         for w in variance["dynamics"]["widths"]],
        [results / "variance" / "stall" / f"width{w}.json" for w in variance["stall"]["widths"]],
        variance["width_sweep"], config["scale"])
    tables["results/claims.csv"] = combine_tables(
        [tables[f"results/{stage}/claims.csv"] for stage in ("finite", "variance", "networks")])
    return tables


def table_texts(dest: Path = SHIPPED) -> dict[Path, str]:
    """The rebuilt tables as the CSV text of their shipped files."""
    return {Path(dest) / relative: table.to_csv(index=False)
            for relative, table in rebuild_tables(dest).items()}


def _final(dest: Path) -> pd.DataFrame:
    return pd.read_csv(dest / "results" / "networks" / "mlp3_narrow" / "summary.csv")


def readme_section(dest: Path = SHIPPED) -> str:
    """The README section (markers included): what ran where, the paper's App. Fig. 7 numbers
    beside ours (mean and std over the seeds that finished), and the claim rows."""
    prov = json.loads((dest / "PROVENANCE.json").read_text())
    config = cpu_config(dest)
    experiment = config["networks"]["experiments"]["mlp3_narrow"]
    final = _final(dest)
    sigma = experiment["plot_sigma"]
    mach = prov["machine"]
    hours = (prov["wall_time_s"] or prov["training_wall_time_s"]) / 3600
    lines = [README_MARKERS[0], "",
             f"One complete run of `config/cpu.yaml` on this project's development machine "
             f"({mach['cpu']}, {mach['cores']} cores, {mach['memory_gib']} GiB; "
             f"{mach['platform']}), git revision "
             f"{', '.join(r[:7] for r in prov['git_revision'])}, torch "
             f"{prov['versions'].get('torch', '?')}, shipped {prov['shipped_utc'][:10]}: "
             f"{hours:.1f} h of wall time in all, {prov['training_wall_time_s'] / 3600:.1f} h "
             f"of it training the {len(list((dest / 'results/networks/mlp3_narrow').glob('*.json')))} "
             f"networks. Everything is in `results-cpu/` (run records with their data source "
             f"and precision, summaries, claims, figures, `PROVENANCE.json`); "
             f"`tests/test_shipped.py` rebuilds its summary and claims from the run records. "
             f"{prov['note']}".rstrip(), "",
             f"App. Fig. 7: MLP 784-500-500-500-10, {experiment['train_subset']} real "
             f"FashionMNIST training images, full-batch GD (momentum "
             f"{experiment['momentum']}, weight decay {experiment['weight_decay']}, lr "
             f"{experiment['lr']}, cosine), {experiment['epochs']:,} iterations, sigma "
             f"{sigma:g}, {config['networks']['n_seeds']} seeds; final values on the "
             f"10,000 test images (train loss and Hessian trace on the training subset).", "",
             "| quantity | scheme | paper (Fig. 7, read off the figure) | ours (mean +- std, "
             "runs ok/run) |", "| --- | --- | --- | --- |"]
    for metric, key, fmt in FIG7_ROWS:
        for scheme in ("none", "layer", "all"):
            row = final[(final.scheme == scheme) & (final.metric == metric)].iloc[0]
            values = paper.entry(key)["value"]
            cell = (fmt.format(values[scheme]) if values is not None else
                    "-" if scheme == "none" else paper.entry(key)["quantity"])
            lines.append(f"| {metric.replace('_', ' ')} | {SCHEME_NAMES[scheme]} | {cell} | "
                         f"{fmt.format(row['mean'])} +- {fmt.format(row['std'])} "
                         f"({int(row['n'])}/{int(row['n_runs'])}) |")
    claims = pd.read_csv(dest / "results" / "networks" / "claims.csv", dtype=str,
                         keep_default_na=False)
    ran = claims[(claims["level"] != "claim") & (claims["estimate"] != "")]
    rows = claims[claims["claim"].isin(ran["claim"]) & ((claims["level"] == "claim")
                                                         | (claims["estimate"] != ""))]
    lines += ["", "Verdicts of the network claims that this scale can test (the other claim "
              "lines read \"not run at this scale\"; all rows in "
              "`results-cpu/results/networks/claims.csv`; the rules: **Verdict rules** in this "
              "README). A claim line reads \"reproduced\" only when every setting it declares "
              "ran; here it says in how many of the settings run it reproduced and how many "
              "declared settings did not run:", "",
              "| claim | statement | row | paper | ours: estimate [interval] (level), test | "
              "power | magnitude | verdict |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for _, r in rows.iterrows():
        estimate = ("-" if r["estimate"] == "" else
                    f"{interval_text(r)} {r['estimate_unit']}, {r['test']}")
        cells = [r["claim"], r["statement"] if r["level"] == "claim" else "", r["row"],
                 r["paper"], estimate, power_text(r), r["magnitude"], f"**{r['verdict_text']}**"]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines += ["", "![App. Fig. 7 on real FashionMNIST, CPU scale]"
              "(results-cpu/figures/fig7_mlp3_narrow.png)", "", README_MARKERS[1]]
    return "\n".join(lines)


def power_text(row: pd.Series) -> str:
    """A row's power at the paper's effect, or why there is none."""
    if row["level"] == "claim":
        return ""
    return row["power"] or "unknown: the paper gives no number"


def readme_text(readme: Path = ROOT / "README.md", dest: Path = SHIPPED) -> str:
    """README.md with its generated CPU-results section replaced by :func:`readme_section`."""
    text = readme.read_text()
    start, end = (re.escape(m) for m in README_MARKERS)
    pattern = re.compile(f"{start}.*?{end}", re.S)
    if not pattern.search(text):
        raise ValueError(f"{readme} lacks the markers {README_MARKERS}")
    return pattern.sub(lambda _: readme_section(dest), text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    shipping = sub.add_parser("ship", help="copy a finished CPU-scale run into results-cpu/")
    shipping.add_argument("workdir", type=Path)
    shipping.add_argument("--wall-time-s", type=float, default=None)
    shipping.add_argument("--note", default="")
    sub.add_parser("write", help="rebuild the claims tables and the README section of "
                   "results-cpu/")
    sub.add_parser("check", help="exit 1 if a table or the README section is out of date")
    args = parser.parse_args(argv)
    if args.command == "ship":
        print(json.dumps(ship(args.workdir, wall_time_s=args.wall_time_s, note=args.note),
                         indent=2))
        return 0
    texts = table_texts()
    written = sync_files(texts, args.command == "write",
                         "python -m noise_injection.workflow.shipped write")
    # the README section reads the shipped claims: written after them
    return written | sync_files({ROOT / "README.md": readme_text()}, args.command == "write",
                                "python -m noise_injection.workflow.shipped write")


if __name__ == "__main__":
    sys.exit(main())
