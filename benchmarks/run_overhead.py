"""Where the default run's CPU time goes: inside the run records (the computing part of each
job, as the job measured it) or outside them (starting Python, imports, Snakemake's own
scheduling, writing results, and the jobs that write no run record: aggregation, claims,
pages, the notebook). Figure jobs write one (``figures/<name>.json``: the drawing's CPU time).

For each revision given, the benchmark clones the checkout at that revision into a temporary
folder, runs the default DAG there (``snakemake --cores 2``, config/config.yaml, the quick
scale) and measures CPU time, user + system:

- total: every process of the run, Snakemake and all its descendants (the rusage that
  ``wait4`` returns for the Snakemake process, which includes every descendant it and its
  children waited for);
- Snakemake's own: the main process alone (psutil, sampled every half second until it exits;
  the last sample is at most half a second of CPU short);
- inside the records: the sum of ``cpu_time_s`` over every run record under results/ and
  figures/ (the CPU time of the job's computing part, ``noise_injection.base.results.Stopwatch``);
  a record without one counts with its ``wall_time_s`` and is reported. A revision whose
  figure jobs wrote no record (before they did) counts their drawing outside.

It prints, per revision, the share of CPU outside the records, (total - inside) / total,
writes benchmarks/run_overhead.json and rewrites the README's generated block from it.
CPU time, not wall time, because the measuring machine may be shared: other work stretches
a job's wall time much more than its CPU time (cache and memory contention still add some,
to inside and outside alike). With ``--parallel`` the revisions run at the same time (their
CPU times are still each run's own; their wall times are then not comparable).

    python benchmarks/run_overhead.py --revision before=abc1234 --revision after=HEAD
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from noise_injection.base.runlog import STARTUP, TOTAL  # noqa: E402
from noise_injection.workflow import gallery  # noqa: E402

RECORD = Path("benchmarks/run_overhead.json")


def records_cpu(clone: Path) -> dict:
    """CPU time inside the run records (JSON with provenance) under ``clone``/results and
    ``clone``/figures: their summed ``cpu_time_s`` (and the figure records' part of it), how
    many there are, and how many counted their wall time instead."""
    inside, figures, count, wall_only = 0.0, 0.0, 0, 0
    for folder in ("results", "figures"):
        for path in sorted((clone / folder).rglob("*.json")):
            record = json.loads(path.read_text())
            if not isinstance(record, dict) or "provenance" not in record:
                continue
            count += 1
            if "cpu_time_s" in record:
                cpu = float(record["cpu_time_s"])
            else:
                cpu = float(record["wall_time_s"])
                wall_only += 1
            inside += cpu
            figures += cpu if folder == "figures" else 0.0
    return {"inside_cpu_s": inside, "figure_records_cpu_s": figures, "records": count,
            "records_without_cpu_time": wall_only}


def logged_cpu(logs: Path) -> dict:
    """The start-up and whole-job CPU time the job logs under ``logs`` state (the lines of
    :mod:`noise_injection.base.runlog`), summed, with the number of jobs that logged them;
    zeros for a revision whose jobs do not log them."""
    startup = total = 0.0
    jobs = 0
    for path in sorted(logs.rglob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            for key in (STARTUP, TOTAL):
                if f" {key} " in line:
                    value = float(line.rsplit(key, 1)[1].split()[0])
                    if key == STARTUP:
                        startup, jobs = startup + value, jobs + 1
                    else:
                        total += value
    return {"startup_cpu_s": startup, "logged_job_cpu_s": total, "logged_jobs": jobs}


def own_cpu(pid: int, until: threading.Event, out: dict) -> None:
    """Sample the CPU time of process ``pid`` alone (children excluded) into ``out``."""
    try:
        process = psutil.Process(pid)
        while not until.is_set():
            times = process.cpu_times()
            out["snakemake_cpu_s"] = times.user + times.system
            time.sleep(0.5)
    except psutil.Error:
        pass


def measure(label: str, revision: str, cores: int, keep: Path | None = None) -> dict:
    """Clone ``revision`` (into ``keep``/``label`` if given, else a temporary folder), run
    its default DAG on ``cores`` cores, account its CPU time."""
    with tempfile.TemporaryDirectory() as tmp:
        clone = (keep or Path(tmp)) / label
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        subprocess.run(["git", "checkout", "--quiet", revision], cwd=clone, check=True)
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, check=True,
                             capture_output=True, text=True).stdout.strip()
        sampled, done = {"snakemake_cpu_s": 0.0}, threading.Event()
        start = time.monotonic()
        with open(clone / "snakemake.out", "w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "snakemake", "--cores", str(cores)], cwd=clone,
                env={**os.environ, "PYTHONPATH": str(clone)}, stdout=out,
                stderr=subprocess.STDOUT)
            sampler = threading.Thread(target=own_cpu, args=(process.pid, done, sampled))
            sampler.start()
            # this child's CPU with that of every descendant it waited for (Linux wait4)
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
        wall = time.monotonic() - start
        log = (clone / "snakemake.out").read_text()
        if process.returncode:
            raise RuntimeError(f"the default run of {revision} failed:\n{log[-3000:]}")
        total = usage.ru_utime + usage.ru_stime
        jobs = Counter(line.split("(Rule: ", 1)[1].rstrip(")")
                       for line in log.splitlines() if line.startswith("Finished jobid"))
        inside = records_cpu(clone)
        logged = logged_cpu(clone / "logs")
    return {"revision": sha, "date": date.today().isoformat(), "cores": cores,
            "wall_s": round(wall, 1), "total_cpu_s": round(total, 1),
            "snakemake_cpu_s": round(sampled["snakemake_cpu_s"], 1),
            "inside_cpu_s": round(inside["inside_cpu_s"], 1),
            "figure_records_cpu_s": round(inside["figure_records_cpu_s"], 1),
            "records": inside["records"],
            "records_without_cpu_time": inside["records_without_cpu_time"],
            "jobs": sum(jobs.values()), "jobs_by_rule": dict(sorted(jobs.items())),
            "outside_share": round(1 - inside["inside_cpu_s"] / total, 3),
            "startup_cpu_s": round(logged["startup_cpu_s"], 1),
            "logged_job_cpu_s": round(logged["logged_job_cpu_s"], 1),
            "logged_jobs": logged["logged_jobs"],
            "starting_share": (round((logged["startup_cpu_s"] + sampled["snakemake_cpu_s"])
                                     / total, 3) if logged["logged_jobs"] else None)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--revision", action="append", metavar="LABEL=REV",
                        help="a revision to measure, labelled (repeat; default after=HEAD)")
    parser.add_argument("--cores", type=int, default=gallery.CORES)
    parser.add_argument("--parallel", action="store_true",
                        help="run the revisions at the same time (CPU times stay each run's)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep each clone and its results in DIR/LABEL")
    parser.add_argument("--out", type=Path, default=ROOT / RECORD,
                        help="the record (default: the one the README is generated from)")
    args = parser.parse_args(argv)
    runs = dict(r.split("=", 1) for r in args.revision or ["after=HEAD"])
    results: dict[str, dict] = {}

    def one(label, revision):
        results[label] = measure(label, revision, args.cores, args.keep)
        r = results[label]
        print(f"{label} ({r['revision']}): total CPU {r['total_cpu_s']:.0f} s, inside the "
              f"{r['records']} run records {r['inside_cpu_s']:.0f} s, Snakemake itself "
              f"{r['snakemake_cpu_s']:.0f} s, {r['jobs']} jobs; outside / total = "
              f"{r['outside_share']:.3f}; start-up of {r['logged_jobs']} logged jobs "
              f"{r['startup_cpu_s']:.0f} s", flush=True)

    threads = [threading.Thread(target=one, args=item) for item in runs.items()]
    for thread in threads:
        thread.start()
        if not args.parallel:
            thread.join()
    for thread in threads:
        thread.join()
    if set(results) != set(runs):
        return 1
    args.out.write_text(json.dumps({"parallel": args.parallel,
                                    "runs": {k: results[k] for k in runs}}, indent=1) + "\n")
    if args.out.resolve() == (ROOT / RECORD).resolve():
        return gallery.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
