"""No typed number in the documents: every number in README.md and docs/*.md that comes from a
run, a config or the DAG is generated (or recorded output of a named command), and a test
(tests/test_document_numbers.py) names each number that is neither.

A number is exempt when it lies
- inside a generated block, ``<!-- generated:NAME -->...<!-- /generated:NAME -->`` or
  ``<!-- NAME:start (generated from SOURCE) -->...<!-- NAME:end -->`` (rewritten by code from
  the workflow's own data, and tested to be current), or a whole generated file (its first line
  is such a start marker);
- inside a recorded block, ``<!-- recorded: COMMAND at REVISION -->...<!-- /recorded -->``: the
  output of a command run once at a stated revision (a benchmark, a lab notebook's pilot),
  kept as measured because it cannot be rerun by the tests;
- inside code (fenced or indented blocks, inline code spans): commands, file names, config
  keys and code the reader types, not statements of a result;
- part of a name: joined to a letter, digit or underscore or by a hyphen to a word
  (ResNet-18, CIFAR-10, 3-hidden-layer, C5a, x86_64, 8x8, arXiv:2206.04613), a heading's or
  list item's number, or a reference after a word of :data:`REFERENCE_WORDS` (Fig. 7,
  Figs. 3-12, Sec. 3 and 4, App. D-E);
- 0 or 1 (the identities of arithmetic: sigma 0, pixels in [0, 1], k = 1);
- a number of the paper: equal to a value of config/paper_numbers.yaml (the registry, each
  value cited to its figure or section) or of the authors' protocol checklist in
  config/deviations.yaml (each item with its source); outside docs/paper.md (the paper's page,
  every number of which is the paper's) not the integers 2-9, too common in any text to count
  as a citation;
- on the reviewed list config/document_numbers.yaml: the number, a phrase of its line, and
  why it is a constant of the text rather than a result (e.g. "2 cores" of the machine a
  command is sized for).

Run ``python -m noise_injection.workflow.docnumbers`` to list the numbers that are none of
these, each with file, line and what to do.
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = ("README.md", "docs/*.md")
ALLOWED = Path("config/document_numbers.yaml")
#: The project's account of the paper: every number on it is the paper's.
PAPER_PAGE = "docs/paper.md"
#: Words after which a number names a part of a document, not a quantity.
REFERENCE_WORDS = ("Fig.", "Figs.", "Figure", "Figures", "Sec.", "Secs.", "Section", "section",
                   "sections", "App.", "Appendix", "Eq.", "Eqs.", "Table", "Theorem", "Lemma",
                   "Prop.", "Proposition", "Corollary", "Algorithm", "issue", "issues", "item",
                   "items", "step", "steps", "Python", "CPython", "AISTATS", "vol.", "pages", "DOI", "C")
_BLOCKS = (re.compile(r"<!-- generated:([\w-]+) -->.*?<!-- /generated:\1 -->", re.S),
           re.compile(r"<!-- ([\w-]+):start \(generated from [^)]*\) -->.*?<!-- \1:end -->",
                      re.S),
           re.compile(r"<!-- recorded: [^>]*? at [0-9a-f]{7,40} -->.*?<!-- /recorded -->", re.S),
           re.compile(r"^```.*?^```", re.S | re.M),
           re.compile(r"(?:^(?: {4}|\t).*\n?)+", re.M),  # indented code (after a blank line)
           re.compile(r"(`+).+?\1", re.S),
           re.compile(r"<!--.*?-->", re.S),
           re.compile(r"\]\([^)]*\)"))  # link targets
#: A number: digits with optional thousands commas, decimals, exponent (1e-4, 3x10^5), percent.
_NUMBER = re.compile(r"(?<![\w.^/:])(?<![A-Za-z_]-)(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?"
                     r"(?:[eE][-+]?\d+)?(?:x10\^[-+]?\d+)?(?!\w|-[A-Za-z]|\.\d|\([a-z]\))")
#: A reference word, then the numbers or letters already listed after it (Figs. 3, 4 and |10).
_REFERENCE = re.compile(
    r"(?<![\w.])(?:" + "|".join(re.escape(w) for w in REFERENCE_WORDS) + r")\s+"
    r"(?:[\dA-Z]+[a-z]?\s*(?:-|,|and|or|to)\s*)*$")


@dataclass(frozen=True)
class Number:
    """A number of a document that no rule exempts."""

    path: str
    line: int
    text: str
    context: str

    def __str__(self) -> str:
        return (f"{self.path}:{self.line}: {self.text!r} in \"{self.context}\": generate it "
                f"(a generated block), mark a command's output as recorded, or add it with a "
                f"phrase of its line and why to {ALLOWED}")


def _blank(text: str, start: int, end: int) -> str:
    """``text`` with [start, end) replaced by spaces, newlines kept (line numbers stay)."""
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def masked(text: str) -> str:
    """The document with every exempt block blanked out (line numbers kept)."""
    if re.match(r"<!-- generated:[\w-]+ ", text):
        return re.sub(r"[^\n]", " ", text)
    for pattern in _BLOCKS:
        for m in reversed(list(pattern.finditer(text))):
            if pattern.pattern.startswith("(?:^(?: {4}") and not _after_blank(text, m.start()):
                continue
            text = _blank(text, m.start(), m.end())
    return text


def _after_blank(text: str, start: int) -> bool:
    """An indented block is code only after a blank line (else it continues a list item)."""
    return start == 0 or text[:start].endswith("\n\n") or text[:start].rstrip(" ").endswith("\n\n")


def _as_float(token: str) -> float:
    token = token.replace(",", "")
    if "x10^" in token:
        mantissa, exponent = token.split("x10^")
        return float(mantissa) * 10.0 ** int(exponent)
    return float(token)


def _values(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _values(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _values(v)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield float(obj)
    elif isinstance(obj, str):
        for token in re.findall(r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", obj):
            yield float(token)


@functools.cache
def paper_values(root: Path = ROOT) -> frozenset[float]:
    """Every number of the registry's values and of the authors' checklist."""
    registry = yaml.safe_load((root / "config" / "paper_numbers.yaml").read_text())
    deviations = yaml.safe_load((root / "config" / "deviations.yaml").read_text())
    found = set(_values([e.get("value") for e in registry.values()]))
    found |= set(_values([e.get("at") for e in registry.values()]))
    found |= set(_values(deviations.get("authors", {})))
    return frozenset(found)


def allowed(root: Path = ROOT) -> list[dict]:
    """The reviewed list: entries with file, number, phrase (text of its line) and why."""
    entries = yaml.safe_load((root / ALLOWED).read_text()) or []
    for i, entry in enumerate(entries):
        if set(entry) != {"file", "number", "phrase", "why"}:
            raise ValueError(f"{ALLOWED} entry {i} needs exactly file, number, phrase and why, "
                             f"got {sorted(entry)}")
    return entries


def _is_reference(line: str, start: int) -> bool:
    return bool(_REFERENCE.search(line[:start][-80:]))


def _is_list_or_heading(line: str, start: int) -> bool:
    """A heading's numbers (they name a part of the document) or a numbered item's number."""
    return line.lstrip().startswith("#") or bool(
        re.fullmatch(r"\s*", line[:start]) and re.match(r"\d+\.(?:\s|$)", line[start:]))


def bare_numbers(path: Path, root: Path = ROOT) -> list[Number]:
    """The numbers of one document that no rule exempts."""
    relative = str(path.relative_to(root))
    original = path.read_text()
    text = masked(original)
    paper = paper_values(root)
    entries = [e for e in allowed(root) if e["file"] == relative]
    out = []
    lines = text.splitlines()
    for number, (line, raw) in enumerate(zip(lines, original.splitlines()), 1):
        before = (lines[number - 2] + " " if number > 1 else "")  # a reference may wrap
        for m in _NUMBER.finditer(line):
            token, value = m.group(0), _as_float(m.group(0))
            if (value in (0.0, 1.0) or _is_reference(before + line, len(before) + m.start())
                    or _is_list_or_heading(line, m.start())
                    or (value in paper and (relative == PAPER_PAGE
                                            or not (value.is_integer() and value < 10)))
                    or any(str(e["number"]) == token and e["phrase"] in raw for e in entries)):
                continue
            out.append(Number(relative, number, token, raw.strip()[:120]))
    return out


def documents(root: Path = ROOT) -> list[Path]:
    return sorted(p for pattern in DOCUMENTS for p in root.glob(pattern))


def main() -> int:
    found = [n for path in documents() for n in bare_numbers(path)]
    for n in found:
        print(n)
    print(f"{len(found)} typed number(s)", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
