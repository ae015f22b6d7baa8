"""Every target the README names exists: one dry run (`snakemake -n`) of all of them."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: snakemake options that take a value (the value is not a target).
VALUED = {"--cores", "-c", "--configfile", "--report", "--workflow-profile", "--sdm",
          "--directory", "--snakefile", "--profile", "--forcerun", "--rerun-triggers",
          "--archive"}


def readme_targets(text: str) -> list[str]:
    """Targets in inline `snakemake ...` commands, the gallery's target column, and the
    stage names listed beside the one-stage command."""
    targets = []
    for span in re.findall(r"`(snakemake [^`]*)`", text):
        tokens = shlex.split(span)[1:]
        skip = False
        for token in tokens:
            if skip:
                skip = False
            elif token.startswith("-"):
                skip = token in VALUED
            else:
                targets.append(token)
    for row in re.findall(r"^\|.*\|$", text, flags=re.M):
        cells = [c.strip() for c in row.strip("|").split("|")]
        if len(cells) == 6 and re.fullmatch(r"`[\w./]+`", cells[2]):
            targets.append(cells[2].strip("`"))
    also = re.search(r"\(also ((?:`\w+`,? ?)+)\)", text)
    targets += re.findall(r"`(\w+)`", also.group(1)) if also else []
    return sorted(set(targets))


def test_every_target_the_readme_names_exists():
    targets = readme_targets((ROOT / "README.md").read_text())
    for expected in ("fig1", "fig2", "fig6", "finite", "review", "injector",
                     "figures/fig2_linear_dynamics.pdf"):
        assert expected in targets
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", *targets], cwd=ROOT,
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    assert proc.returncode == 0, f"targets {targets}:\n{proc.stderr[-3000:]}"
