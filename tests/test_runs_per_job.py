"""networks.runs_per_job: experiment (the quick scale) trains an experiment's runs one after
another in one process; each run's files must be bit-identical to those of the same run
trained in a process of its own (runs_per_job: run, the paper's design), and the DAG has one
training job per experiment instead of one per run."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from noise_injection.networks.experiments import run_list
from noise_injection.workflow.config import load_config_file, validate_config

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "config" / "schema.yaml"
#: Minibatch SGD on a CNN (data order, augmentation streams, oneDNN switched per run) after
#: runs of the other schemes in the same process.
EXPERIMENT = "toy_cnn"


def config_file(tmp_path, mode: str) -> Path:
    raw = load_config_file(ROOT / "config" / "smoke.yaml")
    raw["networks"]["runs_per_job"] = mode
    path = tmp_path / f"{mode}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def snakemake(config: Path, workdir: Path, *args) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", "--snakefile",
         str(ROOT / "Snakefile"), "--directory", str(workdir), *args,
         "--configfile", str(config)], capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": "0"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def training_jobs(out: str) -> dict[str, int]:
    stats = out.split("Job stats:")[1].split("total")[0]
    return {rule: int(n) for rule, n in re.findall(r"^(train_\w+)\s+(\d+)$", stats, re.M)}


def test_one_training_job_per_experiment(tmp_path):
    networks = validate_config(load_config_file(ROOT / "config" / "smoke.yaml"),
                               SCHEMA)["networks"]
    per_run = training_jobs(snakemake(config_file(tmp_path, "run"), tmp_path / "a", "-n"))
    batched = training_jobs(snakemake(config_file(tmp_path, "experiment"), tmp_path / "b",
                                      "-n"))
    assert per_run == {"train_network": sum(len(run_list(name, networks))
                                            for name in networks["experiments"])}
    assert batched == {f"train_{name}": 1 for name in networks["experiments"]}


@pytest.mark.slow
def test_a_run_trained_after_others_in_one_process_is_bit_identical(tmp_path):
    target = f"results/networks/{EXPERIMENT}/finals.csv"
    alone, batched = tmp_path / "alone", tmp_path / "batched"
    snakemake(config_file(tmp_path, "run"), alone, target)
    out = snakemake(config_file(tmp_path, "experiment"), batched, target)
    assert training_jobs(out) == {f"train_{EXPERIMENT}": 1}
    runs = sorted((alone / "results" / "networks" / EXPERIMENT).glob("*.npz"))
    assert len(runs) == 3  # plain SGD, layer-wise and all-weights noise, one seed
    for path in runs:
        a, b = np.load(path), np.load(batched / path.relative_to(alone))
        assert a.files == b.files
        for key in a.files:
            assert np.array_equal(a[key], b[key], equal_nan=True), (path.name, key)
        records = [json.loads(p.with_suffix(".json").read_text())
                   for p in (path, batched / path.relative_to(alone))]
        assert records[0]["final"] == records[1]["final"]
        assert all(r["cpu_time_s"] > 0 and r["wall_time_s"] > 0 for r in records)
