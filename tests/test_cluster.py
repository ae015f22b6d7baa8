"""The SLURM path end to end: the smoke networks stage through profiles/slurm on a one-node
SLURM cluster (tests/cluster/slurm.sh: Debian's slurm-wlm, one declared GPU).

Everything is proven from SLURM's own records (squeue --states=all, scontrol show job; the
cluster keeps finished jobs for MinJobAge = 3600 s), not from Snakemake's log. Without SLURM
(not root, slurm-wlm not installed, or the plugin missing) the test skips with the reason,
except under CI (CI=true), where it fails: CI must prove the cluster path.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SLURM_SH = ROOT / "tests" / "cluster" / "slurm.sh"
PROFILE = ROOT / "profiles" / "slurm"
#: The run cancelled halfway (scancel) and retried; long enough to be caught running.
CANCELLED = ("mlp3_narrow", "layer", "0.05", "0")
CANCEL_EPOCHS = 2000

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def unavailable(reason: str):
    """Skip locally, fail under CI."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"SLURM cluster test cannot run under CI: {reason}")
    pytest.skip(reason)


def slurm_alive() -> bool:
    if not os.environ.get("SLURM_CONF") or shutil.which("sinfo") is None:
        return False
    try:
        proc = subprocess.run(["sinfo", "--noheader", "--format=%T"], capture_output=True,
                              text=True, timeout=10)
    except subprocess.TimeoutExpired:
        return False
    return proc.returncode == 0 and proc.stdout.strip().startswith(("idle", "mixed", "alloc"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A running one-node cluster: the one SLURM_CONF names (started by .ci/run), or one
    started here and stopped afterwards."""
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        unavailable('the SLURM executor plugin is not installed: pip install -e ".[slurm]"')
    if slurm_alive():
        yield os.environ["SLURM_CONF"]
        return
    state = tmp_path_factory.mktemp("slurm")
    env = {**os.environ, "SLURM_TEST_DIR": str(state)}
    proc = subprocess.run(["bash", str(SLURM_SH), "start"], capture_output=True, text=True,
                          env=env)
    if proc.returncode != 0:
        unavailable(f"tests/cluster/slurm.sh start failed: {proc.stderr.strip()[-800:]}")
    os.environ["SLURM_CONF"] = str(state / "slurm.conf")
    try:
        yield os.environ["SLURM_CONF"]
    finally:
        subprocess.run(["bash", str(SLURM_SH), "stop"], env=env, check=False)
        del os.environ["SLURM_CONF"]


def cluster_config(path: Path) -> Path:
    """The smoke config with gpu: 1 (every training job asks SLURM for the GPU) and one
    experiment long enough, with checkpoints, to be cancelled halfway."""
    config = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    config["networks"]["gpu"] = 1
    experiment = config["networks"]["experiments"][CANCELLED[0]]
    experiment.update(arch_kwargs={"widths": [64, 64, 64]}, train_subset=0,
                      epochs=CANCEL_EPOCHS, checkpoint_every=CANCEL_EPOCHS // 40)
    path.write_text(yaml.safe_dump(config))
    return path


def slurm_jobs(first_id: int) -> dict[int, dict]:
    """id -> {state, comment, show} of every job from ``first_id`` on, from SLURM."""
    out = subprocess.run(["squeue", "--states=all", "--noheader", "--format=%i|%T|%k"],
                         capture_output=True, text=True, check=True).stdout
    jobs = {}
    for line in out.splitlines():
        job_id, state, comment = line.strip().split("|", 2)
        if int(job_id) >= first_id:
            jobs[int(job_id)] = {"state": state, "comment": comment}
    return jobs


def next_job_id() -> int:
    out = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True,
                         check=True).stdout
    ids = [int(j) for j in subprocess.run(["squeue", "--states=all", "--noheader",
                                           "--format=%i"], capture_output=True, text=True,
                                          check=True).stdout.split()]
    assert "MinJobAge" in out
    return max(ids, default=0) + 1


def checkpoint_epoch(path: Path) -> int:
    import torch

    try:
        return int(torch.load(path, weights_only=True)["epoch"])
    except (FileNotFoundError, RuntimeError, EOFError):
        return -1  # not there yet, or replaced while reading


def cancel_halfway(proc, workdir: Path, first_id: int, timeout: float = 600) -> int:
    """Wait until the CANCELLED run's checkpoint is at least half-way, then scancel its SLURM
    job; returns the cancelled job's id."""
    name, scheme, sigma, seed = CANCELLED
    checkpoint = (workdir / "results/networks/checkpoints" / name /
                  f"{scheme}_sigma{sigma}_seed{seed}.pt")
    deadline = time.monotonic() + timeout
    while checkpoint_epoch(checkpoint) < CANCEL_EPOCHS // 2:
        assert proc.poll() is None, "the workflow ended before the run could be cancelled"
        assert time.monotonic() < deadline, "the run never reached half-way"
        time.sleep(0.2)
    running = [i for i, job in slurm_jobs(first_id).items()
               if job["state"] == "RUNNING" and wildcards_match(job["comment"], CANCELLED)]
    assert len(running) == 1, slurm_jobs(first_id)
    subprocess.run(["scancel", str(running[0])], check=True)
    return running[0]


def wildcards_match(comment: str, run: tuple) -> bool:
    return comment == "rule_train_network_wildcards_" + "_".join(run)


@pytest.fixture(scope="module")
def cluster_run(cluster, tmp_path_factory):
    """The smoke networks stage through profiles/slurm, one training job scancel-ed halfway."""
    workdir = tmp_path_factory.mktemp("cluster_run")
    config = cluster_config(workdir / "cluster.yaml")
    status = subprocess.run([str(PROFILE / "status-command")], capture_output=True, text=True,
                            check=True).stdout.strip()
    first_id = next_job_id()
    start = time.monotonic()
    with open(workdir / "snakemake.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "snakemake", "networks", "--snakefile",
             str(ROOT / "Snakefile"), "--directory", str(workdir), "--workflow-profile",
             str(PROFILE), "--slurm-status-command", status,
             # first status check after 1 s (the plugin's default 40 s is for busy clusters)
             "--slurm-init-seconds-before-status-checks", "1", "--configfile", str(config)],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONHASHSEED": "0"})
        try:
            cancelled = cancel_halfway(proc, workdir, first_id)
            returncode = proc.wait(timeout=900)
        finally:
            if proc.poll() is None:
                proc.kill()
    print(f"cluster run: {time.monotonic() - start:.0f} s")
    assert returncode == 0, (workdir / "snakemake.log").read_text()[-5000:]
    return {"workdir": workdir, "config": config, "first_id": first_id,
            "cancelled": cancelled, "jobs": slurm_jobs(first_id), "status": status}


def test_status_command_matches_the_cluster(cluster_run):
    # the test cluster has no accounting database: the plugin recommends squeue
    assert cluster_run["status"] == "squeue"


def test_stage_completes(cluster_run):
    workdir = cluster_run["workdir"]
    assert (workdir / "results/networks/claims.csv").stat().st_size > 0
    assert len(list((workdir / "figures").glob("fig*.pdf"))) == 10


def test_every_training_job_went_through_sbatch_with_the_gpu(cluster_run):
    from noise_injection.networks.experiments import EXPERIMENTS, runs

    config = yaml.safe_load(cluster_run["config"].read_text())["networks"]
    expected = {(name, scheme, sigma, str(seed)) for name in EXPERIMENTS
                for scheme, sigma in runs(config["experiments"][name])
                for seed in range(config["n_seeds"])}
    completed = [job["comment"] for job in cluster_run["jobs"].values()
                 if job["state"] == "COMPLETED"]
    for run in expected:
        assert sum(wildcards_match(c, run) for c in completed) == 1, run
    for job_id, job in cluster_run["jobs"].items():
        assert job["comment"].startswith("rule_train_network_wildcards_"), job
        show = subprocess.run(["scontrol", "show", "job", str(job_id)], capture_output=True,
                              text=True, check=True).stdout
        assert "gres:gpu:1" in show, show


def test_aggregation_and_figures_ran_locally(cluster_run):
    comments = {job["comment"] for job in cluster_run["jobs"].values()}
    assert not any(c.startswith(("rule_aggregate", "rule_network_figure", "rule_network_claims"))
                   for c in comments)
    assert len(list((cluster_run["workdir"] / "results/networks").glob("*/summary.csv"))) == 7 + 2  # + the smoke sweep's widths 4, 8


def test_cancelled_job_is_retried_resumes_and_matches_an_uninterrupted_run(cluster_run,
                                                                          tmp_path):
    jobs = cluster_run["jobs"]
    assert jobs[cluster_run["cancelled"]]["state"] == "CANCELLED"
    same_run = [i for i, job in jobs.items() if wildcards_match(job["comment"], CANCELLED)]
    assert [jobs[i]["state"] for i in sorted(same_run)] == ["CANCELLED", "COMPLETED"]
    name, scheme, sigma, seed = CANCELLED
    stem = f"results/networks/{name}/{scheme}_sigma{sigma}_seed{seed}"
    log = (cluster_run["workdir"] / f"logs/networks/train/{name}/{stem.rsplit('/', 1)[1]}.log")
    resumed = [line for line in log.read_text().splitlines() if "resumed from" in line]
    assert len(resumed) == 1
    epoch = int(resumed[0].rsplit("at epoch ", 1)[1])
    assert CANCEL_EPOCHS // 2 <= epoch < CANCEL_EPOCHS
    # the same run, uninterrupted, through the same rule on this machine (no SLURM)
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", "--snakefile",
         str(ROOT / "Snakefile"), "--directory", str(tmp_path), f"{stem}.npz",
         "--configfile", str(cluster_run["config"])], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    resumed_arrays = np.load(cluster_run["workdir"] / f"{stem}.npz")
    plain_arrays = np.load(tmp_path / f"{stem}.npz")
    assert sorted(resumed_arrays.files) == sorted(plain_arrays.files)
    for key in plain_arrays.files:
        np.testing.assert_array_equal(resumed_arrays[key], plain_arrays[key], err_msg=key)


def test_preflight_reports_a_request_no_node_can_satisfy(cluster):
    """profiles/slurm/preflight.py asks sbatch --test-only: the smoke config fits this node;
    training jobs asking for one core more than the node has can never start."""
    def preflight(*args):
        return subprocess.run([sys.executable, str(PROFILE / "preflight.py"), "networks",
                               *args, "--configfile", str(ROOT / "config" / "smoke.yaml")],
                              capture_output=True, text=True, cwd=ROOT)

    fits = preflight()
    assert fits.returncode == 0, fits.stdout + fits.stderr
    cores = int(subprocess.run(["sinfo", "--noheader", "--format=%c"], capture_output=True,
                               text=True, check=True).stdout.split()[0])
    too_big = preflight("--set-threads", f"train_network={cores + 1}")
    assert too_big.returncode == 1, too_big.stdout + too_big.stderr
    failed = [line for line in too_big.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 1 and f"--cpus-per-task={cores + 1}" in failed[0], too_big.stdout
    assert "train_network" in failed[0]
