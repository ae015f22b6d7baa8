"""How far the numbers travel to another machine, measured on this one.

The same code, config and seeds give the same numbers on one machine, bit for bit, but another
machine's instruction set or thread count changes the summation order of vectorized reductions
(numpy's dispatch targets, torch's CPU capability, the CPU numba compiles for, BLAS), and
training amplifies the last-bit differences. This script imitates other machines on this one: it runs the workflow once per
variant below, each in a fresh clone of HEAD under its own environment, and compares every
result with the baseline run:

- every CSV table under results/ (summaries, per-seed finals, claims; not the curves, not the
  timings) and every number of the finite, variance and injector JSON records (not provenance,
  config or wall time), per file: values compared, values changed, largest absolute and
  relative difference, changed words (statuses, verdicts);
- every claim row of results/claims.csv: the largest change of its estimate and interval, and
  the verdict word under each variant (a row whose word changes is *fragile*);
- the shipped CPU-scale tables (results-cpu/: App. Fig. 7's summary, finals and claims) rebuilt
  from the shipped run records under each variant, against the shipped files;
- for each tolerance of config/tolerances.yaml, the largest differences among the numbers it
  covers and how many lie outside it.

It writes docs/travel.md (the tables, generated), docs/travel/files.csv and
docs/travel/claims.csv (every comparison) and config/travel.yaml (per tolerance the measured
travel, the files no tolerance covers yet, and the fragile verdicts; read by
noise_injection.workflow.tolerances and the tests), then regenerates the README's fragments
(its tolerance table reads config/travel.yaml). A tolerance is sized by hand from what it
prints: at least twice the largest difference measured (tests/test_tolerances.py).

    python benchmarks/travel.py --workdir /tmp/travel                  # quick scale, all variants
    python benchmarks/travel.py --workdir /tmp/travel-smoke --scale smoke --out /tmp/travel-out
    python benchmarks/travel.py --workdir /tmp/travel --targets finite variance   # a part only

Each variant runs in WORKDIR/<variant> and resumes: a second call reruns only what a killed run
left unfinished or what the code changed since (Snakemake's own rerun rules; the clone is moved
to the new HEAD), then compares. A variant folder made with other settings is refused, never
overwritten. HEAD is measured, not uncommitted edits. Run it on an otherwise idle machine if the
durations matter; the numbers do not depend on the load.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from noise_injection.networks.experiments import FIGURES, trained  # noqa: E402
from noise_injection.base.results import _NUMERICS_ENV  # noqa: E402
from noise_injection.workflow.tolerances import close, read_csv_text, tolerances  # noqa: E402

SCALES = {"quick": "config/config.yaml", "smoke": "config/smoke.yaml"}
CORES = 2
#: Result files that are not final values: whole trajectories and wall times.
SKIPPED = ("curves.csv", "timings.csv")
#: Keys of a result record that are not results.
NOT_RESULTS = {"provenance", "config", "wall_time_s", "wall_time_total_s", "data_source",
               "seed", "seeds"}
SHIPPED = "results-cpu"
COMMAND = "python benchmarks/travel.py"
MARKERS = ("<!-- generated:travel (python benchmarks/travel.py; do not edit) -->",
           "<!-- /generated:travel -->")


@dataclass(frozen=True)
class Variant:
    """A machine imitated on this one: environment variables, the training jobs' thread count
    (given to Snakemake; None: the config's), and the numerics the run records must then show
    (torch's CPU capability; numpy dispatch targets that must be off; the training threads)."""

    name: str
    what: str
    env: dict = field(default_factory=dict)
    torch_capability: str | None = None
    numpy_off: tuple = ()
    training_threads: int | None = None


def _numpy_dispatch() -> list[str]:
    """numpy's dispatch targets that this CPU enables, in numpy's order."""
    umath = np._core._multiarray_umath
    return [f for f in umath.__cpu_dispatch__ if umath.__cpu_features__.get(f)]


def variants() -> list[Variant]:
    """The baseline (this machine's defaults) and the machines imitated: torch's kernels at
    each capability this CPU allows other than its own, numpy without its AVX-512 targets and
    without any dispatch target, numba compiling for an AVX2 CPU, an AVX2 machine (all three),
    and one vs two threads."""
    import torch

    own = torch.backends.cpu.get_cpu_capability()
    cpu_flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    dispatch = _numpy_dispatch()
    above_avx2 = tuple(f for f in dispatch if f == "X86_V4" or f.startswith("AVX512"))
    out = [Variant("baseline", "this machine's defaults", torch_capability=own)]
    for capability, flag in (("default", None), ("avx2", "avx2"), ("avx512", "avx512f")):
        if capability.upper() != own and (flag is None or flag in cpu_flags):
            out.append(Variant(f"torch_{capability}", f"torch's {capability} kernels "
                               f"(ATEN_CPU_CAPABILITY={capability})",
                               {"ATEN_CPU_CAPABILITY": capability},
                               torch_capability=capability.upper()))
    if above_avx2:
        out.append(Variant("numpy_avx2", "numpy without its AVX-512 targets "
                           f"(NPY_DISABLE_CPU_FEATURES=\"{' '.join(above_avx2)}\")",
                           {"NPY_DISABLE_CPU_FEATURES": " ".join(above_avx2)},
                           torch_capability=own, numpy_off=above_avx2))
    if dispatch:
        out.append(Variant("numpy_baseline", "numpy without any dispatch target, its baseline "
                           f"only (NPY_DISABLE_CPU_FEATURES=\"{' '.join(dispatch)}\")",
                           {"NPY_DISABLE_CPU_FEATURES": " ".join(dispatch)},
                           torch_capability=own, numpy_off=tuple(dispatch)))
    if "avx512f" in cpu_flags:
        out.append(Variant("numba_avx2", "numba's kernels compiled for an AVX2 CPU "
                           "(NUMBA_CPU_NAME=haswell)", {"NUMBA_CPU_NAME": "haswell"},
                           torch_capability=own))
    if above_avx2 and own == "AVX512" and "avx2" in cpu_flags:
        out.append(Variant("avx2_machine", "an AVX2 machine: torch at avx2, numpy without "
                           "AVX-512, numba for haswell",
                           {"ATEN_CPU_CAPABILITY": "avx2", "NUMBA_CPU_NAME": "haswell",
                            "NPY_DISABLE_CPU_FEATURES": " ".join(above_avx2)},
                           torch_capability="AVX2", numpy_off=above_avx2))
    one = {k: "1" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    out.append(Variant("threads_1", "one thread everywhere (OMP/MKL/OpenBLAS=1; training "
                       "jobs at networks.threads)", one, torch_capability=own))
    # Snakemake sets OMP/MKL/OpenBLAS to each job's threads, so two threads reach a job only
    # through its thread count: --set-threads for every training rule of the scale
    out.append(Variant("threads_2", "two threads in every training job (--set-threads for the "
                       "training rules; Snakemake gives a job's threads to OMP/MKL/OpenBLAS)", {},
                       torch_capability=own, training_threads=2))
    return out


def _git(*args, cwd=ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=True).stdout.strip()


def _environment(variant: Variant, clone: Path) -> dict:
    """The inherited environment without any numerics override, plus the variant's."""
    env = {k: v for k, v in os.environ.items() if k not in _NUMERICS_ENV}
    return {**env, "PYTHONPATH": str(clone), "PYTHONHASHSEED": "0", **variant.env}


def prepare_clone(folder: Path, variant: Variant, revision: str, scale: str) -> None:
    """A clone of ``revision`` in ``folder`` for ``variant``; an existing one is moved to the
    revision (its results stay, Snakemake reruns what changed). A folder made for another
    variant definition or scale is refused."""
    marker = folder / ".travel-variant.json"
    definition = {"variant": asdict(variant), "scale": scale}
    if folder.exists():
        if not marker.is_file() or json.loads(marker.read_text()) != json.loads(
                json.dumps(definition)):
            raise SystemExit(f"{folder} was made for another variant definition or scale "
                             f"(see {marker}); remove it or choose another --workdir")
        if _git("rev-parse", "HEAD", cwd=folder) != revision:
            subprocess.run(["git", "fetch", "--quiet", str(ROOT), revision], cwd=folder,
                           check=True)
            subprocess.run(["git", "checkout", "--quiet", "--detach", revision], cwd=folder,
                           check=True)
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(folder)],
                   check=True)
    subprocess.run(["git", "checkout", "--quiet", "--detach", revision], cwd=folder, check=True)
    marker.write_text(json.dumps(definition, indent=1) + "\n")


def training_rules(scale: str) -> list[str]:
    """The training rules of the scale's DAG: ``train_network`` (one job per run) or
    ``train_<experiment>`` per trained experiment (networks.runs_per_job: experiment)."""
    from noise_injection.workflow.shipped import cpu_config

    networks = cpu_config(ROOT, SCALES[scale])["networks"]
    if networks["runs_per_job"] == "run":
        return ["train_network"]
    return [f"train_{name}" for name in trained(networks)]


def thread_args(variant: Variant, scale: str) -> list[str]:
    """``--set-threads`` giving the variant's training threads to every training rule of the
    scale; nothing for a variant that keeps the config's."""
    if not variant.training_threads:
        return []
    return ["--set-threads",
            *(f"{rule}={variant.training_threads}" for rule in training_rules(scale))]


def run_variant(folder: Path, variant: Variant, scale: str,
                targets: tuple = ()) -> float | None:
    """Snakemake at ``scale`` in ``folder`` under the variant's environment (``targets``, or
    every figure); the wall time of the call that computed the folder's results: this call's
    when it ran jobs (kept in the folder), else the one kept by an earlier call (None if
    none was)."""
    env = _environment(variant, folder)
    # targets first: --configfile and --set-threads take every word that follows them
    base = [sys.executable, "-m", "snakemake", *targets, "--cores", str(CORES), "--configfile",
            SCALES[scale], *thread_args(variant, scale)]
    log = folder / "travel-snakemake.log"
    subprocess.run([*base, "--unlock"], cwd=folder, env=env, capture_output=True, check=True)
    start = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.run(base, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode:
        raise SystemExit(f"variant {variant.name}: snakemake failed, see {log}")
    wall, kept = time.monotonic() - start, folder / ".travel-wall.json"
    if "Nothing to be done" in log.read_text():
        return json.loads(kept.read_text())["wall_s"] if kept.is_file() else None
    kept.write_text(json.dumps({"wall_s": wall}) + "\n")
    return wall


REBUILD = """
import sys
from pathlib import Path
from noise_injection.workflow import shipped
out = Path(sys.argv[1])
for relative, table in shipped.rebuild_tables().items():
    (out / relative).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / relative, index=False)
"""


def rebuild_shipped(folder: Path, variant: Variant) -> Path | None:
    """The shipped CPU-scale network tables rebuilt from the shipped run records under the
    variant's environment, in ``folder/travel-shipped``; None where nothing is shipped."""
    if not (folder / SHIPPED).is_dir():
        return None
    out = folder / "travel-shipped"
    subprocess.run([sys.executable, "-c", REBUILD, str(out)], cwd=folder,
                   env=_environment(variant, folder), check=True)
    return out


def observed_numerics(folder: Path) -> dict:
    """What the run records of a variant say it ran with: torch's CPU capabilities and the
    training jobs' thread counts (network runs), numpy's enabled dispatch targets and the
    numerics environment variables (all)."""
    capability, threads, dispatch, environment = set(), set(), set(), set()
    for path in (folder / "results").rglob("*.json"):
        numerics = json.loads(path.read_text()).get("provenance", {}).get("numerics")
        if not numerics:
            continue
        dispatch.add(" ".join(numerics["numpy_cpu_dispatch_enabled"]) or "none")
        environment.add(json.dumps(numerics["environment"], sort_keys=True))
        if isinstance(numerics["torch"], dict):
            capability.add(numerics["torch"]["cpu_capability"])
            if path.parent.parent.name == "networks":
                threads.add(numerics["torch"]["num_threads"])
    return {"torch_capability": sorted(capability), "training_threads": sorted(threads),
            "numpy_dispatch": sorted(dispatch),
            "environment": [json.loads(e) for e in sorted(environment)]}


def check_numerics(variant: Variant, seen: dict) -> list[str]:
    """Where the records contradict what the variant set (a variant that did not take effect
    would measure nothing)."""
    problems = []
    if variant.torch_capability and seen["torch_capability"] != [variant.torch_capability]:
        problems.append(f"torch capability {seen['torch_capability']}, expected "
                        f"{variant.torch_capability}")
    if any(off in d.split() for d in seen["numpy_dispatch"] for off in variant.numpy_off):
        problems.append(f"numpy dispatch {seen['numpy_dispatch']} has one of {variant.numpy_off}")
    wanted = {k: v for k, v in variant.env.items() if k in _NUMERICS_ENV}
    if any({**env, **wanted} != env for env in seen["environment"]):
        problems.append(f"records' environment {seen['environment']} lacks {wanted}")
    if variant.training_threads and seen["training_threads"] != [variant.training_threads]:
        problems.append(f"training threads {seen['training_threads']}, expected "
                        f"{variant.training_threads}")
    return problems


# --- comparison --------------------------------------------------------------------------------

def _leaves(obj, prefix: str = ""):
    """(key, value) of every number or word in a record, results only."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k not in NOT_RESULTS:
                yield from _leaves(v, f"{prefix}{k}.")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _leaves(v, f"{prefix}{i}.")
    elif isinstance(obj, str) and obj.lower() in ("nan", "inf", "-inf", "infinity", "-infinity"):
        yield prefix.rstrip("."), float(obj)  # write_json stores non-finite numbers as text
    elif not isinstance(obj, bool) and obj is not None:
        yield prefix.rstrip("."), obj


def file_values(path: Path) -> tuple[dict, dict]:
    """A result file's numbers and words, by position: ({key: float}, {key: str})."""
    numbers, words = {}, {}
    if path.suffix == ".csv":
        table = read_csv_text(path.read_text())
        for column in table.columns:
            values = table[column]
            target = numbers if pd.api.types.is_float_dtype(values) else words
            for i, v in enumerate(values):
                target[f"{i}.{column}"] = float(v) if target is numbers else str(v)
    else:
        for key, v in _leaves(json.loads(path.read_text())):
            (numbers if isinstance(v, (int, float)) else words)[key] = (
                float(v) if isinstance(v, (int, float)) else v)
    return numbers, words


def result_files(run: Path) -> list[str]:
    """The result files compared, relative to the run's folder."""
    files = [p for p in (run / "results").rglob("*.csv") if p.name not in SKIPPED]
    files += [p for p in (run / "results").rglob("*.json")
              if p.relative_to(run / "results").parts[0] in ("finite", "variance", "injector")]
    return sorted(str(p.relative_to(run)) for p in files)


def stage_of(relative: str) -> str:
    """results/<stage>/..., the combined claims table 'claims', a shipped file 'shipped'."""
    parts = Path(relative).parts
    if parts[0] == SHIPPED:
        return "shipped"
    return "claims" if len(parts) == 2 else parts[1]


def figures_of(relative: str) -> str:
    """The paper figures drawn from a network experiment's file."""
    parts = Path(relative).parts
    if "networks" not in parts or parts[-1] == "claims.csv":
        return ""
    experiment = parts[parts.index("networks") + 1]
    return " ".join(str(s.number) for s in FIGURES.values() if experiment in s.experiments)


def compare_file(base: Path, other: Path, relative: str, variant: str) -> tuple[dict, list]:
    """One file of a variant against the baseline's: a summary row, and the (a, b) pairs of
    its numbers (for the tolerances)."""
    row = {"variant": variant, "file": relative, "stage": stage_of(relative),
           "figures": figures_of(relative)}
    if not (base / relative).is_file() or not (other / relative).is_file():
        return {**row, "structure": "missing"}, []
    (na, wa), (nb, wb) = file_values(base / relative), file_values(other / relative)
    if set(na) != set(nb) or set(wa) != set(wb):
        return {**row, "structure": "shape differs"}, []
    keys = sorted(na)
    a = np.array([na[k] for k in keys], dtype=float)
    b = np.array([nb[k] for k in keys], dtype=float)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    finite = np.isfinite(a) & np.isfinite(b)
    diff = np.abs(a - b)
    rel = np.divide(diff, np.abs(a), out=np.zeros_like(diff), where=finite & (a != 0))
    return {**row, "structure": "ok", "values": len(keys), "changed": int((~same).sum()),
            "max_abs": float(diff[finite].max()) if finite.any() else 0.0,
            "max_rel": float(rel.max()) if len(rel) else 0.0,
            "nonfinite_changed": int((~same & ~finite).sum()),
            "words_changed": sum(wa[k] != wb[k] for k in wa)}, list(zip(a, b))


def compare_claims(base: Path, other: Path, variant: str, table: str = "results/claims.csv"):
    """Every row of a claims table: its estimate's and interval's change and verdicts."""
    a = read_csv_text((base / table).read_text())
    b = read_csv_text((other / table).read_text())
    key = ["claim", "row", "level", "setting"]
    merged = a.merge(b, on=key, how="outer", suffixes=("", "_v"), indicator=True)
    rows = []
    for _, r in merged.iterrows():
        change = max((abs(r[c] - r[f"{c}_v"]) for c in ("estimate", "ci_low", "ci_high")
                      if np.isfinite(r[c]) and np.isfinite(r[f"{c}_v"])), default=0.0)
        rel = (abs(r["estimate"] - r["estimate_v"]) / abs(r["estimate"])
               if np.isfinite(r["estimate"]) and np.isfinite(r["estimate_v"]) and r["estimate"]
               else 0.0)
        rows.append({"variant": variant, "table": table, **{k: r[k] for k in key},
                     "estimate": r["estimate"], "estimate_variant": r["estimate_v"],
                     "max_abs": change, "estimate_rel": rel,
                     "verdict": r["verdict"], "verdict_variant": r["verdict_v"],
                     "flipped": r["_merge"] != "both" or r["verdict"] != r["verdict_v"]})
    return rows


def measure(workdir: Path, scale: str, names: list[str] | None, targets: tuple = ()) -> dict:
    """Run (or resume) every variant and compare; returns what the writers need."""
    revision = _git("rev-parse", "HEAD")
    if _git("status", "--porcelain", "--untracked-files=no"):
        print(f"note: the working tree has uncommitted changes; measuring HEAD {revision[:7]}",
              file=sys.stderr)
    chosen = [v for v in variants() if names is None or v.name in names or v.name == "baseline"]
    runs = {}
    for variant in chosen:
        folder = workdir / variant.name
        prepare_clone(folder, variant, revision, scale)
        print(f"[travel] {variant.name}: {variant.what}", flush=True)
        wall = run_variant(folder, variant, scale, targets)
        shipped = rebuild_shipped(folder, variant)
        seen = observed_numerics(folder)
        problems = check_numerics(variant, seen)
        if problems:
            raise SystemExit(f"variant {variant.name} did not take effect: {'; '.join(problems)}")
        runs[variant.name] = {"variant": variant, "folder": folder, "wall_s": wall,
                              "seen": seen, "shipped": shipped}
        print(f"[travel] {variant.name}: " + (f"{wall:.0f} s" if wall is not None else
                                               "nothing to do, no earlier wall time"), flush=True)
    return {**compare(runs, revision, scale), "targets": list(targets)}


def compare(runs: dict, revision: str, scale: str) -> dict:
    """Every variant's results against the baseline's, and every shipped rebuild against the
    shipped tables."""
    files, claims, pairs = [], [], {}
    base = runs["baseline"]["folder"]
    for name, run in runs.items():
        # the shipped rebuild is compared with the shipped files, so the baseline's too
        if run["shipped"] is not None:
            shipped_pairs = []
            for p in sorted(run["shipped"].rglob("*.csv")):
                relative = str(p.relative_to(run["shipped"]))
                row, found = compare_file(run["folder"] / SHIPPED, run["shipped"], relative,
                                          name)
                files.append({**row, "file": f"{SHIPPED}/{relative}", "stage": "shipped"})
                shipped_pairs += [(f"{SHIPPED}/{relative}", a, b) for a, b in found]
            claims += compare_claims(run["folder"] / SHIPPED, run["shipped"], name,
                                     "results/networks/claims.csv")
            pairs[name] = shipped_pairs
        if name == "baseline":
            continue
        for relative in result_files(base):
            row, found = compare_file(base, run["folder"], relative, name)
            files.append(row)
            pairs[name] = pairs.get(name, []) + [(relative, a, b) for a, b in found]
        claims += compare_claims(base, run["folder"], name)
    return {"revision": revision, "scale": scale, "runs": runs, "files": pd.DataFrame(files),
            "claims": pd.DataFrame(claims), "pairs": pairs}


def tolerance_use(pairs: dict) -> dict:
    """Per tolerance of config/tolerances.yaml: over every variant, the numbers it covers,
    their largest absolute and relative difference, and how many lie outside it."""
    out = {}
    for name, tol in tolerances().items():
        found = [(a, b) for variant in pairs.values() for f, a, b in variant if tol.covers(f)]
        if not found:
            continue
        a, b = (np.array(x, dtype=float) for x in zip(*found))
        finite = np.isfinite(a) & np.isfinite(b)
        diff = np.abs(a - b)
        rel = np.divide(diff, np.abs(a), out=np.zeros_like(diff), where=finite & (a != 0))
        out[name] = {"values": len(a), "max_abs": float(diff[finite].max(initial=0.0)),
                     "max_rel": float(rel.max(initial=0.0)),
                     "outside": int((~close(a, b, tol)).sum()),
                     "rtol": tol.rtol, "atol": tol.atol}
    return out


def uncovered(files: pd.DataFrame) -> list[str]:
    """Compared files that no tolerance covers (the combined claims table repeats the stages'
    and is left out): each needs a tolerance sized from this measurement."""
    known = tolerances().values()
    names = sorted(set(files["file"])) if len(files) else []
    return [f for f in names if f != "results/claims.csv"
            and not any(t.covers(f) for t in known)]


def fragile(claims: pd.DataFrame) -> list[dict]:
    """Claim rows of the quick-scale table whose verdict word changed under a variant."""
    quick = claims[claims["table"] == "results/claims.csv"] if len(claims) else claims
    out = []
    for key, rows in quick.groupby(["claim", "row", "level", "setting"], sort=False,
                                   dropna=False):
        if rows["flipped"].any():
            out.append({"claim": key[0], "row": key[1], "level": key[2], "setting": key[3],
                        "verdict": rows["verdict"].iloc[0],
                        "seen": {r["variant"]: r["verdict_variant"]
                                 for _, r in rows[rows["flipped"]].iterrows()}})
    return out


# --- writing -------------------------------------------------------------------------------------

def _g(x: float) -> str:
    return "0" if x == 0 else f"{x:.2g}"


def markdown(result: dict, use: dict, fragile_rows: list[dict]) -> str:
    runs, files, claims = result["runs"], result["files"], result["claims"]
    machine = _cpu_model()
    lines = [MARKERS[0], "", "# How far the numbers travel", "",
             f"Generated by `{COMMAND}` ({result['scale']} scale"
             f"{', targets ' + ' '.join(result['targets']) if result.get('targets') else ''}, "
             f"revision "
             f"{result['revision'][:7]}, {date.today().isoformat()}) on one machine ({machine}, "
             f"{os.cpu_count()} cores, {platform.platform()}) that imitates others: each "
             f"variant runs the {result['scale']} scale from a fresh clone under its own "
             "environment, and every result is compared with the baseline's. Run "
             "again after a change that touches the numbers; the tolerances "
             "(config/tolerances.yaml) must cover the travel measured here with margin "
             "(tests/test_tolerances.py).", "", "## Variants", "",
             "| variant | what it imitates | torch capability (records) | numpy dispatch "
             "(records) | training threads (records) | wall time of its results' run |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, run in runs.items():
        seen = run["seen"]
        lines.append(f"| `{name}` | {run['variant'].what} | "
                     f"{', '.join(seen['torch_capability'])} | "
                     f"{'; '.join(seen['numpy_dispatch'])} | "
                     f"{', '.join(str(t) for t in seen['training_threads'])} | "
                     + (f"{run['wall_s'] / 60:.0f} min |" if run["wall_s"] is not None
                        else "not measured (resumed) |"))
    lines += ["", "## Per tolerance", "",
              "Over every variant, the numbers each tolerance of config/tolerances.yaml covers: "
              "the largest absolute and relative difference from the baseline and how many "
              "lie outside the tolerance.", "",
              "| tolerance | stage | values | largest abs. difference | largest rel. difference "
              "| rtol | atol | outside |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    known = tolerances()
    for name, u in use.items():
        lines.append(f"| `{name}` | {known[name].stage} | {u['values']} | {_g(u['max_abs'])} | "
                     f"{_g(u['max_rel'])} | {u['rtol']:g} | {u['atol']:g} | {u['outside']} |")
    missing = uncovered(files)
    if missing:
        lines += ["", "No tolerance covers (yet): " + ", ".join(f"`{f}`" for f in missing) + "."]
    lines += ["", "## Per stage and variant", "",
              "Values changed / compared, largest absolute and relative difference, changed "
              "words (statuses, verdicts and text), over the stage's files.", "",
              "| stage | variant | changed / values | largest abs. | largest rel. | words changed |",
              "| --- | --- | ---: | ---: | ---: | ---: |"]
    ok = files[files["structure"] == "ok"] if len(files) else files
    for (stage, variant), g in ok.groupby(["stage", "variant"], sort=True):
        lines.append(f"| {stage} | `{variant}` | {int(g['changed'].sum())} / "
                     f"{int(g['values'].sum())} | {_g(g['max_abs'].max())} | "
                     f"{_g(g['max_rel'].max())} | {int(g['words_changed'].sum())} |")
    other = files[files["structure"] != "ok"] if len(files) else files
    for _, r in other.iterrows():
        lines.append(f"| {r['stage']} | `{r['variant']}` | {r['file']}: {r['structure']} | | | |")
    lines += ["", "## Figures' final values", "",
              "Per network experiment (the paper figures drawn from it), the largest change over "
              "the variants of its per-setting means (summary.csv): test accuracy in points, "
              "train loss and Hessian trace relative.", "",
              "| experiment | figures | test acc. (points) | train loss (rel.) | Hessian trace "
              "(rel.) |", "| --- | --- | ---: | ---: | ---: |"]
    for experiment, by_metric in _summary_travel(result).items():
        lines.append(f"| {experiment} | {by_metric['figures']} | "
                     f"{_g(by_metric.get('test_acc', 0.0))} | "
                     f"{_g(by_metric.get('train_loss', 0.0))} | "
                     f"{_g(by_metric.get('hessian_trace', 0.0))} |")
    lines += ["", "## Claim rows", "",
              f"Every row of the {result['scale']}-scale claims table (results/claims.csv) and "
              "of the shipped CPU-scale network claims rebuilt from their run records: the "
              "largest change of its estimate or interval over the variants, and its verdict "
              "under each variant where that differs from the baseline's. A row whose verdict "
              "changes is **fragile**.", "",
              "| table | claim | row | setting | baseline verdict | largest change | "
              "verdict elsewhere |", "| --- | --- | --- | --- | --- | ---: | --- |"]
    for key, rows in claims.groupby(["table", "claim", "row", "setting"], sort=False,
                                    dropna=False):
        flips = rows[rows["flipped"]]
        elsewhere = "; ".join(f"`{r['variant']}`: {r['verdict_variant']}"
                              for _, r in flips.iterrows())
        table = "shipped (CPU)" if key[0] != "results/claims.csv" else result["scale"]
        lines.append(f"| {table} | {key[1]} | {key[2]} | {key[3]} | {rows['verdict'].iloc[0]} | "
                     f"{_g(rows['max_abs'].max())} | "
                     f"{('**fragile**: ' + elsewhere) if elsewhere else 'same'} |")
    lines += ["", f"Fragile {result['scale']}-scale verdicts: "
              + (", ".join(f"{r['claim']} {r['row']} ({r['setting']})" for r in fragile_rows)
                 or "none") + ".", "", MARKERS[1], ""]
    return "\n".join(lines)


def _summary_travel(result: dict) -> dict:
    """experiment -> {metric: largest change of a per-setting mean, 'figures': ...}."""
    base = result["runs"]["baseline"]["folder"]
    out = {}
    for path in sorted((base / "results" / "networks").glob("*/summary.csv")):
        relative = path.relative_to(base)
        a = pd.read_csv(path)
        entry = {"figures": figures_of(str(relative))}
        for name, run in result["runs"].items():
            if name == "baseline" or not (run["folder"] / relative).is_file():
                continue
            b = pd.read_csv(run["folder"] / relative)
            if len(b) != len(a):
                continue
            for metric in ("test_acc", "train_loss", "hessian_trace"):
                rows = (a["metric"] == metric).to_numpy()
                x, y = a["mean"].to_numpy()[rows], b["mean"].to_numpy()[rows]
                ok = np.isfinite(x) & np.isfinite(y)
                change = np.abs(x - y)[ok]
                if metric != "test_acc":
                    change = change / np.maximum(np.abs(x[ok]), 1e-300)
                entry[metric] = max(entry.get(metric, 0.0), float(change.max(initial=0.0)))
        out[path.parent.name] = entry
    return out


def _cpu_model() -> str:
    from noise_injection.base.results import _cpu_model as model

    return model()


def write(result: dict, out: Path, config_out: Path) -> None:
    use = tolerance_use(result["pairs"])
    fragile_rows = fragile(result["claims"])
    missing = uncovered(result["files"])
    (out / "travel").mkdir(parents=True, exist_ok=True)
    result["files"].to_csv(out / "travel" / "files.csv", index=False)
    result["claims"].to_csv(out / "travel" / "claims.csv", index=False)
    (out / "travel.md").write_text(markdown(result, use, fragile_rows))
    record = {"generated_by": COMMAND, "revision": result["revision"], "scale": result["scale"],
              "targets": result.get("targets") or "every figure",
              "date": date.today().isoformat(), "machine": _cpu_model(),
              "variants": {n: r["variant"].what for n, r in result["runs"].items()},
              "tolerances": use, "uncovered": missing, "fragile": fragile_rows}
    header = ("# Generated by benchmarks/travel.py (do not edit): how far the numbers moved when\n"
              "# this machine imitated others (docs/travel.md); per tolerance of\n"
              "# config/tolerances.yaml the largest differences it covers, and the claim rows\n"
              "# whose verdict word changed (fragile).\n")
    config_out.write_text(header + yaml.safe_dump(json.loads(json.dumps(record, default=_plain)),
                                                  sort_keys=False, width=100))
    print(f"wrote {out / 'travel.md'}, {out / 'travel'}/files.csv, claims.csv, {config_out}")
    for name, u in use.items():
        print(f"{name}: largest difference {u['max_abs']:.3g} (abs.), {u['max_rel']:.3g} (rel.); "
              f"{u['outside']} of {u['values']} outside rtol {u['rtol']:g} / atol {u['atol']:g}")
    if missing:
        print("no tolerance of config/tolerances.yaml covers: " + ", ".join(missing) + "; add "
              "one per stage, at least twice the largest difference measured (docs/travel.md)")


def _plain(x):
    if isinstance(x, (np.integer, np.floating)):
        return x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    raise TypeError(type(x))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True,
                        help="one folder per variant (kept: a second call resumes)")
    parser.add_argument("--scale", choices=sorted(SCALES), default="quick")
    parser.add_argument("--variants", nargs="+", default=None,
                        help="only these (the baseline always runs); default: all")
    parser.add_argument("--targets", nargs="+", default=(),
                        help="Snakemake targets (default: every figure), e.g. finite variance")
    parser.add_argument("--out", type=Path, default=ROOT / "docs",
                        help="where travel.md and travel/*.csv go (default: docs/)")
    parser.add_argument("--config-out", type=Path, default=None,
                        help="the measurement the tolerances read (default: config/travel.yaml "
                             "for the quick scale, OUT/travel.yaml otherwise)")
    args = parser.parse_args(argv)
    known = {v.name for v in variants()}
    unknown = set(args.variants or ()) - known
    if unknown:
        parser.error(f"unknown variant(s) {sorted(unknown)}; this machine has {sorted(known)}")
    config_out = args.config_out or (ROOT / "config" / "travel.yaml" if args.scale == "quick"
                                     else args.out / "travel.yaml")
    result = measure(args.workdir.resolve(), args.scale, args.variants, tuple(args.targets))
    write(result, args.out, config_out)
    if config_out == ROOT / "config" / "travel.yaml":  # the README's table reads it
        from noise_injection.workflow import gallery, tolerances as T

        T.travel.cache_clear()
        gallery.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
