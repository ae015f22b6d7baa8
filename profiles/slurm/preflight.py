"""Ask SLURM, before submitting, whether every job of a run could ever be scheduled.

    python profiles/slurm/preflight.py --configfile config/paper.yaml [more snakemake args]

SLURM accepts a job that asks for more than any node of its partition has (cores, memory,
GPUs, time) and leaves it pending forever (reason PartitionConfig), which the SLURM plugin
does not report. This script runs ``snakemake -n`` with ``--workflow-profile profiles/slurm``
and the given arguments (targets before ``--configfile``), reads every job's threads and
resources from the dry run (the dry run does not mark localrules: their requests are checked
too, as if submitted), and asks ``sbatch --test-only`` about each distinct request with the options the plugin
submits (``--cpus-per-task`` = cpus_per_task or threads, ``--mem`` = mem_mb, ``-t`` = runtime
in minutes, ``--gpus`` = gpu, ``-p`` / ``-A`` when set). It prints one line per request and
exits 1, naming the rules and what to change, when SLURM says a request cannot be satisfied.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROFILE = Path(__file__).resolve().parent
JOB_HEADER = re.compile(r"^(?:local)?rule (\S+):$")


def dry_run_jobs(args: list[str]) -> list[dict]:
    """Rule, threads and resources of every job of ``snakemake -n``."""
    # a dry run caps threads at --cores (1 by default); submitted jobs are not capped
    cmd = [sys.executable, "-m", "snakemake", "-n", "--cores", str(2**31), "--snakefile",
           str(ROOT / "Snakefile"), "--workflow-profile", str(PROFILE), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"preflight: the dry run failed:\n{proc.stdout}\n{proc.stderr}")
    jobs, job = [], None  # dicts: rule, threads, resources
    for line in (proc.stdout + proc.stderr).splitlines():
        header = JOB_HEADER.match(line.strip())
        if header:
            job = {"rule": header.group(1), "threads": 1, "resources": {}}
            jobs.append(job)
        elif job is not None and line.startswith("    "):
            key, _, value = line.strip().partition(": ")
            if key == "threads":
                job["threads"] = int(value)
            elif key == "resources":
                job["resources"] = dict(item.split("=", 1) for item in value.split(", "))
    return jobs


def sbatch_options(job: dict) -> tuple[str, ...]:
    """The resource options the SLURM plugin would give ``sbatch`` for this job."""
    res = job["resources"]
    options = [f"--cpus-per-task={res.get('cpus_per_task') or job['threads']}"]
    for key, flag in (("mem_mb", "--mem"), ("runtime", "--time"), ("gpu", "--gpus"),
                      ("slurm_partition", "--partition"), ("slurm_account", "--account")):
        if res.get(key) not in (None, "", "0"):
            options.append(f"{flag}={res[key]}")
    return tuple(options)


def test_only(options: tuple[str, ...]) -> tuple[bool, str]:
    """``sbatch --test-only``: (schedulable, SLURM's answer)."""
    proc = subprocess.run(["sbatch", "--test-only", *options, "--wrap", "true"],
                          capture_output=True, text=True)
    answer = (proc.stdout + proc.stderr).strip().splitlines()
    answer = answer[-1] if answer else f"sbatch exited {proc.returncode}"
    return proc.returncode == 0 and "to start at" in answer, answer


def main(args: list[str]) -> int:
    requests: dict[tuple[str, ...], set[str]] = {}
    for job in dry_run_jobs(args):
        requests.setdefault(sbatch_options(job), set()).add(job["rule"])
    if not requests:
        print("preflight: nothing would be submitted")
        return 0
    failed = []
    for options, rules in sorted(requests.items()):
        ok, answer = test_only(options)
        print(f"{'ok  ' if ok else 'FAIL'} {' '.join(options)} ({', '.join(sorted(rules))}): "
              f"{answer}")
        if not ok:
            failed.append(options)
    if failed:
        print(f"preflight: {len(failed)} request(s) can never be scheduled here; lower the "
              "threads (set-threads in profiles/slurm/config.yaml), mem_mb / runtime "
              "(resources in the config) or choose another partition (slurm_partition); "
              "`sinfo -o '%P %c %m %G %l'` lists cores, memory, GPUs and time limits",
              file=sys.stderr)
        return 1
    print(f"preflight: all {len(requests)} distinct request(s) can be scheduled")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
