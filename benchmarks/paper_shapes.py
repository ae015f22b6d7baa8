"""Paper-size shapes on a CPU in a few minutes: every network experiment of config/paper.yaml
(or another config) at full model size, through the workflow's own rule scripts.

For each experiment, in a fresh process (so that its peak memory is its own):

1. Synthetic data with the real data set's per-image shape and dtype (uint8 28x28 FashionMNIST,
   uint8 3x32x32 CIFAR-10, int labels 0..9), written in the real file formats (the four IDX
   ``.gz`` files; ``cifar-10-python.tar.gz`` with pickled batches), served over HTTP from
   127.0.0.1 and fetched by the rule ``download_dataset``'s script through the same download
   and SHA-256 path as the real files, with the hashes of the synthetic files in place of the
   pinned ones. Only the number of images is small (``--batch`` train and test images, 5 by
   default: the check is about shapes, and a ResNet-18 step on a CPU is seconds per image).
2. The rule ``train_network``'s script (scripts/networks/train.py, run in-process with the
   rule's wildcards, outputs and params) for scheme none, layer and all at the experiment's
   ``plot_sigma``: the full-size model from the config, two optimizer steps of ``--batch``
   images (two epochs of one step), the Hessian trace (one probe) at each evaluation, a
   checkpoint after every step. The "none" run is stopped after its first step and run again:
   it resumes from its checkpoint; every run writes its JSON and NPZ.

Everything else (architecture, widths, lr, momentum, augmentation, bf16 / channels_last on
CUDA, ...) is read from the config, so the check follows whatever config/paper.yaml says.
Per experiment it records the parameter count, M (parameter tensors), the FLOPs of one training
step per sample (torch's FlopCounterMode: matmuls and convolutions, forward + backward), the CPU
and wall seconds per step at ``--batch``, and the peak memory (CPU: the process's peak RSS,
which includes ~0.3 GB of Python and torch; CUDA: peak allocated during the steps).

Paper-scale cost (an ESTIMATE, not a measurement): FLOPs of a paper run = per-sample training
FLOPs x (samples per epoch x epochs) + evaluations (forward = 1/3 of a training step, on the
train and test sets at every evaluation epoch) + Hessian traces (a Hessian-vector product ~ 2
training steps, per probe and subset sample at every evaluation), summed over the config's
runs and seeds, divided by an assumed sustained GPU throughput (``--gpu-tflops``, default 15
TFLOP/s: an ASSUMPTION for one A100-class GPU on these small models, about 5 % of its bf16
peak; e.g. a CIFAR ResNet-18 epoch, ~165 TFLOP of training, in ~11 s). Data loading, Python
overhead and checkpointing are not counted, except that a step is assumed to take at least
2 ms (kernel launches and Python of a small model: the toy CNN is bound by this, not by its
FLOPs). No GPU was available to measure either assumption (run this with ``--device cuda``
on one to see measured seconds per step).

    python benchmarks/paper_shapes.py                       # config/paper.yaml, CPU
    python benchmarks/paper_shapes.py --config my.yaml --gpu-tflops 60
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import http.server
import io
import json
import math
import os
import pickle
import resource
import runpy
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from noise_injection.networks.experiments import (  # noqa: E402
    DATASET_SHAPES, EXPERIMENTS, run_stem, runs)
from noise_injection.workflow.config import validate_config  # noqa: E402

SCHEMES = ("none", "layer", "all")
DEFAULT_GPU_TFLOPS = 15.0
#: assumed least GPU time of one optimizer step of a small model (kernel launches, Python)
STEP_FLOOR_S = 2e-3
#: a Hessian-vector product (double backward) costs about two training steps per sample
HVP_STEPS = 2.0


def check_config(config_path: str | Path, batch: int, device: str, data_root: str) -> dict:
    """The config at ``config_path`` (validated, defaults filled) with only what makes the run
    short changed: one seed, the plot sigma per scheme, two epochs of one step of ``batch``
    images, three evaluations with a one-probe Hessian trace, a checkpoint every epoch."""
    config = validate_config(yaml.safe_load(Path(config_path).read_text()),
                             ROOT / "config" / "schema.yaml")
    networks = config["networks"]
    networks.update(n_seeds=1, device=device, data_root=data_root)
    for experiment in networks["experiments"].values():
        sigma = experiment["plot_sigma"]
        experiment.update(
            sigmas={"layer": [sigma], "all": [sigma]}, epochs=2, checkpoint_every=1,
            train_subset=batch if experiment["train_subset"] else 0,
            batch_size=batch if experiment["batch_size"] else 0,
            eval={"spacing": experiment["eval"]["spacing"], "points": 2},
            hessian={"probes": 1, "subset": batch, "batch_size": 0})
    return validate_config(config, ROOT / "config" / "schema.yaml")


# -- synthetic data in the real formats ------------------------------------------------------
def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes: 0, 0, type 0x08, ndim, big-endian int32 sizes, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">i4").tobytes()
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_fashion_mnist(folder: Path, n: int, rng: np.random.Generator) -> dict:
    """The four FashionMNIST ``.gz`` IDX files with ``n`` random images each; returns
    ``{key: (file name, sha256)}`` in the shape of ``data.FASHION_MNIST_FILES``."""
    from noise_injection.networks import data

    (_, h, w), *_ = DATASET_SHAPES["fashion_mnist"]  # the synthetic files keep the shapes
    arrays = {"train_images": rng.integers(0, 256, (n, h, w)),
              "train_labels": rng.integers(0, 10, n),
              "test_images": rng.integers(0, 256, (n, h, w)),
              "test_labels": rng.integers(0, 10, n)}
    files = {}
    for key, (file_name, _) in data.FASHION_MNIST_FILES.items():
        raw = gzip.compress(idx_bytes(arrays[key]), mtime=0)
        (folder / file_name).write_bytes(raw)
        files[key] = (file_name, hashlib.sha256(raw).hexdigest())
    return files


def write_cifar10(folder: Path, n: int, rng: np.random.Generator) -> tuple[str, str]:
    """``cifar-10-python.tar.gz`` with five training batches of n/5 images and a test batch
    of n (pickled dicts of b"data": uint8 N x 3072 and b"labels": list of int, protocol 2);
    returns (file name, sha256) in the shape of ``data.CIFAR10_ARCHIVE``."""
    from noise_injection.networks import data

    shape, *_ = DATASET_SHAPES["cifar10"]
    size = int(np.prod(shape))
    batches = {name: n // len(data.CIFAR10_TRAIN_BATCHES) for name in data.CIFAR10_TRAIN_BATCHES}
    batches[data.CIFAR10_TEST_BATCH] = n
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, count in batches.items():
            raw = pickle.dumps({b"data": rng.integers(0, 256, (count, size), dtype=np.uint8),
                                b"labels": [int(v) for v in rng.integers(0, 10, count)]},
                               protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
    file_name = data.CIFAR10_ARCHIVE[0]
    (folder / file_name).write_bytes(buffer.getvalue())
    return file_name, hashlib.sha256(buffer.getvalue()).hexdigest()


@contextmanager
def local_mirror(folder: Path, dataset: str, n: int, seed: int = 0):
    """Serve synthetic files of ``dataset`` from 127.0.0.1 and point the data module's URL and
    pinned hashes at them for the duration."""
    from noise_injection.networks import data

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    saved = {k: getattr(data, k) for k in ("FASHION_MNIST_URL", "FASHION_MNIST_FILES",
                                           "CIFAR10_URL", "CIFAR10_ARCHIVE")}
    handler = partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        if dataset == "fashion_mnist":
            data.FASHION_MNIST_FILES = write_fashion_mnist(folder, n, rng)
            data.FASHION_MNIST_URL = url
        elif dataset == "cifar10":
            data.CIFAR10_ARCHIVE = write_cifar10(folder, n, rng)
            data.CIFAR10_URL = url
        yield url
    finally:
        server.shutdown()
        for key, value in saved.items():
            setattr(data, key, value)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


# -- the rule scripts, in-process --------------------------------------------------------------
def run_rule_script(script: str, config: dict, log: str, threads: int = 1, **job) -> None:
    """Run scripts/networks/<script> as its rule would: a ``snakemake`` object with the job's
    config, wildcards, output, params, log and threads (paths relative to the current
    folder, the workflow's working directory). stderr is restored afterwards (the script
    sends it to its log)."""
    from snakemake.iocontainers import Namedlist

    snakemake = SimpleNamespace(
        config=config, log=[log], threads=threads,
        **{k: Namedlist(fromdict=v) for k, v in job.items()})
    for path in [log, *job.get("output", {}).values()]:  # as Snakemake does before a job
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    stderr = sys.stderr
    try:
        runpy.run_path(str(ROOT / "scripts" / "networks" / script),
                       init_globals={"snakemake": snakemake}, run_name="__main__")
    finally:
        sys.stderr = stderr


def train_job(name: str, scheme: str, sigma: str, seed: int = 0) -> dict:
    """Wildcards, outputs and params of rule train_network for one run (rules/networks.smk)."""
    stem = run_stem(scheme, sigma, seed)
    return {"wildcards": {"experiment": name, "scheme": scheme, "sigma": sigma,
                          "seed": str(seed)},
            "output": {"json": f"results/networks/{name}/{stem}.json",
                       "npz": f"results/networks/{name}/{stem}.npz"},
            "params": {"checkpoint": f"results/networks/checkpoints/{name}/{stem}.pt"},
            "log": f"logs/networks/train/{name}/{stem}.log"}


class StopAfterFirstStep(Exception):
    """Raised at the start of the second epoch of an interrupted run (after its checkpoint)."""


@contextmanager
def measured_steps(device: str, stop_after_first: bool):
    """Time every training epoch (one step here), count the FLOPs of the first, track peak
    CUDA memory, and optionally stop the run before its second step."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from noise_injection.networks.train import Trainer

    original = Trainer.train_epoch
    stats = {"cpu_s": [], "wall_s": [], "flops": None, "cuda_peak_bytes": 0, "params": 0,
             "input_shape": None}

    def train_epoch(self):
        if stop_after_first and self.epoch == 1:
            raise StopAfterFirstStep
        sync = torch.cuda.synchronize if self.cuda else (lambda: None)
        if self.cuda:
            torch.cuda.reset_peak_memory_stats()
        if stats["flops"] is None:
            stats["params"] = sum(p.numel() for p in self.model.parameters())
            stats["input_shape"] = list(self.data.in_shape)  # as loaded from the files
            with FlopCounterMode(display=False) as counter:
                finite = original(self)
            stats["flops"] = counter.get_total_flops()
            return finite
        sync()
        cpu, wall = time.process_time(), time.perf_counter()
        finite = original(self)
        sync()
        stats["cpu_s"].append(time.process_time() - cpu)
        stats["wall_s"].append(time.perf_counter() - wall)
        if self.cuda:
            stats["cuda_peak_bytes"] = max(stats["cuda_peak_bytes"],
                                           torch.cuda.max_memory_allocated())
        return finite

    Trainer.train_epoch = train_epoch
    try:
        yield stats
    finally:
        Trainer.train_epoch = original


def check_experiment(name: str, config_path: str, device: str, batch: int,
                     workdir: Path) -> dict:
    """Download, train (none / layer / all; none interrupted and resumed) and measure one
    experiment in ``workdir``, with the synthetic mirror up throughout (every training job
    re-verifies its files' hashes); returns its row of the table."""
    config = check_config(config_path, batch, device, "data")
    workdir.mkdir(parents=True, exist_ok=True)
    os.chdir(workdir)
    experiment = config["networks"]["experiments"][name]
    dataset = experiment["dataset"]
    threads = min(config["networks"]["threads"], os.cpu_count() or 1)
    with local_mirror(workdir / "mirror", dataset, batch):
        run_rule_script("download.py", config, f"logs/networks/download_{dataset}.log",
                        wildcards={"dataset": dataset},
                        output={"flag": f"data/{dataset}.verified"})
        row = {"experiment": name, "dataset": dataset, "arch": experiment["arch"],
               "batch": batch, "runs": {}}
        steps = {"cpu_s": [], "wall_s": [], "cuda_peak_bytes": 0}
        for scheme, sigma in runs(experiment):
            job = train_job(name, scheme, sigma)
            if scheme == "none":  # stopped after its first step, then resumed
                with measured_steps(device, stop_after_first=True) as stats:
                    try:
                        run_rule_script("train.py", config, threads=threads, **job)
                    except StopAfterFirstStep:
                        pass
                row.update(flops_per_step=stats["flops"], params=stats["params"],
                           input_shape=stats["input_shape"])
                assert Path(job["params"]["checkpoint"]).exists(), "no checkpoint after step 1"
            with measured_steps(device, stop_after_first=False) as stats:
                run_rule_script("train.py", config, threads=threads, **job)
            steps["cpu_s"] += stats["cpu_s"]
            steps["wall_s"] += stats["wall_s"]
            steps["cuda_peak_bytes"] = max(steps["cuda_peak_bytes"], stats["cuda_peak_bytes"])
            row["runs"][scheme] = run_outcome(job)
    row["M"] = row["runs"]["none"]["num_tensors"]
    row["cpu_s_per_step"] = float(np.median(steps["cpu_s"]))
    row["wall_s_per_step"] = float(np.median(steps["wall_s"]))
    if steps["cuda_peak_bytes"]:
        row["peak_memory_mb"] = steps["cuda_peak_bytes"] / 2**20
        row["memory_kind"] = "cuda peak allocated"
    else:
        row["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        row["memory_kind"] = "process peak RSS"
    return row


def run_outcome(job: dict) -> dict:
    """What one run left behind: its JSON record's status, steps, M and final metrics, the
    NPZ's arrays, whether its checkpoint is left, and the epochs it resumed at (its log)."""
    record = json.loads(Path(job["output"]["json"]).read_text())
    log_text = Path(job["log"]).read_text()
    return {"status": record["status"], "steps": record["steps"],
            "num_tensors": record["num_tensors"], "final": record["final"],
            "npz": sorted(np.load(job["output"]["npz"]).files),
            "checkpoint_left": Path(job["params"]["checkpoint"]).exists(),
            "resumed_at_epoch": [int(line.rsplit("at epoch ", 1)[1])
                                 for line in log_text.splitlines() if "resumed from" in line]}


# -- the paper-scale estimate ---------------------------------------------------------------
def paper_gpu_hours(row: dict, paper_networks: dict, gpu_tflops: float) -> dict:
    """Runs, optimizer steps and FLOPs per run, and estimated GPU-hours of the experiment at
    the config's scale: per run max(FLOPs / throughput, steps x STEP_FLOOR_S) (see the module
    docstring for the cost model)."""
    from noise_injection.networks.train import eval_epochs

    experiment = paper_networks["experiments"][row["experiment"]]
    _, n_train, n_test, _ = DATASET_SHAPES[row["dataset"]]
    n_train = experiment["train_subset"] or n_train
    per_sample = row["flops_per_step"] / row["batch"]
    n_evals = len(eval_epochs(experiment["epochs"], experiment["eval"]["points"],
                              experiment["eval"]["spacing"]))
    hessian = experiment["hessian"]
    flops = per_sample * (n_train * experiment["epochs"]
                          + n_evals * (n_train + n_test) / 3
                          + n_evals * hessian["probes"] * hessian["subset"] * HVP_STEPS)
    steps = experiment["epochs"] * math.ceil(n_train / (experiment["batch_size"] or n_train))
    seconds = max(flops / (gpu_tflops * 1e12), steps * STEP_FLOOR_S)
    n_runs = len(runs(experiment)) * paper_networks["n_seeds"]
    return {"paper_runs": n_runs, "paper_steps_per_run": steps,
            "paper_pflop_per_run": flops / 1e15, "paper_gpu_hours": n_runs * seconds / 3600}


def shape_table(device: str = "cpu", config_path: str = "config/paper.yaml",
                batch: int = 5, gpu_tflops: float = DEFAULT_GPU_TFLOPS,
                workdir: str | None = None, experiments=EXPERIMENTS) -> list[dict]:
    """One row per experiment of ``config_path`` (all, or the names in ``experiments``): each
    checked in its own process (see the module docstring), with the paper-scale estimate
    added."""
    if batch % 5:
        raise ValueError(f"batch must be a multiple of 5 (CIFAR-10's five training "
                         f"batches), got {batch}")
    config_path = str(Path(config_path).resolve())
    paper = validate_config(yaml.safe_load(Path(config_path).read_text()),
                            ROOT / "config" / "schema.yaml")["networks"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="paper_shapes_") as tmp:
        base = Path(workdir or tmp)
        for name in experiments:
            out = base / f"{name}.json"
            start = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--one", name, "--config", config_path,
                            "--device", device, "--batch", str(batch), "--workdir",
                            str(base / name), "--out", str(out)], check=True)
            row = {**json.loads(out.read_text()), "check_wall_s": time.perf_counter() - start}
            rows.append({**row, **paper_gpu_hours(row, paper, gpu_tflops)})
    return rows


def format_table(rows: list[dict], gpu_tflops: float) -> str:
    """The rows as a Markdown table (seconds per step: CPU time on a CPU, wall time with the
    device synchronized on CUDA) and the total estimate."""
    cuda = rows[0]["memory_kind"].startswith("cuda")
    seconds = "wall_s_per_step" if cuda else "cpu_s_per_step"
    head = ("| experiment | input | params | M | GFLOP/sample (train step) | "
            f"{'GPU wall' if cuda else 'CPU'} s/step (batch {rows[0]['batch']}) | peak memory "
            f"MB | paper runs | paper GPU-hours (estimate, {gpu_tflops:g} TFLOP/s) |")
    lines = [head, "|" + " --- |" * 9]
    for r in rows:
        lines.append(
            f"| {r['experiment']} | {'x'.join(map(str, r['input_shape']))} | "
            f"{r['params']:,} | {r['M']} | {r['flops_per_step'] / r['batch'] / 1e9:.3g} | "
            f"{r[seconds]:.3g} | {r['peak_memory_mb']:.0f} | {r['paper_runs']} | "
            f"{r['paper_gpu_hours']:.2g} |")
    total = sum(r["paper_gpu_hours"] for r in rows)
    lines.append(f"\nAll experiments: {total:.2g} GPU-hours (estimate; memory: "
                 f"{rows[0]['memory_kind']}); the check took "
                 f"{sum(r['check_wall_s'] for r in rows):.0f} s")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(ROOT / "config" / "paper.yaml"))
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--batch", type=int, default=5)
    parser.add_argument("--gpu-tflops", type=float, default=DEFAULT_GPU_TFLOPS)
    parser.add_argument("--workdir", help="keep the runs' files here (default: temporary)")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--one", choices=EXPERIMENTS, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        row = check_experiment(args.one, args.config, args.device, args.batch,
                               Path(args.workdir))
        Path(args.out).write_text(json.dumps(row))
        return
    rows = shape_table(args.device, args.config, args.batch, args.gpu_tflops, args.workdir)
    print(format_table(rows, args.gpu_tflops))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
