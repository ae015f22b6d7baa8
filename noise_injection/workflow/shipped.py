"""The shipped evidence of the CPU scale (config/cpu.yaml): one complete run on real
FashionMNIST, kept in the repository under ``results-cpu/`` with its provenance, the declared
weight-decay variant beside it (``results-cpu/authors-weight-decay/``), and the README sections
"Results on real data (CPU)" and "Width sweep on real data (CPU)" generated from them.

``ship`` takes a finished run's records (run JSON + NPZ) and tables from a work directory,
re-derives every network table, claims table and figure with this revision's rules (Snakemake
in a staging directory, training rules not allowed to run), and writes ``PROVENANCE.json``:
the revision the records were trained at and the one that derived the rest (both must be
clean), library versions, the numerics environment the records carry, machine, wall times
and data source. ``variant`` copies the earlier App. Fig. 7 run at the script's weight decay
(unchanged bytes) into the variant's folder with its own provenance. ``rebuild_tables`` redoes
the tables from the shipped records with the workflow's own functions (tests/test_shipped.py
compares them with the shipped ones, :func:`table_mismatches`): the network tables, the
finite and variance stages' claims and the combined claims table, from the configuration the run
used (``results-cpu/cpu.yaml``, which ``ship`` requires to be this checkout's config/cpu.yaml).

    python -m noise_injection.workflow.shipped ship WORKDIR --wall-time-s S --note TEXT
    python -m noise_injection.workflow.shipped variant SOURCE   # once: the wd 5e-4 records
    python -m noise_injection.workflow.shipped write            # README sections; `check`
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from noise_injection.networks.experiments import (compared_experiments, configured,
                                                  configured_figures, run_paths, sweep_epochs,
                                                  swept, trained)
from noise_injection.networks.summary import read_runs, seed_finals, summarize
from noise_injection.workflow.config import load_config_file, validate_config
from noise_injection.workflow.generated import sync_files
from noise_injection.base.results import (file_sha256, git_revision, library_versions,
                                          write_json)
from noise_injection.workflow.tolerances import table_differences, tolerance

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "results-cpu"
CONFIG = "config/cpu.yaml"
#: The declared variant (config/deviations.yaml weight_decay_fashion_mnist): App. Fig. 7 at
#: the released script's weight decay, kept beside the main run.
VARIANT = "authors-weight-decay"
VARIANT_OVERLAY = "config/variants/cpu_authors_weight_decay.yaml"
VARIANT_EXPERIMENT = "mlp3_narrow"
#: What a shipped run keeps: records and tables under results/ (no checkpoints, no HTML) and
#: the figures as PNG with their run records (what drew each, from which inputs).
KEEP = ("results/**/*.json", "results/**/*.npz", "results/**/*.csv", "figures/*.png",
        "figures/*.json", "data/finite/*.npz")
#: Rules that derive tables, claims and figures from the run records: ``ship`` reruns them
#: at its revision (besides every network figure rule), and nothing else.
DERIVING_RULES = ("aggregate_network", "network_claims", "curve_comparison",
                  "width_sweep_analysis", "width_sweep_figure", "finite_claims",
                  "variance_claims", "claims_table")
#: The figure rules of the other stages: rule -> (its figure, a result the run must have for it).
#: ``derive`` redraws each figure whose result the run has, in this checkout's style.
STAGE_FIGURES = {
    "finite_figure_lasso": ("lasso_path", "results/finite/lasso_pgd.npz"),
    "finite_figure_group": ("group_lasso_path", "results/finite/group_lasso_pgd.npz"),
    "finite_figure_nuclear": ("nuclear_norm", "results/finite/nuclear_pgd.npz"),
    "finite_figure_smoothing": ("smoothing_exactness", "results/finite/smoothing.csv"),
    "variance_fig1": ("fig1_variance_heatmap", "results/variance/heatmap.json"),
    "variance_fig2": ("fig2_linear_dynamics", "results/variance/calibration.json"),
    "variance_stall_figure": ("stall_onset", "results/variance/stall"),
    "variance_vs_width_figure": ("variance_vs_width", "results/variance/width"),
    "injector_figure": ("injector_check", "results/injector/check.json"),
}
NOT_RECORDED = "not recorded: the records' revision predates this entry of run records"


def cpu_config(root: Path = ROOT, config: str = CONFIG) -> dict:
    """The scale's config (``root/config``: config/cpu.yaml of a checkout, or cpu.yaml of a
    shipped folder) with this checkout's schema's defaults and the width sweep's experiments
    filled in."""
    path = Path(root) / config
    return validate_config(load_config_file(path), ROOT / "config" / "schema.yaml", str(path))


def machine() -> dict:
    """This machine: processor model, cores, memory and platform."""
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {"cpu": model, "cores": os.cpu_count(), "memory_gib": round(pages / 2**30, 1),
            "platform": platform.platform(), "python": platform.python_version()}


def clean(revision: str, what: str) -> str:
    """``revision`` if it names a commit with nothing uncommitted, else ValueError saying
    ``what`` it is the revision of."""
    if not re.fullmatch(r"[0-9a-f]{40}", revision):
        raise ValueError(f"{what} is at revision {revision!r}: shipped evidence needs a clean "
                         "commit (no '-dirty', not 'unknown'); commit or stash first")
    return revision


def records(folder: Path) -> list[tuple[Path, dict]]:
    """Every result record (JSON with provenance) under ``folder``/results, sorted."""
    out = []
    for path in sorted((folder / "results").rglob("*.json")):
        record = json.loads(path.read_text())
        if isinstance(record, dict) and "provenance" in record:
            out.append((path, record))
    return out


def record_provenance(found: list[tuple[Path, dict]]) -> dict:
    """What the records say about how they were computed: their revisions (each clean, else
    ValueError naming a file), the library versions and numerics environments (the distinct
    ones), the hosts, and the data source of the network runs."""
    for path, record in found:
        clean(record["provenance"]["git_revision"], f"the record {path}")
    runs = [r for _, r in found if "data_source" in r]
    distinct = lambda key: [json.loads(t) for t in sorted(  # noqa: E731
        {json.dumps(r["provenance"].get(key, NOT_RECORDED), sort_keys=True)
         for _, r in found})]
    return {"training_revision": sorted({r["provenance"]["git_revision"] for _, r in found}),
            "versions": distinct("versions"), "numerics": distinct("numerics"),
            "hosts": sorted({r["provenance"].get("host", "?") for _, r in found}),
            "data_source": runs[0]["data_source"] if runs else []}


def training_wall_time(found: list[tuple[Path, dict]], root: Path) -> dict[str, float]:
    """Summed wall time (s) of the network runs, per experiment folder."""
    out: dict[str, float] = {}
    for path, record in found:
        if "data_source" in record:
            name = path.parent.relative_to(root / "results" / "networks").as_posix()
            out[name] = out.get(name, 0.0) + float(record["wall_time_total_s"])
    return out


def _copy_kept(source: Path, dest: Path) -> list[str]:
    files = sorted({p for pattern in KEEP for p in source.glob(pattern)
                    if "checkpoints" not in p.parts})
    for path in files:
        target = dest / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return [p.relative_to(source).as_posix() for p in files]


def derive(stage: Path, config: str = CONFIG, cores: int = 2) -> None:
    """Rerun :data:`DERIVING_RULES`, the network figure rules and the other stages' figure rules
    (:data:`STAGE_FIGURES`) in ``stage`` (a copy of a run: records, tables, the finite stage's
    data, data flags) with this repository's Snakefile; no other rule may run, so
    a training job that would be needed stops it (RuntimeError with Snakemake's output)."""
    networks = cpu_config(ROOT, config)["networks"]
    figures = [f"network_figure_{name}" for name in configured_figures(networks)]
    present = {  # a rule this run has nothing for is left out (--forcerun would still run it)
        "curve_comparison": bool(compared_experiments(networks)),
        "width_sweep_analysis": bool(swept(networks)),
        "width_sweep_figure": bool(swept(networks)),
        "finite_claims": (stage / "results" / "finite" / "summary.csv").exists(),
        "variance_claims": (stage / "results" / "variance" / "heatmap.json").exists(),
        "claims_table": (stage / "results" / "claims.csv").exists(),
    }
    drawn = {rule: figure for rule, (figure, result) in STAGE_FIGURES.items()
             if (stage / result).exists()}
    rules = [*(r for r in DERIVING_RULES if present.get(r, True)), *figures, *drawn]
    targets = [*(f"results/networks/{e}/summary.csv" for e in trained(networks)),
               "results/networks/claims.csv", *(f"figures/{f}.png" for f in
                                                [*configured_figures(networks), *drawn.values()])]
    if compared_experiments(networks):
        targets.append("results/networks/curves/claims.csv")
    if swept(networks):
        targets += ["results/networks/width_sweep/claims.csv", "figures/width_sweep.png"]
    if (stage / "results" / "claims.csv").exists():
        targets.append("results/claims.csv")
    # the records must look older than nothing they were made from
    for flag in (stage / "data").glob("*.verified"):
        os.utime(flag, (0, 0))
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
               "--directory", str(stage), "--configfile", str(ROOT / config), "--cores",
               str(cores), "--rerun-triggers", "mtime", "--allowed-rules", *rules,
               "--forcerun", *rules, "--", *targets]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"deriving in {stage} failed (exit {proc.returncode}): "
                           f"{' '.join(command)}\n{(proc.stdout + proc.stderr)[-4000:]}")


def ship(workdir: Path, dest: Path = SHIPPED, config: str = CONFIG,
         wall_time_s: float | None = None, note: str = "", cores: int = 2) -> dict:
    """Ship the finished run in ``workdir`` into ``dest`` (its previous content replaced, the
    variant folder :data:`VARIANT` kept): records and tables copied, every derived file redone
    here (:func:`derive`), ``dest/PROVENANCE.json`` written; returns the provenance. Refused
    before anything is copied when this repository or a record is not at a clean commit, or
    when the run's config file differs from this repository's."""
    workdir = Path(workdir)
    derived_revision = clean(git_revision(ROOT), f"this repository ({ROOT})")
    found = records(workdir)
    if not found:
        raise ValueError(f"{workdir}: no result records under results/")
    from_records = record_provenance(found)
    if not (workdir / config).is_file() or (
            (workdir / config).read_text() != (ROOT / config).read_text()):
        raise ValueError(f"{workdir / config} is missing or differs from {ROOT / config}: "
                         "ship from a checkout whose config is the one that ran")
    with tempfile.TemporaryDirectory(prefix="ship-") as tmp:
        stage = Path(tmp)
        _copy_kept(workdir, stage)
        for flag in (workdir / "data").glob("*.verified"):
            (stage / "data").mkdir(exist_ok=True)
            shutil.copy2(flag, stage / "data" / flag.name)
        started = datetime.now(timezone.utc).timestamp() - 1.0  # coarse file clocks
        derive(stage, config, cores)
        derived = [p for p in _kept(stage) if (stage / p).stat().st_mtime >= started]
        for child in (list(dest.iterdir()) if dest.exists() else []):
            if child.name != VARIANT:
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        files = _copy_kept(stage, dest)
    shutil.copy2(ROOT / config, dest / Path(config).name)
    shipped_records = records(dest)
    provenance = {
        "config": f"{Path(config).name} ({config} as run)",
        **from_records,
        "derived_revision": derived_revision,
        "derived": derived,
        "machine": machine(),
        "shipped_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "wall_time_s": wall_time_s,
        "training_wall_time_s": training_wall_time(shipped_records, dest),
        "files": len(files),
        "note": note,
    }
    write_json(dest / "PROVENANCE.json", provenance)
    return provenance


def _kept(folder: Path) -> list[str]:
    return sorted({p.relative_to(folder).as_posix() for pattern in KEEP
                   for p in folder.glob(pattern)})


def ship_variant(source: Path, dest: Path = SHIPPED / VARIANT, note: str = "") -> dict:
    """The variant: the run records of App. Fig. 7 at the script's weight decay in ``source``
    (a folder of run JSON + NPZ) copied unchanged into ``dest``/results/networks/mlp3_narrow/,
    its tables (curves, summary, finals; the curve comparison with the paper) derived here
    from them, and ``dest/PROVENANCE.json`` (sha256 of every record) written. Refused when a
    record is not at a clean commit, this repository is not, or the records do not have the
    variant's weight decay."""
    derived_revision = clean(git_revision(ROOT), f"this repository ({ROOT})")
    overlay = load_config_file(ROOT / VARIANT_OVERLAY)["networks"]["experiments"]
    wanted = overlay[VARIANT_EXPERIMENT]["weight_decay"]
    folder = dest / "results" / "networks" / VARIANT_EXPERIMENT
    runs = sorted(Path(source).glob("*_seed*.json"))
    for path in runs:
        decay = json.loads(path.read_text())["config"]["weight_decay"]
        if decay != wanted:
            raise ValueError(f"{path}: weight decay {decay}, not the variant's {wanted} "
                             f"({VARIANT_OVERLAY})")
    folder.mkdir(parents=True, exist_ok=True)
    for path in runs:
        for suffix in (".json", ".npz"):
            shutil.copy2(path.with_suffix(suffix), folder / path.with_suffix(suffix).name)
    found = records(dest)
    from_records = record_provenance(found)
    tables = rebuild_variant_tables(dest)
    for relative, table in tables.items():
        (dest / relative).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(dest / relative, index=False)
    provenance = {
        "variant": f"App. Fig. 7 at the authors' released script's weight decay ({VARIANT_OVERLAY}; "
                   "config/deviations.yaml weight_decay_fashion_mnist)",
        "config": "config/cpu.yaml + " + VARIANT_OVERLAY,
        **from_records,
        "derived_revision": derived_revision,
        "derived": sorted(tables),
        "records_sha256": {p.relative_to(dest).as_posix(): file_sha256(p)
                           for p in sorted(folder.glob("*_seed*.*"))},
        "machine": machine(),
        "shipped_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "training_wall_time_s": training_wall_time(found, dest),
        "note": note,
    }
    write_json(dest / "PROVENANCE.json", provenance)
    return provenance


def _run_files(dest: Path, name: str, networks: dict) -> tuple[list[Path], list[Path]]:
    return tuple([dest / p for p in run_paths(name, networks, suffix)]
                 for suffix in ("json", "npz"))


def _aggregates(dest: Path, name: str, networks: dict) -> tuple[pd.DataFrame, dict]:
    runs_long = read_runs(*_run_files(dest, name, networks))
    curves, summary = summarize(runs_long)
    base = f"results/networks/{name}"
    return runs_long, {f"{base}/curves.csv": curves, f"{base}/summary.csv": summary,
                       f"{base}/finals.csv": seed_finals(runs_long)}


def rebuild_tables(dest: Path = SHIPPED, config: str = CONFIG) -> dict[str, pd.DataFrame]:
    """Every network table of the shipped run rebuilt from its run records with the
    functions the workflow's rules call: per trained experiment curves, summary and finals
    (aggregate_network), the network claims (network_claims), the curve comparison
    (curve_comparison), the width sweep's tables (width_sweep_analysis), the finite and
    variance stages' claims (finite_claims, variance_claims) and the combined claims table
    (claims_table), all with the configuration the run used (``dest/cpu.yaml``; this
    checkout's config/cpu.yaml for a folder without one)."""
    from noise_injection.base.constants import constant
    from noise_injection.claims.curves import curve_tables
    from noise_injection.claims.networks import network_claims
    from noise_injection.claims.width_sweep import sweep_tables
    from noise_injection.networks.sweep import predicted_slopes

    cfg = cpu_config(*((dest, Path(config).name) if (Path(dest) / Path(config).name).is_file()
                       else (ROOT, config)))
    networks = cfg["networks"]
    tables, runs, finals = {}, {}, {}
    for name in trained(networks):
        runs[name], aggregates = _aggregates(dest, name, networks)
        tables.update(aggregates)
        finals[name] = aggregates[f"results/networks/{name}/finals.csv"]
    tables["results/networks/claims.csv"] = network_claims(
        {n: finals[n] for n in configured(networks)}, networks["experiments"], cfg["scale"],
        networks["n_seeds"])
    compared = compared_experiments(networks)
    if compared:
        out = curve_tables({n: runs[n] for n in compared}, networks["experiments"],
                           cfg["scale"])
        tables.update({f"results/networks/curves/{k}.csv": v for k, v in out.items()})
    if swept(networks):
        out = sweep_tables({networks["experiments"][n]["sweep"]["width"]: finals[n]
                            for n in swept(networks)}, constant("sweep_acc_drop"),
                           predicted_slopes(), sweep_epochs(networks), cfg["scale"])
        tables.update({f"results/networks/width_sweep/{k}.csv": v for k, v in out.items()})
    tables.update(_stage_claims(dest, cfg, [tables[f] for f in NETWORK_CLAIMS if f in tables]))
    return tables


#: The network stage's claims tables, in the order rule claims_table reads them.
NETWORK_CLAIMS = ("results/networks/claims.csv", "results/networks/curves/claims.csv",
                  "results/networks/width_sweep/claims.csv")


def _stage_claims(dest: Path, cfg: dict, network: list[pd.DataFrame]) -> dict:
    """The finite and variance stages' claims rebuilt from their shipped results (rules
    finite_claims, variance_claims; a stage whose results were not shipped is left out) and
    the combined claims table (rule claims_table)."""
    from noise_injection.claims.finite import claims_table as finite_claims
    from noise_injection.claims.table import combine_tables
    from noise_injection.claims.variance import claims_from_results
    from noise_injection.base.inputs import read_table

    results = Path(dest) / "results"
    tables = {}
    if (results / "finite" / "summary.csv").is_file():
        tables["results/finite/claims.csv"] = finite_claims(
            read_table(results / "finite" / "summary.csv"), cfg["finite"], cfg["scale"])
    if (results / "variance" / "heatmap.json").is_file():
        variance = cfg["variance"]
        tables["results/variance/claims.csv"] = claims_from_results(
            results / "variance" / "heatmap.json", results / "variance" / "width" / "linear1.json",
            [results / "variance" / "dynamics" / f"width{w}.json"
             for w in variance["dynamics"]["widths"]],
            [results / "variance" / "stall" / f"width{w}.json"
             for w in variance["stall"]["widths"]],
            variance["width_sweep"], cfg["scale"])
    tables["results/claims.csv"] = combine_tables([*tables.values(), *network])
    return tables


def rebuild_variant_tables(dest: Path = SHIPPED / VARIANT) -> dict[str, pd.DataFrame]:
    """The variant's tables from its records: the aggregates of App. Fig. 7 and its curve
    comparison with the paper."""
    from noise_injection.claims.curves import curve_tables

    cfg = cpu_config()
    networks = cfg["networks"]
    runs_long, tables = _aggregates(dest, VARIANT_EXPERIMENT, networks)
    out = curve_tables({VARIANT_EXPERIMENT: runs_long}, networks["experiments"], cfg["scale"])
    tables.update({f"results/networks/curves/{k}.csv": v for k, v in out.items()})
    return tables


def table_mismatches(rebuilt: pd.DataFrame, path: Path) -> list[str]:
    """How a rebuilt table differs from the shipped CSV at ``path``: columns, row count, keys,
    counts and words exactly, numbers within the tolerance ``shipped_rebuild`` of
    config/tolerances.yaml (the shipping machine's vectorized sums may add in another order)."""
    return table_differences(pd.read_csv(path), rebuilt, tolerance("shipped_rebuild"),
                             label=str(path))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    shipping = sub.add_parser("ship", help="ship a finished CPU-scale run into results-cpu/")
    shipping.add_argument("workdir", type=Path)
    shipping.add_argument("--wall-time-s", type=float, default=None)
    shipping.add_argument("--note", default="")
    shipping.add_argument("--cores", type=int, default=2)
    variant = sub.add_parser("variant", help="copy the weight-decay variant's App. Fig. 7 "
                                             "records into results-cpu/" + VARIANT)
    variant.add_argument("source", type=Path)
    variant.add_argument("--note", default="")
    sub.add_parser("write", help="regenerate the README sections from results-cpu/")
    sub.add_parser("check", help="exit 1 if a README section is out of date")
    args = parser.parse_args(argv)
    if args.command == "ship":
        print(json.dumps(ship(args.workdir, wall_time_s=args.wall_time_s, note=args.note,
                              cores=args.cores), indent=2))
        return 0
    if args.command == "variant":
        print(json.dumps(ship_variant(args.source, note=args.note), indent=2))
        return 0
    from noise_injection.workflow.shipped_readme import readme_text

    return sync_files({ROOT / "README.md": readme_text()}, args.command == "write",
                      "python -m noise_injection.workflow.shipped write")


if __name__ == "__main__":
    sys.exit(main())
