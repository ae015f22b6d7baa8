"""The code hash behind the rules' 'code' param: it follows the imports of a script through
the package (relative and lazy imports included) and changes with the code, not with a touch,
a comment or a docstring."""

import os
from pathlib import Path

from noise_injection.workflow.code import code_files, code_hash

ROOT = Path(__file__).resolve().parents[1]


def tree(tmp_path):
    files = {
        "scripts/stage/step.py": "from noise_injection.a.b import f\nprint(f())\n",
        "noise_injection/__init__.py": "",
        "noise_injection/a/__init__.py": '"""Package a."""\n',
        "noise_injection/a/b.py": "from .c import g\n\ndef f():\n    return g() + 1\n",
        "noise_injection/a/c.py": "def g():\n    from noise_injection.d import h\n    return h()\n",
        "noise_injection/d.py": "def h():\n    return 1\n",
        "noise_injection/unused.py": "X = 1\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def fresh_hash(root):
    code_hash.cache_clear()
    return code_hash(root, "scripts/stage/step.py")


def test_files_follow_imports_through_the_package(tmp_path):
    root = tree(tmp_path)
    assert code_files(root, "scripts/stage/step.py") == [
        "noise_injection/__init__.py", "noise_injection/a/__init__.py", "noise_injection/a/b.py",
        "noise_injection/a/c.py", "noise_injection/d.py", "scripts/stage/step.py"]


def test_hash_changes_with_code_only(tmp_path):
    root = tree(tmp_path)
    before = fresh_hash(root)
    for path in root.rglob("*.py"):
        os.utime(path, (0, 0))
    deep = root / "noise_injection" / "d.py"
    deep.write_text('"""A docstring."""\n# a comment\n\n\ndef h():\n    """Returns one."""\n'
                    "    return 1  # still one\n")
    assert fresh_hash(root) == before
    (root / "noise_injection" / "unused.py").write_text("X = 2\n")
    assert fresh_hash(root) == before
    deep.write_text("def h():\n    return 2\n")
    assert fresh_hash(root) != before


def test_the_training_rule_runs_the_injector_and_the_figures_do_not_run_the_trainer():
    train = code_files(ROOT, "scripts/networks/train.py")
    assert {"noise_injection/networks/train.py", "noise_injection/perturb.py"} <= set(train)
    assert "noise_injection/networks/train.py" not in code_files(ROOT, "scripts/networks/figure.py")
    assert "noise_injection/claims/table.py" in code_files(ROOT, "notebooks/review.ipynb")
