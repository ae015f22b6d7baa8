"""The house: the package mirrors the stages in layers that import downward, the README's code
runs as printed, and the jobs that only aggregate, judge or plot never import torch or seaborn
(each would pay seconds for it)."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from noise_injection.workflow.code import _imported_modules

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "noise_injection"
STAGES = ("finite", "variance", "networks", "injector", "claims", "workflow", "base")


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.S)


def test_every_stage_has_its_subpackage_with_a_docstring():
    for stage in STAGES:
        init = PACKAGE / stage / "__init__.py"
        assert init.is_file(), f"noise_injection/{stage}/ is not a package"
        text = init.read_text()
        assert text.startswith('"""') and "rules/" in text.split('"""')[1], (
            f"{init} must open with a docstring naming the rule file that uses it")


def test_no_module_repeats_its_folders_name():
    for module in PACKAGE.rglob("*.py"):
        folder = module.parent.name
        if folder != "noise_injection":
            assert not module.stem.startswith(folder), f"{module.relative_to(ROOT)} repeats '{folder}'"
        for stage in STAGES:
            assert not module.stem.startswith(f"{stage}_"), f"{module.relative_to(ROOT)}: stage prefix"


#: the package's layers, lowest first: a module imports only from its own layer or below, and a
#: stage never from another stage (noise_injection/base/__init__.py states the same)
LAYERS = (("base",), ("perturb", "injection", "theory"),
          ("finite", "variance", "networks", "injector"), ("claims",), ("workflow",))
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def imported_parts(module: Path) -> set[str]:
    """The top-level parts of noise_injection (``base``, ``claims``, ...) a module imports,
    function bodies included, read as the code hashes read them
    (:func:`noise_injection.workflow.code._imported_modules`); the package imports absolutely
    (a relative import fails)."""
    source = module.read_text()
    assert not any(getattr(node, "level", 0) for node in ast.walk(ast.parse(source))), (
        f"{module}: a relative import")
    return {name.split(".")[1] for name in _imported_modules(source) if "." in name} & set(RANK)


def layering_violations(package: Path = PACKAGE) -> list[str]:
    """Every import of the package that points up a layer or across stages."""
    found = []
    for module in sorted(package.rglob("*.py")):
        own = module.relative_to(package).parts[0].removesuffix(".py")
        if own == "__init__":
            continue
        assert own in RANK, f"{module}: noise_injection/{own} is in no layer of LAYERS"
        for part in imported_parts(module) - {own}:
            if RANK[part] > RANK[own] or RANK[part] == RANK[own] == RANK["finite"]:
                found.append(f"{module.relative_to(package.parent)} imports noise_injection.{part}")
    return found


def test_imports_point_down_the_layers():
    assert layering_violations() == []


def test_the_layering_check_sees_an_upward_and_a_sideways_import(tmp_path):
    copy = tmp_path / "noise_injection"
    for folder, text in {"base": "from noise_injection.claims import table\n",
                         "finite": "from noise_injection.networks.experiments import FIGURES\n"}.items():
        (copy / folder).mkdir(parents=True)
        (copy / folder / "m.py").write_text(text)
    assert layering_violations(copy) == ["noise_injection/base/m.py imports noise_injection.claims",
                                         "noise_injection/finite/m.py imports noise_injection.networks"]


def test_every_rule_script_exists_in_its_stage_folder():
    for rules in (ROOT / "rules").glob("*.smk"):
        for script in re.findall(r'"\.\./(scripts/[^"]+)"', rules.read_text()):
            assert (ROOT / script).is_file(), f"{rules.name} names a missing {script}"
            assert Path(script).parts[1] == rules.stem, f"{script} is not under scripts/{rules.stem}/"


def test_readme_python_snippets_run_unchanged(tmp_path):
    blocks = python_blocks((ROOT / "README.md").read_text())
    assert len(blocks) >= 2
    # The injector snippet is a pattern around the user's own model and loader: give it those.
    harness = (
        "import torch\n"
        "model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))\n"
        "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "loss_fn = torch.nn.CrossEntropyLoss()\n"
        "loader = [(torch.randn(5, 4), torch.randint(0, 2, (5,))) for _ in range(3)]\n"
    )
    for i, block in enumerate(blocks):
        script = tmp_path / f"snippet_{i}.py"
        script.write_text(harness + block)
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                              cwd=tmp_path, timeout=300)
        assert proc.returncode == 0, f"README snippet {i} fails:\n{block}\n{proc.stderr[-2000:]}"


def test_public_api_names():
    import noise_injection
    import noise_injection.finite as finite

    assert callable(noise_injection.NoiseInjector)
    for name in ("fit_lasso_pgd", "fit_group_lasso_pgd", "fit_nuclear_pgd"):
        assert callable(getattr(finite, name))


def local_rule_scripts() -> list[str]:
    """Scripts of the rules that run on the submitting host (localrule: True): aggregation,
    claims, figures, report; the one exception that needs torch is the data download."""
    scripts = []
    for rules in sorted((ROOT / "rules").glob("*.smk")):
        for body in re.split(r"\n(?=\s*rule )", rules.read_text()):
            match = re.search(r'script:\s*\n\s*"\.\./(scripts/[^"]+)"', body)
            if match and "localrule: True" in body and "download" not in match.group(1):
                scripts.append(match.group(1))
    return scripts


@pytest.mark.parametrize("script", local_rule_scripts())
def test_local_jobs_do_not_import_torch_or_seaborn(script):
    tree = ast.parse((ROOT / script).read_text())
    imports = [ast.unparse(node) for node in tree.body  # module-level, multi-line ones too
               if (isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                   "noise_injection")) or (isinstance(node, ast.Import) and any(
                   a.name.startswith("noise_injection") for a in node.names))]
    assert imports, f"{script} imports nothing from the library"
    code = "\n".join(imports) + (
        "\nimport sys\nheavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'seaborn'))\nassert not heavy, heavy[:3]\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, f"{script} imports torch or seaborn:\n{proc.stderr[-1500:]}"


def test_records_and_objectives_do_not_import_what_they_do_not_use():
    """Every job writes its record through base.results and most read no table, so that
    import must not pull pandas; the finite summary only evaluates objectives, so
    finite.compare must not pull the convex solvers (~0.3 s and ~0.8 s of CPU per job that
    would import them: benchmarks/run_overhead.py)."""
    code = ("import sys\nimport noise_injection.base.results, noise_injection.base.runlog, "
            "noise_injection.finite.compare\nheavy = sorted({m.split('.')[0] for m in "
            "sys.modules} & {'pandas', 'cvxpy', 'sklearn'})\nassert not heavy, heavy\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-1500:]


def test_local_rule_scripts_are_found():
    scripts = local_rule_scripts()
    assert "scripts/networks/aggregate.py" in scripts and "scripts/review/claims.py" in scripts
    assert len(scripts) >= 15


def test_every_profile_reruns_on_content_not_on_code_timestamps():
    """Each workflow profile sets the project's rerun triggers (README, "Reruns"): 'params'
    (which carries every rule's code hash), never Snakemake's mtime-based 'code' trigger."""
    import yaml

    profiles = sorted((ROOT / "profiles").glob("*/config.yaml"))
    assert len(profiles) >= 3
    for profile in profiles:
        triggers = yaml.safe_load(profile.read_text()).get("rerun-triggers")
        assert triggers and "params" in triggers and "code" not in triggers, profile
