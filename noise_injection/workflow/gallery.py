"""The README's gallery and every README number that comes from a run, the DAG or a config.

``python -m noise_injection.workflow.gallery --run`` clones the checkout's HEAD into a
temporary folder, runs the default (quick) scale there on 2 cores and times it (the install
excluded), copies the figures' PNGs to ``docs/gallery/``, records the run in
``docs/gallery/run.json`` (wall and CPU time, jobs, the runs behind each figure, the claims'
verdicts, and the finite and variance numbers the README's stage paragraphs state:
noise_injection.workflow.quicknumbers) and rewrites the README. ``--numbers-from DIR`` records
only those numbers, from a finished default run in the clone DIR (its revision stated). Without ``--run`` it only rewrites the README's generated
fragments (``<!-- generated:NAME -->`` ... ``<!-- /generated:NAME -->``) from that record, the
DAG of both scales, the configs and the paper-shapes table; ``--check`` fails when they are
stale (tests/test_gallery.py runs it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pandas as pd

from noise_injection.networks.experiments import swept
from noise_injection.workflow.dag import Workflow, read_workflow
from noise_injection.workflow.generated import sync_files
from noise_injection.workflow.maps import (caption_title, claims_of, figure_names, named_target,
                                           paper_figure, upstream_files)
from noise_injection.workflow.quicknumbers import finite_text, record_numbers, variance_text
from noise_injection.workflow.timings import run_timings, wall_time_behind
from noise_injection.workflow.tolerances import fragile_verdicts, tolerances, travel

ROOT = Path(__file__).resolve().parents[2]
GALLERY = Path("docs/gallery")
RECORD = GALLERY / "run.json"
OVERHEAD = Path("benchmarks/run_overhead.json")  # benchmarks/run_overhead.py writes it
CORES = 2
QUICK, PAPER = "config/config.yaml", "config/paper.yaml"
COMMAND = "python -m noise_injection.workflow.gallery"


def claim_verdicts(results: Path) -> dict[str, dict]:
    """Per claim of ``results/claims.csv``: its claim-level verdict, its comparison rows and
    how many of them read "reproduced"."""
    table = pd.read_csv(results / "claims.csv", dtype=str, keep_default_na=False)
    out = {}
    for claim, rows in table.groupby("claim", sort=False):
        level = rows[rows["level"] == "claim"]
        comparisons = rows[rows["level"] == "comparison"]
        out[claim] = {"verdict": level["verdict"].iloc[0] if len(level) else "",
                      "rows": len(comparisons),
                      "reproduced": int((comparisons["verdict"] == "reproduced").sum())}
    return out


def record_run(clone: Path, wall_s: float, cpu_s: float) -> dict:
    """What the README states about a finished default run in ``clone``."""
    workflow = read_workflow(clone, QUICK)
    figures = {}
    for name in figure_names(workflow):
        job = workflow.jobs[workflow.producer(f"figures/{name}.pdf")]
        runs, seconds = wall_time_behind([clone / f for f in job.inputs])
        figures[name] = {"runs": runs, "seconds": round(seconds, 1)}
    stages = run_timings(clone / "results")
    stages["stage"] = stages["group"].str.split("/").str[0]
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone,
                              capture_output=True, text=True, check=True).stdout.strip()
    return {"wall_s": round(wall_s, 1), "cpu_s": round(cpu_s, 1), "cores": CORES,
            "jobs": len(workflow.jobs), "revision": revision, "date": date.today().isoformat(),
            "figures": figures,
            "stages": {s: {"runs": int(g["runs"].sum()),
                           "seconds": round(float(g["wall_time_s"].sum()), 1)}
                       for s, g in stages.groupby("stage")},
            "claims": claim_verdicts(clone / "results"), "numbers": record_numbers(clone)}


def run_default(root: Path = ROOT) -> dict:
    """Clone HEAD, time the default run on :data:`CORES` cores, copy the PNGs to the gallery
    and write the record; returns it."""
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "--quiet", str(root), str(clone)], check=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(CORES)], cwd=clone,
                       check=True, env={**os.environ, "PYTHONPATH": str(clone)})
        wall = time.monotonic() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        record = record_run(clone, wall, cpu)
        shutil.rmtree(root / GALLERY, ignore_errors=True)
        (root / GALLERY).mkdir(parents=True)
        for name in record["figures"]:
            shutil.copy(clone / "figures" / f"{name}.png", root / GALLERY / f"{name}.png")
    (root / RECORD).write_text(json.dumps(record, indent=1) + "\n")
    return record


def paper_shapes(readme: str) -> dict[str, tuple[int, float]]:
    """experiment -> (paper runs, GPU-hours estimate) from the README's paper-shapes table."""
    table = readme.split("<!-- paper-shapes-table -->", 1)[1].split("\n\n")[1]
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = (int(cells[-2]), float(cells[-1]))
    return rows


def runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def minutes(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s} s" if m else f"{s} s"


def paper_cost(workflow: Workflow, name: str, shapes: dict) -> str:
    """Runs, length and estimated GPU-hours of a network figure's experiments at the paper
    scale; CPU for the others."""
    from noise_injection.networks.experiments import FIGURES

    if name not in FIGURES:
        return "CPU"
    networks = workflow.config["networks"]
    parts = []
    for exp in FIGURES[name].experiments:
        e = networks["experiments"][exp]
        runs, hours = shapes[exp]
        unit = "epochs" if e["batch_size"] else "iterations"
        parts.append(f"{exp}: {runs} runs x {e['epochs']} {unit}, ~{hours:g} GPU-hours")
    return "; ".join(parts)


NOT_MEASURED = f"a time not yet measured for this revision (`{COMMAND} --run` measures it)"


def verdict_text(claims: list[str], verdicts: dict) -> str:
    texts = [f"{c} {verdicts[c]['verdict']} ({verdicts[c]['reproduced']} of {verdicts[c]['rows']} "
             f"rows reproduced)" for c in claims if c in verdicts]
    return "; ".join(texts) or "(feeds no claim)"


def gallery_table(quick: Workflow, paper: Workflow, record: dict | None, shapes: dict) -> str:
    lines = ["| figure | what it shows (report caption) | target | quick: runs, summed wall "
             "time | paper scale: runs, length, cost (estimate) | verdict (quick) |",
             "| --- | --- | --- | --- | --- | --- |"]
    def order(name):  # the paper's figures by number, then the others by name
        return paper_figure(name) is None, paper_figure(name) or 0, name

    for name in sorted(figure_names(quick), key=order):
        index = quick.producer(f"figures/{name}.pdf")
        claims = claims_of(upstream_files(quick, index))
        target = named_target(quick, name) or f"figures/{name}.pdf"
        measured, verdicts = "not measured", "not measured"
        if record and name in record["figures"]:  # a figure added since: not measured
            fig = record["figures"][name]
            measured = f"{runs(fig['runs'])}, {minutes(fig['seconds'])}"
            verdicts = verdict_text(claims, record["claims"])
        lines.append(f"| ![]({GALLERY}/{name}.png) | {caption_title(quick.root, name)} | "
                     f"`{target}` | {measured} | {paper_cost(paper, name, shapes)} | "
                     f"{verdicts} |")
    return "\n".join(lines)


def travel_table() -> str:
    """Each tolerance of config/tolerances.yaml with the travel benchmarks/travel.py measured
    for its numbers (config/travel.yaml), and the quick-scale verdicts that changed word."""
    measured = travel()
    lines = ["| tolerance | where it applies | rtol | atol | largest difference measured (abs., "
             "rel.) | why |", "| --- | --- | ---: | ---: | --- | --- |"]
    for name, tol in tolerances().items():
        m = measured.get("tolerances", {}).get(name)
        seen = f"{m['max_abs']:.2g}, {m['max_rel']:.2g}" if m else "not measured"
        lines.append(f"| `{name}` | {tol.stage} | {tol.rtol:g} | {tol.atol:g} | {seen} | "
                     f"{tol.why} |")
    if not measured:
        return ("\n" + "\n".join(lines) + "\n\nThe travel is **not measured yet**: "
                "`python benchmarks/travel.py --workdir DIR` measures it (docs/travel.md, "
                "config/travel.yaml). Until then no tolerance states how far a rerun of the "
                "quick scale may land from the numbers of this README, and which quick-scale "
                "verdicts change word on another machine (fragile) is not known.\n")
    words = "; ".join(f"{r['claim']} {r['row']} ({r['verdict']} here; "
                      + ", ".join(f"{v}: {w}" for v, w in r["seen"].items()) + ")"
                      for r in fragile_verdicts())
    source = (f"measured by `python benchmarks/travel.py` at revision "
              f"{str(measured['revision'])[:7]} on {measured['machine']} ({measured['scale']} "
              f"scale, variants: {', '.join(f'`{v}`' for v in measured['variants'])}; all "
              f"tables in docs/travel.md)")
    missing = measured.get("uncovered", [])
    bare = (f" Measured without a tolerance yet: {', '.join(f'`{f}`' for f in missing)}."
            if missing else "")
    return ("\n" + "\n".join(lines) + f"\n\nTravel {source}.{bare} Fragile quick-scale verdicts "
            f"(their word changed under another variant): {words or 'none'}"
            + ("; the quick scale's claims table (results/claims.csv, the claims page) says "
               "so in their verdict text" if words else "") + ".\n")


def overhead_table(overhead: dict | None) -> str:
    """The default run's CPU time inside and outside the run records, per measured revision
    (benchmarks/run_overhead.py)."""
    if not overhead:
        return ("\nNot measured for this revision (`python benchmarks/run_overhead.py` "
                "measures it).\n")
    lines = ["| run | revision, date | jobs | total CPU (s) | inside the run records (s) | "
             "of it, figure records (s) | Snakemake itself (s) | outside / total | "
             "jobs' start-up (s) | starting / total |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    without = []  # the share with the figure records' CPU counted outside
    for label, r in overhead["runs"].items():
        logged = bool(r.get("logged_jobs"))
        startup = (f"{r['startup_cpu_s']:.0f} ({r['logged_jobs']} jobs)" if logged
                   else "not logged")
        starting = f"{r['starting_share']:.2f}" if logged else "-"
        records = f"{r['records']} records" + (
            f", {r['records_without_cpu_time']} of them timed by wall clock"
            if r["records_without_cpu_time"] else "")
        figure_cpu = r.get("figure_records_cpu_s")
        figures = f"{figure_cpu:.0f}" if figure_cpu else "none written"
        if figure_cpu:
            without.append(f"{label} {1 - (r['inside_cpu_s'] - figure_cpu) / r['total_cpu_s']:.2f}")
        lines.append(f"| {label} | {r['revision']}, {r['date']} | {r['jobs']} | "
                     f"{r['total_cpu_s']:.0f} | {r['inside_cpu_s']:.0f} ({records}) | "
                     f"{figures} | {r['snakemake_cpu_s']:.0f} | **{r['outside_share']:.2f}** | "
                     f"{startup} | {starting} |")
    cores = {r["cores"] for r in overhead["runs"].values()}
    note = (f"`snakemake --cores {'/'.join(map(str, sorted(cores)))}`, "
            + ("the runs side by side" if overhead["parallel"] else "one run after the other")
            + "; a record timed by wall clock (older revisions) counts its wall time; a job's "
            "start-up is the CPU it spent before its first line of work (interpreter, "
            "Snakemake's preamble, imports), as its log states, and starting / total adds "
            "Snakemake's own CPU to it: the jobs without a run record (aggregation, claims, "
            "pages, the notebook; the figure jobs where they wrote none) spend the rest of "
            "the outside share working")
    if without:
        note += ("; outside / total with the figure records' CPU counted outside, as in a "
                 "revision whose figures wrote none: " + ", ".join(without))
    return "\n" + "\n".join(lines) + f"\n\n({note}.)\n"


def fragments(root: Path, readme: str, record: dict | None) -> dict[str, str]:
    """The text of each generated README fragment, by name (``record``: the measured default
    run, None where this revision has none)."""
    quick, paper = read_workflow(root, QUICK), read_workflow(root, PAPER)
    shapes = paper_shapes(readme)
    gpu_hours = sum(hours for _, hours in shapes.values())
    training = sum(job.rule.name == "train_network" for job in paper.jobs)
    sweep = swept(paper.config["networks"])
    swept_runs = sum(job.rule.name == "train_network" and job.wildcards["experiment"] in sweep
                     for job in paper.jobs)
    measured = {"default-run": NOT_MEASURED,
                "stage-times": f"The stages' run times: {NOT_MEASURED}."}
    if record:
        stages = ", ".join(f"`{s}` {minutes(v['seconds'])} ({runs(v['runs'])})"
                           for s, v in record["stages"].items())
        measured = {
            "default-run": (f"**{minutes(record['wall_s'])} on {record['cores']} CPU cores** "
                            f"({record['cpu_s']:.0f} s of CPU time, user + system; "
                            f"{record['jobs']} jobs; from a fresh clone of revision "
                            f"{record['revision']} on {record['date']}, the install excluded, "
                            f"measured by `{COMMAND} --run`)"),
            "stage-times": (f"Summed wall time of the runs of each stage in that run (from "
                            f"their result JSONs; Python start-up and scheduling come on "
                            f"top): {stages}."),
        }
    numbers = (record or {}).get("numbers")
    unmeasured = ("The quick scale's numbers: not yet recorded for this revision "
                  f"(`{COMMAND} --run`, or `--numbers-from DIR` for a finished default run "
                  "in the clone DIR).")
    return {
        **measured,
        "finite-quick": finite_text(numbers) if numbers else unmeasured,
        "variance-quick": variance_text(numbers) if numbers else unmeasured,
        "gallery": f"\n{gallery_table(quick, paper, record, shapes)}\n",  # a table starts a line
        "paper-jobs": (f"{len(paper.jobs)} jobs (a dry run's count), {training} of them GPU "
                       f"training runs ({swept_runs} of the width sweep, beyond the paper), about "
                       f"{gpu_hours:.0f} GPU-hours for the paper's experiments by the "
                       f"estimates of the paper-shapes table (the width sweep's not estimated)"),
        "paper-gpu-hours": (f"The paper's experiments: about {gpu_hours:.0f} GPU-hours (the "
                            f"width sweep's {swept_runs} runs not estimated)."),
        "travel": travel_table(),
        "run-overhead": overhead_table(json.loads((root / OVERHEAD).read_text())
                                       if (root / OVERHEAD).is_file() else None),
    }


def render(root: Path = ROOT) -> dict[Path, str]:
    """README.md with every generated fragment filled in from the record."""
    path = root / "README.md"
    readme = path.read_text()
    record = json.loads((root / RECORD).read_text()) if (root / RECORD).is_file() else None
    for name, text in fragments(root, readme, record).items():
        pattern = rf"(<!-- generated:{name} -->)(.*?)(<!-- /generated:{name} -->)"
        if not re.search(pattern, readme, flags=re.S):
            raise LookupError(f"README.md has no fragment {name!r}")
        readme = re.sub(pattern, lambda m: m.group(1) + text + m.group(3), readme, flags=re.S)
    return {path: readme}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="store_true",
                        help="time a default run from a fresh clone of HEAD, refresh the gallery")
    parser.add_argument("--numbers-from", type=Path, metavar="DIR",
                        help="record the stage paragraphs' numbers from a finished default run "
                             "in the clone DIR")
    parser.add_argument("--check", action="store_true",
                        help="fail (exit 1) when the README's generated fragments are stale")
    args = parser.parse_args(argv)
    if args.run:
        run_default()
    if args.numbers_from:
        record = json.loads((ROOT / RECORD).read_text())
        record["numbers"] = record_numbers(args.numbers_from)
        (ROOT / RECORD).write_text(json.dumps(record, indent=1) + "\n")
    return sync_files(render(), not args.check, COMMAND)


if __name__ == "__main__":
    sys.exit(main())
