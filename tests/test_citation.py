"""LICENSE, CITATION.cff and the README's BibTeX say the same thing as pyproject.toml and the
paper (docs/paper.md: Orvieto, Raj, Kersting, Bach; AISTATS 2023, PMLR 206:7265-7287,
arXiv 2206.04613, DOI 10.48550/arXiv.2206.04613). CITATION.cff is validated against the
Citation File Format 1.2.0 schema, kept in tests/data (the schema cffconvert 2.0.0 ships;
cffconvert itself needs jsonschema < 4, which the project's >= 4.18 excludes)."""

import json
import re
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
AUTHORS = ["Orvieto", "Raj", "Kersting", "Bach"]
DOI = "10.48550/arXiv.2206.04613"
PMLR = "https://proceedings.mlr.press/v206/orvieto23a.html"


def bibtex_entries() -> dict[str, dict[str, str]]:
    """The README's BibTeX entries by type: field -> value (outer braces stripped)."""
    blocks = re.findall(r"```bibtex\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    assert len(blocks) == 1
    entries = {}
    for kind, body in re.findall(r"@(\w+)\{[^,]+,\n(.*?)\n\}", blocks[0], flags=re.S):
        entries[kind] = {k: v.strip()[1:-1] for k, v in
                         re.findall(r"^\s*(\w+)\s*=\s*(.*?),?$", body, flags=re.M)}
    return entries


def test_license_is_the_one_pyproject_declares():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"]["text"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")


def test_citation_cff_cites_the_paper_and_the_artifact():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software"
    assert cff["version"] == project["version"] and cff["license"] == "MIT"
    paper = cff["preferred-citation"]
    assert [a["family-names"] for a in paper["authors"]] == AUTHORS
    assert (paper["year"], paper["volume"], paper["start"], paper["end"]) == (2023, 206, 7265, 7287)
    assert "AISTATS 2023" in paper["collection-title"]
    assert paper["identifiers"][0]["value"] == "arXiv:2206.04613"
    assert paper["doi"] == DOI and cff["date-released"]
    cited = cff["references"][0]
    assert (cited["doi"], cited["volume"], cited["start"], cited["end"]) == (DOI, 206, 7265, 7287)
    assert cited["url"] == PMLR and PMLR in [i["value"] for i in paper["identifiers"]]


def test_citation_cff_is_valid_citation_file_format():
    """The schema check cffconvert --validate makes (tested: an unknown key fails it)."""
    schema = json.loads((ROOT / "tests/data/citation-file-format-1.2.0.schema.json").read_text())
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker()).validate(cff)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate({**cff, "released": "2026"})


def test_readme_bibtex_matches_citation_cff():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    entries = bibtex_entries()
    paper, artifact = entries["inproceedings"], entries["software"]
    assert paper["author"] == " and ".join(
        f"{a['family-names']}, {a['given-names']}" for a in cff["preferred-citation"]["authors"])
    assert paper["title"] == cff["preferred-citation"]["title"]
    assert paper["eprint"] == cff["preferred-citation"]["identifiers"][0]["value"].split(":")[1]
    assert paper["pages"] == "7265--7287" and paper["volume"] == "206" and paper["year"] == "2023"
    assert paper["doi"] == DOI and paper["url"] == PMLR
    assert artifact["version"] == cff["version"] and artifact["license"] == cff["license"]
    assert artifact["title"] == " ".join(cff["title"].split())
