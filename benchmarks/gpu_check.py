"""The prepared check for a GPU machine lent for minutes: one command, one JSON, one table.

    python benchmarks/gpu_check.py --out "$OUT"                 # GPU: sized for < 8 min
    python benchmarks/gpu_check.py --out /tmp/check --dry-run   # CPU: the whole script, tiny

Sections, each timed and recorded even when another one fails:

1. cuda tests: ``pytest -m cuda tests/test_cuda.py`` in a subprocess (JUnit XML kept).
2. ResNet-18 epochs (``gpu_resnet18.epoch_times``): ours in fp32 and with the declared speed
   option (bf16 autocast + channels_last) against the authors' DataLoader loop, synthetic
   CIFAR-shaped data, medians of the timed epochs, ratios authors / ours from this one run.
3. operators per training step (``gpu_resnet18.op_count_rows``): ResNet-18, layer and
   all-weights noise, ours against the authors' loop (torch profiler; CUDA events too on a GPU).
4. the paper-shapes table: ``shape_table(device, config_path) -> list[dict]`` from
   ``benchmarks/paper_shapes.py`` (``--paper-shapes``) if that file exists, seconds per step at
   the shapes of ``--config``; otherwise the section says the file is missing.
5. GPU memory per training job: every experiment of ``--config`` trained for one epoch with
   its protocol (two evaluations with Hutchinson traces included) on synthetic data of its
   data set's true shapes and sizes, the allocator's peaks and the CUDA context beside the
   declared ``resources.gpu_mem_mb``.

Writes ``gpu_check.json`` (a result record: config, versions, git revision, device, wall
time, every number) and ``gpu_check.md`` (the tables, labelled with the GPU) under ``--out``,
and prints the ratios last. Exit status 1 when a cuda test or a section failed. Not yet run on
a GPU (none was lent to this project so far): the sizes are chosen from estimates (ResNet-18
epochs of 25k images, 3 variants x 3 epochs; one epoch per paper experiment), and the JSON
records each section's seconds so the first run shows where the 8 minutes go.

``--dry-run`` runs the same code on a CPU at toy sizes (a width-2 ResNet-18 on 32 images,
``config/smoke.yaml`` for sections 4 and 5): it checks the script, not the GPU.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import subprocess
import sys
import time
import traceback
import xml.etree.ElementTree as ET
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import gpu_resnet18  # noqa: E402

from noise_injection.networks.data import ArrayDataset  # noqa: E402
from noise_injection.networks.nets import build_model  # noqa: E402
from noise_injection.networks.runs import protocol as experiment_protocol  # noqa: E402
from noise_injection.networks.experiments import DATASET_SHAPES  # noqa: E402
from noise_injection.networks.train import Trainer, stream_seed  # noqa: E402
from noise_injection.workflow.config import validate_config  # noqa: E402
from noise_injection.base.results import make_record, write_json  # noqa: E402

#: epoch benchmark settings: a GPU run, and the dry run's toy sizes
EPOCHS = {
    "gpu": dict(samples=25_000, batch_size=128, width=64, warmup=1, epochs=2, workers=2),
    "dry": dict(samples=32, batch_size=16, width=2, warmup=0, epochs=1, workers=0),
}
#: operator counts: the counts do not depend on the sizes (a dry run uses the smallest)
OPS = {"gpu": dict(width=8, batch_size=4), "dry": dict(width=2, batch_size=2)}


def cuda_tests(out: Path) -> dict:
    """Run the cuda-marked tests in a subprocess; counts from the JUnit XML."""
    xml = out / "cuda_tests.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-rs", "-p", "no:cacheprovider",
         f"--junitxml={xml}", str(ROOT / "tests" / "test_cuda.py")],
        cwd=ROOT, capture_output=True, text=True)
    suite = ET.parse(xml).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    failed = []
    for case in suite.iter("testcase"):
        for problem in (case.find("failure"), case.find("error")):
            if problem is not None:
                failed.append(f"{case.get('name')}: {problem.get('message')}")
    skipped = sorted({case.find("skipped").get("message") for case in suite.iter("testcase")
                      if case.find("skipped") is not None})
    return {**counts, "passed": counts["tests"] - counts["failures"] - counts["errors"]
            - counts["skipped"], "returncode": proc.returncode, "failed": failed,
            "skip_reasons": skipped, "output_tail": proc.stdout[-3000:]}


def epoch_benchmark(device: torch.device, dry: bool) -> dict:
    args = argparse.Namespace(**EPOCHS["dry" if dry else "gpu"], sigma=0.05, seed=0)
    return {"settings": vars(args), **gpu_resnet18.epoch_times(args, device)}


def paper_shapes(device: torch.device, config: Path, module: Path, dry: bool) -> dict:
    """Rows of ``shape_table`` from ``module``, or why there are none (a dry run checks one
    experiment: the section's code path, in seconds)."""
    if not module.is_file():
        return {"rows": [], "missing": f"{module} does not exist, so there is no paper-shapes "
                                       f"table (it comes with the SLURM work, issue #15)"}
    spec = importlib.util.spec_from_file_location("paper_shapes", module)
    shapes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shapes)
    experiments = shapes.EXPERIMENTS[:1] if dry else shapes.EXPERIMENTS
    return {"rows": shapes.shape_table(device.type, str(config), experiments=experiments)}


def synthetic_data(dataset: str, train_subset: int, raw_pixels: bool) -> ArrayDataset:
    """Random images and labels with the data set's shapes and sizes (the downloads are not
    needed: memory and speed do not depend on the pixels), normalized like load_dataset."""
    shape, n_train, n_test, pixel_max = DATASET_SHAPES[dataset]
    n_train = train_subset or n_train
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, int(pixel_max) + 1, (n_train + n_test, *shape), generator=g,
                      dtype=torch.uint8)
    y = torch.randint(0, 10, (n_train + n_test,), generator=g)
    data = ArrayDataset(dataset, 10, x[:n_train], y[:n_train], x[n_train:], y[n_train:],
                        (0.5,) * shape[0], (0.25,) * shape[0], raw_pixels=True,
                        pixel_max=float(pixel_max))
    if raw_pixels:
        return data
    return dataclasses.replace(data, x_train=data.normalize(data.x_train),
                               x_test=data.normalize(data.x_test), raw_pixels=False)


def gpu_memory(device: torch.device, config_path: Path) -> list[dict]:
    """Per experiment: one epoch of its protocol with all-weights noise (every spare
    allocated at once; the memory does not depend on sigma), the allocator's peaks on CUDA
    (None on a CPU) and whether they fit the declared gpu_mem_mb together with the CUDA
    context (the device memory in use outside the allocator, measured first)."""
    config = validate_config(yaml.safe_load(config_path.read_text()),
                             ROOT / "config" / "schema.yaml")
    networks = config["networks"]
    context = None
    if device.type == "cuda":
        torch.zeros(1, device=device)  # the context exists from here on
        free, total = torch.cuda.mem_get_info(device)
        context = (total - free - torch.cuda.memory_reserved(device)) / 2**20
    rows = []
    for name, experiment in networks["experiments"].items():
        start = time.perf_counter()
        data = synthetic_data(experiment["dataset"], experiment["train_subset"],
                              raw_pixels=experiment["augment_padding"] > 0)
        torch.manual_seed(stream_seed(0, "init"))
        model = build_model(experiment["arch"], data.in_shape, data.num_classes,
                            **experiment["arch_kwargs"])
        protocol = dataclasses.replace(experiment_protocol(experiment, networks), epochs=1,
                                       checkpoint_every=0)
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        trainer = Trainer(model, data, protocol, scheme="all", sigma=0.05, seed=0,
                          device=device)
        trainer.run(progress=False)
        gpu_resnet18.synchronize(device)
        peak = reserved = None
        if device.type == "cuda":
            peak = torch.cuda.max_memory_allocated(device) / 2**20
            reserved = torch.cuda.max_memory_reserved(device) / 2**20
        declared = experiment["resources"]["gpu_mem_mb"]
        rows.append({"experiment": name, "declared_gpu_mem_mb": declared,
                     "peak_allocated_mb": peak, "peak_reserved_mb": reserved,
                     "cuda_context_mb": context,
                     "within_declared": None if reserved is None else
                     reserved + context <= declared,
                     "status": trainer.status, "seconds": time.perf_counter() - start})
        del trainer, model, data
    return rows


def markdown_table(rows: list[dict]) -> list[str]:
    """A markdown table with the union of the rows' keys as columns."""
    if not rows:
        return ["(no rows)"]
    columns = list(dict.fromkeys(k for row in rows for k in row))

    def cell(value):
        if isinstance(value, float):
            return f"{value:.4g}"
        return "" if value is None else str(value)

    lines = ["| " + " | ".join(columns) + " |",
             "| " + " | ".join("---" for _ in columns) + " |"]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return lines


def report(result: dict) -> str:
    """The markdown page: one table per section, labelled with the device."""
    s = result["sections"]
    kind = "DRY RUN on a CPU (toy sizes)" if result["dry_run"] else "full run"
    lines = [f"# GPU check on {result['device']}", "",
             f"torch {torch.__version__}; {kind}; total {result['wall_time_s']:.0f} s; "
             + ", ".join(f"{k} {v['seconds']:.0f} s" for k, v in s.items()), ""]
    for name, section in s.items():
        if section["status"] != "ok":
            lines += [f"## {name}: FAILED", "", "```", section["error"][-2000:], "```", ""]
    if s["cuda tests"]["status"] == "ok":
        t = s["cuda tests"]["value"]
        lines += ["## cuda tests", "", f"{t['passed']} passed, {t['failures']} failed, "
                  f"{t['errors']} errors, {t['skipped']} skipped", ""]
        lines += [f"- FAILED {f}" for f in t["failed"]]
        lines += [f"- skipped: {r}" for r in t["skip_reasons"]] + [""]
    if s["resnet18 epochs"]["status"] == "ok":
        e = s["resnet18 epochs"]["value"]
        rows = [{"variant": k, "s/epoch (median)": m,
                 "images/s": e["settings"]["samples"] / m,
                 "timed epochs (s)": ", ".join(f"{t:.2f}" for t in e["epoch_times_s"][k])}
                for k, m in e["median_s"].items()]
        lines += ["## ResNet-18 epoch: ours vs the authors' loop", "",
                  f"settings: {e['settings']}", ""] + markdown_table(rows) + [""]
        lines += [f"- ratio {k}: **{v:.2f}x**" for k, v in e["ratios"].items()] + [""]
    if s["operator counts"]["status"] == "ok":
        lines += ["## Operators per training step (ResNet-18, torch profiler)", ""]
        lines += markdown_table(s["operator counts"]["value"]) + [""]
    if s["paper shapes"]["status"] == "ok":
        p = s["paper shapes"]["value"]
        lines += ["## Paper shapes: seconds per step", ""]
        lines += [p["missing"]] if "missing" in p else markdown_table(p["rows"])
        lines += [""]
    if s["gpu memory"]["status"] == "ok":
        lines += ["## GPU memory per training job (MB)", ""]
        lines += markdown_table(s["gpu memory"]["value"]) + [""]
    return "\n".join(lines)


def run_section(name: str, fn) -> dict:
    print(f"== {name}", flush=True)
    start = time.perf_counter()
    try:
        out = {"status": "ok", "value": fn()}
    except Exception:  # a failed section is recorded, and the others still run
        out = {"status": "failed", "error": traceback.format_exc()}
        print(out["error"], file=sys.stderr)
    out["seconds"] = time.perf_counter() - start
    print(f"   {out['status']} in {out['seconds']:.1f} s", flush=True)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, type=Path, help="folder for the JSON and table")
    p.add_argument("--dry-run", action="store_true", help="on a CPU, toy sizes")
    p.add_argument("--config", type=Path, help="scale for sections 4 and 5 (default: "
                   "config/paper.yaml, with --dry-run config/smoke.yaml)")
    p.add_argument("--paper-shapes", type=Path, default=ROOT / "benchmarks" / "paper_shapes.py")
    args = p.parse_args(argv)
    dry = args.dry_run
    if not dry and not torch.cuda.is_available():
        p.error("torch sees no CUDA device; on a CPU use --dry-run")
    device = torch.device("cpu" if dry else "cuda")
    config = args.config or ROOT / "config" / ("smoke.yaml" if dry else "paper.yaml")
    args.out.mkdir(parents=True, exist_ok=True)
    threads = torch.get_num_threads()
    if dry:  # toy tensors: more intra-op threads only add contention (10x slower on 2 cores)
        torch.set_num_threads(1)
    try:
        return check(args, device, config)
    finally:
        torch.set_num_threads(threads)


def check(args, device: torch.device, config: Path) -> int:
    """Run the sections, write the JSON and the markdown, print the ratios last."""
    dry = args.dry_run
    start = time.perf_counter()
    sections = {
        "cuda tests": run_section("cuda tests", lambda: cuda_tests(args.out)),
        "resnet18 epochs": run_section("resnet18 epochs", lambda: epoch_benchmark(device, dry)),
        "operator counts": run_section("operator counts",
                                       lambda: gpu_resnet18.op_count_rows(
                                           device, **OPS["dry" if dry else "gpu"])),
        "paper shapes": run_section("paper shapes",
                                    lambda: paper_shapes(device, config, args.paper_shapes, dry)),
        "gpu memory": run_section("gpu memory", lambda: gpu_memory(device, config)),
    }
    name = gpu_resnet18.device_name(device)
    result = {"device": name, "dry_run": dry, "wall_time_s": time.perf_counter() - start,
              "sections": sections}
    tests = sections["cuda tests"].get("value", {})
    failed = any(s["status"] != "ok" for s in sections.values()) or bool(
        tests.get("failures") or tests.get("errors"))
    write_json(args.out / "gpu_check.json", make_record(
        {"dry_run": dry, "config": str(config), "paper_shapes": str(args.paper_shapes)}, None,
        "ok", result["wall_time_s"], device=name, dry_run=dry, sections=sections))
    (args.out / "gpu_check.md").write_text(report(result) + "\n")
    if "missing" in sections["paper shapes"].get("value", {}):
        print(sections["paper shapes"]["value"]["missing"])
    print(f"wrote {args.out / 'gpu_check.json'} and {args.out / 'gpu_check.md'} "
          f"({result['wall_time_s']:.0f} s{', FAILURES' if failed else ''})")
    for key, ratio in sections["resnet18 epochs"].get("value", {}).get("ratios", {}).items():
        print(f"ratio {key}: {ratio:.2f}x on {name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
