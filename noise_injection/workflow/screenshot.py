"""A page of the report as a PNG, taken by headless Chromium (Debian's ``chromium``), to look
at the report as a reader does: ``snakemake --report report.html`` then
``python -m noise_injection.workflow.screenshot report.html report.png``."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,1000", "--virtual-time-budget=5000")


def chromium() -> str | None:
    """The Chromium executable on the PATH, if any."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(page: str | Path, png: str | Path) -> Path:
    """Render ``page`` (an HTML file) and write its first screen to ``png``."""
    browser = chromium()
    if browser is None:
        raise FileNotFoundError("no chromium on the PATH (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}",
                        f"--screenshot={Path(png).resolve()}", Path(page).resolve().as_uri()],
                       check=True, capture_output=True, timeout=300)
    return Path(png)


if __name__ == "__main__":
    print(screenshot(*sys.argv[1:3]))
