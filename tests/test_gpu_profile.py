"""profiles/one-gpu: the paper's training jobs, as a dry run prints them (threads and
resources come from config/paper.yaml through rule train_network and the profile), and how many
of each experiment the profile lets run at once on one GPU, against profiles/default's one."""

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from noise_injection.workflow.config import validate_config

ROOT = Path(__file__).resolve().parents[1]
CORES = 16  # the CPU cores of a typical one-GPU node (the H200 machine of gpu_check: 16)

#: jobs of each paper experiment at once under profiles/one-gpu with --cores 16: the card's
#: 72000 MB over each job's declared gpu_mem_mb, capped by 16 cores / 1 thread per job
EXPECTED_AT_ONCE = {"mlp3_narrow": 16, "mlp3_wide": 16, "mlp5_narrow": 16, "mlp5_wide": 12,
                    "toy_cnn": 16, "fcnn": 16, "resnet18": 4,
                    # the width sweep: 3,500 MB each, 20 fit the card, the 16 cores cap them
                    **{f"width_sweep_w{w}": 16 for w in (125, 250, 500, 1000, 2000, 5000)}}


def training_jobs(profile: str, workdir: Path) -> list[dict]:
    """experiment, threads and resources of every train_network job of the paper's DAG."""
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--snakefile", str(ROOT / "Snakefile"),
         "--directory", str(workdir), "--configfile", str(ROOT / "config" / "paper.yaml"),
         "--workflow-profile", str(ROOT / "profiles" / profile), "--cores", str(CORES),
         "networks"],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    jobs = []
    for block in re.split(r"\n(?=rule |localrule )", proc.stdout + proc.stderr):
        if not block.startswith("rule train_network:"):
            continue
        threads = re.search(r"^\s+threads: (\d+)$", block, flags=re.M)
        resources = re.search(r"^\s+resources: (.*)$", block, flags=re.M).group(1)
        values = dict(item.split("=", 1) for item in resources.split(", "))
        jobs.append({
            "experiment": re.search(r"experiment=(\w+)", block).group(1),
            "threads": int(threads.group(1)) if threads else 1,  # printed only when > 1
            "gpu": int(values["gpu"]),
            "gpu_mem_mb": int(values["gpu_mem_mb"]),
        })
    return jobs


def at_once(jobs: list[dict], limits: dict) -> dict[str, int]:
    """Per experiment, how many of its (identical) jobs fit the limits together."""
    out = {}
    for job in jobs:
        fits = [CORES // job["threads"]]
        fits += [limits[name] // job[name] for name in ("gpu", "gpu_mem_mb") if name in limits]
        out[job["experiment"]] = min(fits)
    return out


@pytest.fixture(scope="module")
def paper_config() -> dict:
    return yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())


def test_one_gpu_profile_runs_several_paper_jobs_at_once_within_the_card(tmp_path,
                                                                          paper_config):
    profile = yaml.safe_load((ROOT / "profiles" / "one-gpu" / "config.yaml").read_text())
    limits = profile["resources"]
    assert "gpu" not in limits  # one card, shared: only its memory is counted
    jobs = training_jobs("one-gpu", tmp_path)
    experiments = validate_config(copy.deepcopy(paper_config),
                                  ROOT / "config" / "schema.yaml")["networks"]["experiments"]
    per_experiment = {name: sum(j["experiment"] == name for j in jobs) for name in experiments}
    # the paper's 120 runs and the width sweep's 6 widths x 13 settings x 3 seeds
    assert len(jobs) == 120 + 6 * 13 * 3 and min(per_experiment.values()) > 0
    for job in jobs:
        declared = experiments[job["experiment"]]["resources"]["gpu_mem_mb"]
        assert job["gpu_mem_mb"] == declared > 0  # from the config, through the rule
        assert job["gpu_mem_mb"] <= limits["gpu_mem_mb"]  # each job fits the card alone
        assert job["threads"] == 1 < paper_config["networks"]["threads"]  # the profile's
        assert job["gpu"] == 1
    assert at_once(jobs, limits) == EXPECTED_AT_ONCE


def test_default_profile_runs_one_gpu_job_at_a_time(tmp_path):
    profile = yaml.safe_load((ROOT / "profiles" / "default" / "config.yaml").read_text())
    jobs = training_jobs("default", tmp_path)
    assert set(at_once(jobs, profile["resources"]).values()) == {1}
