"""No tracked file points outside the repository.

The rule, over every tracked text file:

- a relative path that climbs (``../x``) must name a file or folder of the repository when
  resolved against the folder of the file that names it (``../scripts/x.py`` in ``rules/`` is
  fine, ``../shared/paper.md`` is not, from the root nor from ``config/``); a path built from
  a pattern (``{name}``) only has to stay inside;
- no absolute path into a particular machine's home or work folders (``/work/``, ``/home/``,
  ``/Users/``, ``/root/``, ``/mnt/``, ``~/``); system paths (``/etc``, ``/tmp``, ``/usr``) are
  the system's interfaces, not files of the project, and are allowed;
- every named Markdown document (``*.md``) is a file of the repository: tracked, found from the
  root, from the naming file's folder, or by its (unique) file name, or an output the workflow
  generates (a path git ignores, such as ``results/review/summary.md``, or a name of
  :data:`WRITTEN`, checked against the file that writes it);
- this test file is not read: its examples of outside references are the check's test data;
- web addresses are citations (the paper's DOI, PMLR and arXiv pages, the authors' repository)
  or download sources, not references to files of a checkout, and are not checked.
"""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MACHINE_PATH = re.compile(r"(?<![\w.:/-])(?:/(?:work|home|Users|root|mnt)/|~/)")
CLIMB = re.compile(r"(?<![\w./-])((?:\.\./)+[\w.-][\w./-]*)")
DOCUMENT = re.compile(r"(?<![\w./:-])([\w-][\w./-]*\.md)\b")
URL = re.compile(r"\b(?:https?://|www\.|[\w-]+\.(?:com|org|io|press)/)\S*")
#: Markdown files the project writes, named bare, by the tracked file that writes them.
WRITTEN = {"gpu_check.md": "benchmarks/gpu_check.py", "summary.md": "rules/review.smk"}


def tracked_text_files() -> dict[str, str]:
    """Path -> text of every tracked file that decodes as UTF-8 (images are skipped), this
    file's examples left out."""
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    texts = {}
    for name in names:
        if name == "tests/test_references.py":
            continue
        try:
            texts[name] = URL.sub(" ", (ROOT / name).read_text())
        except (UnicodeDecodeError, FileNotFoundError):
            continue
    return texts


def ignored(path: str) -> bool:
    """Whether git ignores ``path`` (an output the workflow generates)."""
    return subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=ROOT).returncode == 0


def outside_references(texts: dict[str, str]) -> list[str]:
    """'file: reference' for every reference that leaves the repository or names no file of it."""
    by_name = {}
    for name in texts:
        by_name.setdefault(Path(name).name, []).append(name)
    bad = []
    for name, text in texts.items():
        folder = (ROOT / name).parent
        bad += [f"{name}: {m.group(0)}" for m in MACHINE_PATH.finditer(text)]
        for ref in CLIMB.findall(text):
            target = (folder / ref).resolve()
            if not target.is_relative_to(ROOT) or not (target.exists() or "{" in ref):
                bad.append(f"{name}: {ref}")
        for ref in DOCUMENT.findall(text):
            found = ((ROOT / ref).is_file() or (folder / ref).is_file()
                     or len(by_name.get(ref, [])) == 1 or ignored(ref)
                     or Path(ref).name in WRITTEN)
            if not found:
                bad.append(f"{name}: {ref}")
    return bad


def test_no_tracked_file_points_outside_the_repository():
    assert outside_references(tracked_text_files()) == []


def test_written_documents_are_written_where_named():
    for name, writer in WRITTEN.items():
        assert re.search(rf"[\"'/]{re.escape(name)}[\"']", (ROOT / writer).read_text()), name


def test_the_check_finds_each_kind_of_outside_reference():
    texts = {"README.md": "see ../shared/paper.md and /work/main/x and results/x.csv",
             "rules/x.smk": 'script: "../scripts/finite/pgd.py"', "docs/a.md": "see missing.md",
             "config/x.yaml": "# Sources: ../shared/paper.md"}
    assert outside_references(texts) == ["README.md: /work/", "README.md: ../shared/paper.md",
                                         "docs/a.md: missing.md",
                                         "config/x.yaml: ../shared/paper.md"]
