"""A page of the report as a PNG, taken by headless Chromium (Debian's ``chromium``), to look
at the report as a reader does: ``snakemake --report report.html`` then
``python -m noise_injection.workflow.screenshot report.html report.png``; and the page's
layout as Chromium lays it out at the same window size (:func:`layout`: full height, where
given elements end), to bound a page's length in tests."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WINDOW = (1400, 1000)  # CSS px: the first screen of a reader's window
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--window-size={WINDOW[0]},{WINDOW[1]}", "--virtual-time-budget=5000")


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


#: Appended to a copy of the page: writes the layout into an attribute of <body>, which
#: ``--dump-dom`` prints once the page has loaded.
_MEASURE = """<script>window.addEventListener('load', () => {
  const ids = %s, bottoms = {};
  for (const id of ids) { const e = document.getElementById(id);
    bottoms[id] = e ? e.getBoundingClientRect().bottom + window.scrollY : null; }
  document.body.setAttribute('data-layout', JSON.stringify(
    {height: document.documentElement.scrollHeight, width: window.innerWidth, bottoms}));
});</script>"""


def layout(page: str | Path, ids=()) -> dict:
    """How Chromium lays out ``page`` in a window of :data:`WINDOW`: ``height`` (the whole
    document, CSS px), ``width`` (the window's) and ``bottoms`` (per element id in ``ids``,
    how far below the top of the page it ends; None if the page has no such element)."""
    browser = chromium()
    if browser is None:
        raise FileNotFoundError("no chromium on the PATH (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "page.html"
        copy.write_text(Path(page).read_text() + _MEASURE % json.dumps(list(ids)))
        dom = subprocess.run([browser, *FLAGS, f"--user-data-dir={tmp}/profile", "--dump-dom",
                              copy.as_uri()], check=True, capture_output=True, text=True,
                             timeout=300).stdout
    found = re.search(r'data-layout="([^"]*)"', dom)
    if not found:
        raise RuntimeError(f"chromium did not lay out {page} (no layout in its DOM)")
    return json.loads(html.unescape(found.group(1)))


if __name__ == "__main__":
    print(screenshot(*sys.argv[1:3]))
