"""One tarball of the artifact: code, configs, environments and every tracked file.

``snakemake --archive FILE.tar.gz`` does this too, but it needs conda (it resolves and packs
the conda environments), which this project's CI and many review machines lack. This module
packs what git tracks, as it is in the working tree (like ``snakemake --archive``), under one
top folder ``noise-injection-<revision>/``: the Snakefile, rules, scripts, the library,
configs, schemas, profiles, the conda environment files (envs/*.yaml), pyproject.toml, the
report captions, the notebook, tests, LICENSE and CITATION.cff. Generated files (data,
results, figures, logs) are never in it, since git ignores them. The archive is reproducible:
sorted members, fixed owner and modification time, no gzip time stamp, so the same tree gives
the same bytes.

    python -m noise_injection.workflow.archive [--output FILE] [--check]

``--check`` unpacks the archive into a temporary folder and dry-runs the workflow there
(``snakemake -n``, default and paper scales) with the archive's own library, not the
checkout's.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Modification time of every member (2023-01-01 UTC): the archive depends on contents only.
MTIME = 1672531200
#: The dry runs of --check: default (quick) scale and the paper's.
CHECK_CONFIGS = (None, "config/paper.yaml")


def tracked_files(root: Path = ROOT) -> list[str]:
    """Files git tracks under ``root`` that exist in the working tree, sorted."""
    out = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True)
    names = [n for n in out.stdout.decode().split("\0") if n]
    return sorted(n for n in names if (root / n).is_file())


def revision(root: Path = ROOT) -> str:
    """Short commit id, with '-dirty' when tracked files differ from it."""
    out = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=root,
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def make_archive(output: str | Path, root: Path = ROOT) -> Path:
    """Write the tracked files of ``root`` to ``output`` (.tar.gz) under
    ``noise-injection-<revision>/``; returns the output path."""
    output = Path(output)
    prefix = f"noise-injection-{revision(root)}"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in tracked_files(root):
            path = root / name
            info = tarfile.TarInfo(f"{prefix}/{name}")
            info.size = path.stat().st_size
            info.mtime = MTIME
            info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with open(path, "rb") as fh:
                tar.addfile(info, fh)
    with open(output, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0,
                                                 filename="") as gz:
        gz.write(buffer.getvalue())
    return output


def unpack(archive: str | Path, into: str | Path) -> Path:
    """Unpack ``archive`` into ``into``; returns the archive's top folder."""
    with tarfile.open(archive, "r:gz") as tar:
        tops = {Path(m.name).parts[0] for m in tar.getmembers()}
        if len(tops) != 1:
            raise ValueError(f"{archive} must hold one top folder, found {sorted(tops)}")
        tar.extractall(into, filter="data")
    return Path(into) / tops.pop()


def dry_run(folder: Path, configfile: str | None = None) -> subprocess.CompletedProcess:
    """``snakemake -n`` in ``folder`` with the folder's own library first on the path (the
    checkout's PYTHONPATH is dropped)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    args = [sys.executable, "-m", "snakemake", "-n", "--cores", "1"]
    if configfile:
        args += ["--configfile", configfile]
    return subprocess.run(args, cwd=folder, env=env, capture_output=True, text=True)


def check_archive(archive: str | Path) -> list[str]:
    """Unpack ``archive`` and dry-run it at every scale of :data:`CHECK_CONFIGS`; returns
    the problems found (empty: the archive stands on its own)."""
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = unpack(archive, tmp)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        where = subprocess.run([sys.executable, "-c", "import noise_injection; "
                                "print(noise_injection.__file__)"], cwd=folder, env=env,
                               capture_output=True, text=True)
        if not where.stdout.strip().startswith(str(folder.resolve())):
            problems.append(f"the archive's library is not the one imported: {where.stdout}"
                            f"{where.stderr}")
        for configfile in CHECK_CONFIGS:
            proc = dry_run(folder, configfile)
            if proc.returncode != 0:
                problems.append(f"snakemake -n {configfile or '(default config)'} failed:\n"
                                f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", help="the tarball to write (default: "
                        "noise-injection-<revision>.tar.gz in the current folder)")
    parser.add_argument("--check", action="store_true",
                        help="unpack the archive and dry-run the workflow inside it")
    args = parser.parse_args(argv)
    output = make_archive(args.output or f"noise-injection-{revision()}.tar.gz")
    print(f"wrote {output} ({output.stat().st_size / 1e6:.1f} MB, "
          f"{len(tracked_files())} files)")
    if args.check:
        problems = check_archive(output)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            return 1
        print("the unpacked archive dry-runs on its own (default and paper scales)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
