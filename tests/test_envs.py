"""Each rule's conda environment (envs/*.yaml) lists every third-party package its script or
notebook imports, directly or through the noise_injection modules it runs (read from the
source, as noise_injection.workflow.code reads them); a shell rule's command is named too."""

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

from noise_injection.workflow.code import _source, code_files

ROOT = Path(__file__).resolve().parents[1]
#: Import name -> conda-forge package name, where they differ.
CONDA_NAMES = {"sklearn": "scikit-learn", "yaml": "pyyaml", "torch": "pytorch", "IPython": "ipython"}
#: Commands of shell rules -> the package that provides them.
COMMANDS = {"jupyter nbconvert": "nbconvert"}


def rules():
    """(rule file, code file or shell command, environment file) of every rule with conda:."""
    found = []
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=\s*rule\b)", smk.read_text()):
            env = re.search(r'conda:\s*"\.\./(envs/[^"]+)"', block)
            code = re.search(r'(?:script|notebook):\s*"\.\./([^"]+)"', block)
            shell = re.search(r'shell:\s*"([^"]+)"', block)
            if env:
                found.append((smk.name, code.group(1) if code else shell.group(1), env.group(1)))
    return found


def third_party_imports(script: str) -> set[str]:
    names = set()
    for path in code_files(ROOT, script):
        for node in ast.walk(ast.parse(_source(ROOT / path))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "noise_injection"}


def env_packages(env: str) -> set[str]:
    deps = yaml.safe_load((ROOT / env).read_text())["dependencies"]
    return {re.split(r"[\s=<>]", d)[0] for d in deps if isinstance(d, str)}


@pytest.mark.parametrize("rule_file, code, env", rules())
def test_environment_lists_what_the_rule_imports(rule_file, code, env):
    if code.startswith(("scripts/", "notebooks/")):
        needed = {CONDA_NAMES.get(n, n) for n in third_party_imports(code)}
    else:
        needed = {pkg for command, pkg in COMMANDS.items() if command in code}
    assert needed - env_packages(env) == set(), f"{rule_file}: {code} in {env}"


def test_every_rule_with_an_environment_is_seen():
    assert len(rules()) == sum(s.read_text().count("conda:") for s in (ROOT / "rules").glob("*.smk"))
