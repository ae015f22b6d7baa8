"""The code a rule runs, as a content hash: its script (or notebook) and every module of the
``noise_injection`` package that it imports, directly or through other modules.

Each rule passes the hash as a param, so Snakemake's ``params`` rerun trigger reruns exactly
the jobs whose code changed; a ``touch``, a checkout that leaves the content alone, or an edit
of comments or docstrings changes nothing. Imports are read from the source (``ast``), nothing is imported, so the Snakefile
stays cheap to parse. Conditional or dynamic imports (``importlib``) are not seen: the
library imports at the top of each module.
"""

from __future__ import annotations

import ast
import hashlib
import json
from functools import lru_cache
from pathlib import Path

PACKAGE = "noise_injection"


def _source(path: Path) -> str:
    """The Python source of a script, module or notebook (its code cells)."""
    text = path.read_text()
    if path.suffix == ".ipynb":
        cells = json.loads(text)["cells"]
        return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return text


def _imported_modules(source: str, package: str = "") -> set[str]:
    """Dotted names of the package's modules a source imports anywhere in it, function bodies
    included (so a lazy import counts, conservatively); ``from noise_injection.x import y``
    also counts ``noise_injection.x.y``, which may be a module. ``package`` resolves relative
    imports."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join(parts + [node.module] if node.module else parts) \
                if node.level else node.module
            names.add(base)
            names |= {f"{base}.{a.name}" for a in node.names}
    return {n for n in names if n == PACKAGE or n.startswith(PACKAGE + ".")}


def _module_file(root: Path, name: str) -> Path | None:
    base = root.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def code_files(root: str | Path, script: str, _imports: dict | None = None) -> list[str]:
    """The script and the package modules it runs, as paths relative to ``root`` (sorted).
    Importing ``a.b.c`` runs ``a/__init__.py`` and ``a/b/__init__.py`` too. ``_imports``:
    a memo of each file's imports, shared by :func:`code_hashes` across scripts."""
    root = Path(root)
    memo = {} if _imports is None else _imports
    seen: set[Path] = set()
    todo = [root / script]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        if path not in memo:
            package = ".".join(path.relative_to(root).parent.parts)
            memo[path] = _imported_modules(_source(path), package)
        for name in memo[path]:
            parts = name.split(".")
            for k in range(1, len(parts) + 1):
                module = _module_file(root, ".".join(parts[:k]))
                if module is not None and module not in seen:
                    todo.append(module)
    return sorted(str(p.relative_to(root)) for p in seen)


def _content(path: Path) -> bytes:
    """What of a file can change results: a Python file's syntax tree without docstrings
    (comments, docstrings and formatting do not count), any other file's bytes."""
    if path.suffix != ".py":
        return path.read_bytes()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree).encode()


def code_hashes(root: str | Path, scripts) -> dict[str, str]:
    """``script -> hash`` for several scripts, each file parsed once (the Snakefile hashes
    every rule's script at each start, on a cluster once per job): SHA-256 (first 16 hex
    digits) over the names and contents (:func:`_content`) of :func:`code_files`."""
    imports: dict = {}
    contents: dict[str, bytes] = {}
    out = {}
    for script in scripts:
        digest = hashlib.sha256()
        for name in code_files(root, script, imports):
            if name not in contents:
                contents[name] = _content(Path(root) / name)
            digest.update(name.encode() + b"\0" + contents[name] + b"\0")
        out[script] = digest.hexdigest()[:16]
    return out


@lru_cache(maxsize=None)
def code_hash(root: str | Path, script: str) -> str:
    """The hash of one script (:func:`code_hashes`)."""
    return code_hashes(root, [script])[script]
