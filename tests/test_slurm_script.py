"""tests/cluster/slurm.sh tells a configuration left by a killed test cluster (replaced) from a
real one or a running test cluster's (refused), without starting anything: its ``leftover``
function, run on files made here."""

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent / "cluster" / "slurm.sh"


def leftover(target: Path) -> bool:
    """Whether slurm.sh's ``leftover`` calls ``target`` a stopped test cluster's."""
    text = SCRIPT.read_text()
    function = text[text.index("leftover() {"):]
    function = function[:function.index("\n}\n") + 3]
    return subprocess.run(["bash", "-c", f"{function}\nleftover {target}"]).returncode == 0


@pytest.mark.parametrize("first_line, pid, expected", [
    ("ClusterName=noiseinjection", None, True),            # killed before its stop
    ("ClusterName=noiseinjection", "dead", True),          # its slurmctld is gone
    ("ClusterName=noiseinjection", "alive", False),        # a test cluster running
    ("ClusterName=production", None, False),               # a real configuration
])
def test_leftover_configurations_are_told_from_real_and_running_ones(tmp_path, first_line, pid,
                                                                     expected):
    conf = tmp_path / "slurm.conf"
    conf.write_text(first_line + "\nSlurmUser=root\n")
    if pid:
        number = os.getpid() if pid == "alive" else 2**22 + 1  # above Linux's pid_max default
        (tmp_path / "slurmctld.pid").write_text(f"{number}\n")
    assert leftover(conf) is expected


def test_a_vanished_target_is_a_leftover(tmp_path):
    assert leftover(tmp_path / "gone" / "slurm.conf")
