"""The accounting of benchmarks/run_overhead.py: a record's CPU time is its computing part's
(sleeping costs none), the run's total counts every descendant process, and the records'
share adds up their CPU time, reporting those that carry only a wall time."""

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from noise_injection.base.results import Stopwatch, make_record, write_figure_record, write_json

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("run_overhead",
                                               ROOT / "benchmarks" / "run_overhead.py")
run_overhead = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_overhead)

BUSY = "import time\nend = time.process_time() + {s}\nwhile time.process_time() < end: pass"


def test_a_stopwatch_counts_cpu_not_sleep():
    clock = Stopwatch()
    time.sleep(0.3)
    slept = clock.times()
    assert slept["wall_time_s"] >= 0.3 and slept["cpu_time_s"] < 0.1
    end = time.process_time() + 0.2
    while time.process_time() < end:
        pass
    assert clock.times()["cpu_time_s"] >= 0.2


def test_wait4_counts_the_processes_a_child_started():
    """The total of a run is the rusage of the Snakemake process from wait4: it must include
    the CPU of the jobs it started (here a grandchild busy for 0.4 s of CPU)."""
    child = subprocess.Popen([sys.executable, "-c",
                              f"import subprocess, sys; subprocess.run([sys.executable, '-c', "
                              f"{BUSY.format(s=0.4)!r}], check=True)"])
    _, status, usage = os.wait4(child.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert usage.ru_utime + usage.ru_stime >= 0.4


def test_the_records_share_sums_their_cpu_time(tmp_path):
    """Run records under results/ and figures/ count; tables and files elsewhere do not."""
    results = tmp_path / "results"
    write_json(results / "finite" / "a.json", make_record({}, 0, "ok", 9.0, cpu_time_s=1.5))
    write_json(results / "networks" / "e" / "b.json",
               make_record({}, 1, "diverged", 8.0, cpu_time_s=0.25))
    write_json(results / "networks" / "e" / "old.json", make_record({}, 2, "ok", 2.0))
    write_json(results / "networks" / "e" / "summary.json", {"cpu_time_s": 100.0})
    write_json(tmp_path / "figures" / "fig3.json",
               make_record({}, None, "ok", 4.0, cpu_time_s=0.125))
    write_json(tmp_path / "data" / "d.json", make_record({}, 0, "ok", 1.0, cpu_time_s=50.0))
    assert run_overhead.records_cpu(tmp_path) == {
        "inside_cpu_s": 1.5 + 0.25 + 2.0 + 0.125, "figure_records_cpu_s": 0.125, "records": 4,
        "records_without_cpu_time": 1}


def test_a_job_log_states_its_start_up_and_its_whole_cpu_time(tmp_path):
    """A job that imports for a while (here: spins 0.3 s of CPU before log_to_file) and then
    works 0.4 s logs a start-up of at least 0.3 s and a whole of at least 0.7 s; the benchmark
    sums both over the logs."""
    log = tmp_path / "logs" / "stage" / "job.log"
    code = (f"{BUSY.format(s=0.3)}\n"
            f"from noise_injection.base.runlog import log_to_file\n"
            f"log_to_file({str(log)!r})\n{BUSY.format(s=0.4)}\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    (tmp_path / "logs" / "other.log").write_text("no CPU lines in a log of an older revision\n")
    logged = run_overhead.logged_cpu(tmp_path / "logs")
    assert logged["logged_jobs"] == 1
    assert 0.3 <= logged["startup_cpu_s"] < 0.3 + 2.0  # plus the interpreter and the imports
    assert logged["logged_job_cpu_s"] >= logged["startup_cpu_s"] + 0.4 - 0.002  # ms in the log


class _Named(list):
    """A Snakemake-like named list: the files as a list, the params by name via items()."""

    def __init__(self, items=(), **named):
        super().__init__(items)
        self.__dict__.update(named)

    def items(self):
        return self.__dict__.items()


def test_a_figure_record_times_the_drawing_and_digests_its_files(tmp_path):
    """A figure job's record: the drawing's CPU time since the clock started (here 0.2 s of
    work) and the SHA-256 of its inputs and of the PDF and PNG (recomputed with hashlib)."""
    files = {name: tmp_path / name for name in ("a.csv", "b.npz", "f.pdf", "f.png")}
    for i, path in enumerate(files.values()):
        path.write_bytes(bytes([i]) * (100 + i))
    job = SimpleNamespace(
        rule="fig", input=_Named([str(files["a.csv"]), str(files["b.npz"])]),
        params=_Named(figure="f", scale=2),
        output=_Named(pdf=str(files["f.pdf"]), png=str(files["f.png"]),
                      record=str(tmp_path / "f.json")))
    clock = Stopwatch()
    end = time.process_time() + 0.2
    while time.process_time() < end:
        pass
    write_figure_record(job, clock)
    record = json.loads((tmp_path / "f.json").read_text())
    sha = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files.values()}
    assert record["inputs"] == {k: sha[k] for k in job.input}
    assert record["figures"] == {k: sha[k] for k in (job.output.pdf, job.output.png)}
    assert record["config"] == {"rule": "fig", "params": {"figure": "f", "scale": 2}}
    assert 0.2 <= record["cpu_time_s"] < 1.0 and record["seed"] is None
