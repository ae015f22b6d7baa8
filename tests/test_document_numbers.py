"""No typed number in README.md and docs/*.md (noise_injection.workflow.docnumbers): every
number there is generated, recorded output of a named command at a revision, a name or
reference, the paper's (its registry), or on the reviewed list config/document_numbers.yaml."""

import textwrap

import pytest
import yaml

from noise_injection.workflow import docnumbers as D


def test_no_typed_number_in_the_documents():
    found = [n for path in D.documents() for n in D.bare_numbers(path)]
    assert not found, "typed numbers:\n" + "\n".join(str(n) for n in found)


def test_every_reviewed_entry_is_still_used():
    """A stale entry would exempt a number nobody reviewed for that place."""
    for entry in D.allowed():
        line = next((line for line in (D.ROOT / entry["file"]).read_text().splitlines()
                     if entry["phrase"] in line), None)
        assert line is not None, f"{entry['file']} no longer has {entry['phrase']!r}"
        assert str(entry["number"]) in entry["phrase"], entry


@pytest.fixture
def root(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "paper_numbers.yaml").write_text(
        "fig2_reff_optimum: {value: 0.011}\nfig6: {value: null, at: [0.005, 3]}\n")
    (tmp_path / "config" / "deviations.yaml").write_text(
        "authors:\n  mlp3_narrow: {lr: {value: 0.005, source: App. B}}\nentries: {}\n")
    (tmp_path / "config" / "document_numbers.yaml").write_text(yaml.safe_dump([
        {"file": "README.md", "number": 2, "phrase": "on 2 cores", "why": "the machine"}]))
    return tmp_path


def typed(root, text, name="README.md"):
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    D.paper_values.cache_clear()
    return [(n.line, n.text) for n in D.bare_numbers(path, root)]


def test_a_result_typed_in_prose_is_named_with_its_line(root):
    assert typed(root, """\
        # Results

        The fit gives sigma = 0.0809 and 1,500 iterations, residuals -0.97 and +0.98.
        """) == [(3, "0.0809"), (3, "1,500"), (3, "0.97"), (3, "0.98")]


def test_generated_recorded_and_code_are_exempt_and_a_bare_recorded_marker_is_not(root):
    assert typed(root, """\
        Measured <!-- generated:fit -->sigma 0.0809<!-- /generated:fit --> here.
        <!-- cpu-results:start (generated from results-cpu/) -->
        77.9 % +- 0.3
        <!-- cpu-results:end -->
        <!-- recorded: python benchmarks/x.py --steps 2 at 5348cb1 -->
        | mlp3_narrow | 0.0404 |
        <!-- /recorded -->
        Run `snakemake --cores 17` or

            python x.py --rounds 3000

        ```bash
        pip install torch==2.13.0
        ```
        """) == []
    assert typed(root, """\
        <!-- recorded: python benchmarks/x.py -->
        | mlp3_narrow | 0.0404 |
        <!-- /recorded -->
        """) == [(2, "0.0404")]


def test_names_references_and_headings_are_exempt(root):
    assert typed(root, """\
        ## 4. Networks at 8x8

        ResNet-18 on CIFAR-10 (Figs. 3, 4, 8 and 10; Sec. 3-4; App. Fig. 7; C5a; x86_64),
        a 3-hidden-layer MLP, SHA-256, arXiv:2206.04613, pixels in [0, 1], section 2(c).
        1. a numbered item
        """) == []


def test_the_papers_numbers_count_but_small_integers_only_on_the_paper_page(root):
    text = "The optimum 0.011 at lr 0.005 with 3 seeds.\n"
    assert typed(root, text) == [(1, "3")]
    assert typed(root, text, "docs/paper.md") == []


def test_the_reviewed_list_exempts_only_its_phrase(root):
    assert typed(root, "It ran on 2 cores.\nIt ran 2 times.\n") == [(2, "2")]


def test_an_incomplete_reviewed_entry_is_refused(root):
    (root / "config" / "document_numbers.yaml").write_text("- {file: README.md, number: 2}\n")
    with pytest.raises(ValueError, match="entry 0"):
        D.allowed(root)
