"""Logs of workflow jobs: everything a job prints (progress bars, warnings, tracebacks) goes
to its ``log:`` file under logs/, with the CPU time the job spent starting (the interpreter
and its imports) and in all (:data:`STARTUP`, :data:`TOTAL`; benchmarks/run_overhead.py sums
them)."""

from __future__ import annotations

import atexit
import gc
import logging
import sys
import time
from pathlib import Path

#: The log lines with the job's CPU time (user + system, all threads: ``time.process_time``)
#: when it called :func:`log_to_file` (its start-up: the interpreter, Snakemake's preamble and
#: the imports) and when it exits.
STARTUP, TOTAL = "start-up CPU time", "job CPU time"


def log_to_file(path: str | Path, name: str = "noise_injection") -> logging.Logger:
    """Send this process's stderr (tqdm, warnings, tracebacks) and a logger to ``path``.

    Job scripts call this once, right after their imports, so it also moves every object
    alive so far (mostly the imported libraries' modules) out of the garbage collector's reach
    (``gc.freeze``): the collector then never walks them again, neither during the job nor
    in the final collection at interpreter exit, which otherwise costs ~0.7 s per job that
    imported torch (measured on 2 cores; the default DAG runs ~90 such jobs). It logs the CPU
    time spent so far (:data:`STARTUP`) and, at exit, in all (:data:`TOTAL`).
    """
    gc.freeze()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stream = open(path, "a", buffering=1)
    sys.stderr = stream
    logger = logging.getLogger(name)
    logger.handlers.clear()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.info("%s %.3f s", STARTUP, time.process_time())
    atexit.register(lambda: logger.info("%s %.3f s", TOTAL, time.process_time()))
    return logger
