"""Result records: every result file says which config, seed, code and machine made it.

A record is a JSON object ``{"config", "seed", "status", "wall_time_s", "cpu_time_s",
"provenance", ...}`` with ``status`` one of :data:`STATUSES`; the times are those of the job's
computing part (:class:`Stopwatch`). Files are written atomically (temporary file in the
same folder, then rename), so a killed job never leaves a half-written result behind, and get
the permissions the process's umask gives a new file (0644 under umask 022), as ``open`` would,
so other users can read them on shared storage.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np

from noise_injection.base.inputs import read_json  # noqa: F401  (checked read, re-exported)

STATUSES = ("ok", "diverged")
#: Every library on the path from data to a number in a table or figure.
_VERSIONED = ("noise-injection", "numpy", "torch", "scipy", "scikit-learn", "pandas",
              "cvxpy", "numba", "matplotlib", "seaborn", "snakemake", "threadpoolctl")
#: Environment variables that change which kernels run, hence the last digits of a result.
_NUMERICS_ENV = ("ATEN_CPU_CAPABILITY", "NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES",
                 "NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                 "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "MKL_CBWR",
                 "CUBLAS_WORKSPACE_CONFIG")


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape the numbers."""
    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def numerics_environment() -> dict:
    """What decides the last digits of a result besides the code and the inputs: the CPU
    instruction sets numpy dispatches to and torch's CPU capability (the summation order of
    vectorized reductions depends on them), thread counts, the BLAS libraries loaded in this
    process (threadpoolctl) with oneDNN's state, and the environment variables that override
    any of these. torch is described only when the process imported it (a job that never
    did has no torch numerics)."""
    import numpy as _np
    from threadpoolctl import threadpool_info

    features = getattr(_np._core._multiarray_umath, "__cpu_features__", {})
    baseline = getattr(_np._core._multiarray_umath, "__cpu_baseline__", [])
    dispatch = getattr(_np._core._multiarray_umath, "__cpu_dispatch__", [])
    out = {
        "cpu": _cpu_model(),
        "numpy_cpu_baseline": list(baseline),
        "numpy_cpu_dispatch_enabled": [f for f in dispatch if features.get(f)],
        "blas": [{k: lib.get(k) for k in ("user_api", "internal_api", "version",
                                          "architecture", "num_threads", "threading_layer")}
                 for lib in threadpool_info()],
        "environment": {k: os.environ[k] for k in _NUMERICS_ENV if k in os.environ},
        "torch": "not imported",
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        out["torch"] = {
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "num_threads": torch.get_num_threads(),
            "num_interop_threads": torch.get_num_interop_threads(),
            "mkl": torch.backends.mkl.is_available(),
            "mkldnn": torch.backends.mkldnn.is_available(),
            "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        }
    return out


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_revision(cwd: str | os.PathLike | None = None) -> str:
    """The checked-out commit, with '-dirty' when tracked files differ; 'unknown' outside git."""
    cwd = cwd or Path(__file__).resolve().parent
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd, capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev + ("-dirty" if dirty else "")


def provenance(device: str = "cpu") -> dict:
    """Versions, git revision, host, device and numerics environment
    (:func:`numerics_environment`) of the process writing a result."""
    return {
        "versions": library_versions(),
        "git_revision": git_revision(),
        "host": platform.node(),
        "platform": platform.platform(),
        "device": device,
        "numerics": numerics_environment(),
    }


class Stopwatch:
    """Wall-clock and CPU time since it was started. CPU time is this process's, user +
    system, over all its threads (``time.process_time``; child processes not included)."""

    def __init__(self):
        self.wall_start, self.cpu_start = time.perf_counter(), time.process_time()

    def times(self) -> dict[str, float]:
        """``{"wall_time_s", "cpu_time_s"}`` since the start: the keywords of
        :func:`make_record`."""
        return {"wall_time_s": time.perf_counter() - self.wall_start,
                "cpu_time_s": time.process_time() - self.cpu_start}


def make_record(config: dict, seed: int | None, status: str, wall_time_s: float,
                device: str = "cpu", cpu_time_s: float | None = None, **payload) -> dict:
    """A result record with its provenance; ``payload`` holds the measured numbers.
    ``wall_time_s`` and ``cpu_time_s`` time the job's computing part (:class:`Stopwatch`),
    not its start-up (benchmarks/run_overhead.py compares the two)."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
    times = {"wall_time_s": float(wall_time_s)}
    if cpu_time_s is not None:
        times["cpu_time_s"] = float(cpu_time_s)
    return {
        "config": config,
        "seed": seed,
        "status": status,
        **times,
        "provenance": provenance(device),
        **payload,
    }


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_digests(paths) -> dict[str, str]:
    """``{path: file_sha256(path)}`` for every path given."""
    return {str(path): file_sha256(path) for path in paths}


def write_figure_record(job, clock: Stopwatch) -> None:
    """The run record of a figure job, written to its ``record`` output: ``job`` is the rule's
    ``snakemake`` object (outputs ``pdf``, ``png``, ``record``), ``clock`` started right after
    the job's imports. Config: the rule's name and params; no seed; the wall and CPU time
    since ``clock`` started (the drawing, :func:`make_record`); payload: the SHA-256 of every
    input it read (``inputs``) and of the figure files it wrote (``figures``), digested after
    the clock stopped."""
    times = clock.times()
    write_json(job.output.record, make_record(
        {"rule": job.rule, "params": dict(job.params.items())}, None, "ok", **times,
        inputs=file_digests(job.input), figures=file_digests([job.output.pdf, job.output.png])))


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        value = float(obj)
        return value if math.isfinite(value) else str(value)  # JSON has no nan/inf
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic_write(path: str | os.PathLike, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would survive the rename
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike, record: dict) -> None:
    """Write ``record`` as indented JSON, atomically (nan/inf become strings)."""
    text = json.dumps(_jsonable(record), indent=2, sort_keys=False) + "\n"
    _atomic_write(path, lambda fh: fh.write(text.encode()))


def write_npz(path: str | os.PathLike, **arrays) -> None:
    """``np.savez_compressed``, atomically."""
    _atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))
