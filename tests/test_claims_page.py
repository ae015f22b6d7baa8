"""The claims page: a summary line per claim on the first screen, then each claim's rows in
words with units, the paper's value beside ours; the details folded. Expected words and
numbers are written by hand from the rows below; the layout is measured in Chromium."""

import re

import pandas as pd
import pytest

from noise_injection.claims.page import claims_html, contrast_words, field, scope, strongest
from noise_injection.claims.table import CLAIM_COLUMNS, claim_row
from noise_injection.workflow.screenshot import WINDOW, chromium, layout

PLAIN = {"mlp3_narrow": "GD", "mlp3_wide": "GD", "toy_cnn": "SGD"}


@pytest.mark.parametrize("setting, words", [
    ("+1 mlp3_narrow layer s=0.05 test_acc; -1 mlp3_narrow none test_acc",
     ("mlp3_narrow", "layer-wise (σ 0.05) minus GD, final test accuracy", "points")),
    # the paper's reference arm first: still 'A minus B' with A the arm counted positively
    ("-1 toy_cnn none hessian_trace; +1 toy_cnn all s=0.1 hessian_trace",
     ("toy_cnn", "all-weights (σ 0.1) minus SGD, final Hessian trace", "")),
    ("+1 mlp3_narrow all s=0.05 test_acc; -1 mlp3_narrow none test_acc; "
     "-1 mlp3_wide all s=0.05 test_acc; +1 mlp3_wide none test_acc",
     ("mlp3_narrow vs mlp3_wide", "(all-weights (σ 0.05) minus GD) on mlp3_narrow minus "
      "(all-weights (σ 0.05) minus GD) on mlp3_wide, final test accuracy", "points")),
    # least-squares weights on log10 sigma sum to 0 (printed to 6 digits)
    ("-1.07586 mlp3_wide all s=0.01 test_acc; +0.251992 mlp3_wide all s=0.05 test_acc; "
     "+0.823865 mlp3_wide all s=0.1 test_acc",
     ("mlp3_wide", "least-squares slope of all-weights final test accuracy on log10 σ "
      "(σ 0.01, 0.05, 0.1)", "points per decade of σ")),
    ("+1 SGD peak test_acc_peak; -1 SGD final test_acc; -1 layer peak test_acc_peak; "
     "+1 layer final test_acc",
     ("", "(SGD peak minus SGD final) minus (layer peak minus layer final), test accuracy",
      "points")),
])
def test_a_contrast_reads_as_words_with_its_unit(setting, words):
    assert contrast_words(setting, PLAIN) == words


def test_settings_in_words_are_not_contrasts():
    assert contrast_words("lasso: PGD vs convex reference", PLAIN) is None
    assert contrast_words("width 50, 3 seeds", PLAIN) is None


def line(claim, verdict, **kw):
    return claim_row(claim, "claim", f"statement {claim}", verdict, "claim criterion",
                     level="claim", **kw)


def comparison(claim, name, verdict, estimate=float("nan"), low=float("nan"),
               high=float("nan"), experiment="mlp3_narrow", **kw):
    return claim_row(claim, name, f"statement {claim}", verdict, "row criterion",
                     setting=f"+1 {experiment} layer s=0.05 test_acc; -1 {experiment} none "
                             "test_acc", paper="layer - GD +2.2 points",
                     paper_source="Fig. 7, test accuracy", estimate=estimate, ci_low=low,
                     ci_high=high, test="paired t on per-seed contrasts", n_ok="3/3",
                     power="90% with 3 seeds", **kw)


def table(rows):
    return pd.DataFrame(rows, columns=list(CLAIM_COLUMNS)).astype(str).replace("nan", "")


def test_scope_counts_the_settings_run_and_leaves_out_rows_beyond_the_paper():
    rows = table([line("C5a", "inconclusive"),
                  comparison("C5a", "a", "reproduced", 1, 0.5, 1.5),
                  comparison("C5a", "b", "inconclusive", 1, -1, 3),
                  comparison("C5a", "c", "not run at this scale"),
                  comparison("C5a", "d", "not applicable at this scale"),
                  comparison("C5a", "e", "opposite", -1, -2, -0.5, beyond_paper=True)])
    assert scope(rows) == "reproduced in 1 of 2 settings run; 2 not run"
    assert scope(table([line("C6", "not run at this scale"),
                        comparison("C6", "a", "not run at this scale")])) == \
        "none of 1 setting(s) run"


def test_the_strongest_row_is_the_interval_farthest_from_zero_in_half_widths():
    # a: 1 / 0.5 = 2 half-widths from 0; b: a larger estimate, 3 / 3 = 1 half-width;
    # c: farther still (4) but against the claim's verdict; d: did not run
    rows = table([line("C5a", "reproduced"),
                  comparison("C5a", "a", "reproduced", 1, 0.5, 1.5),
                  comparison("C5a", "b", "reproduced", 3, 0, 6),
                  comparison("C5a", "c", "opposite", -4, -5, -3),
                  comparison("C5a", "d", "not run at this scale")])
    assert strongest(rows, "reproduced")["row"] == "a"
    assert strongest(rows, "opposite")["row"] == "c"
    assert strongest(table([line("C6", "not run at this scale"),
                            comparison("C6", "d", "not run at this scale")]),
                     "not run at this scale") is None


def test_a_column_named_like_a_field_replaces_its_derivation():
    row = table([comparison("C5a", "a", "reproduced", 1, 0.5, 1.5)]).iloc[0]
    assert field(row, "unit", PLAIN) == "points"
    assert field(row.copy().rename({"scale": "unit"}).replace({"unit": ""}), "unit",
                 PLAIN) == "points"  # an empty column keeps the derivation
    assert field(pd.concat([row, pd.Series({"unit": "kg"})]), "unit", PLAIN) == "kg"


def test_the_page_has_a_summary_line_per_claim_then_its_section_in_words():
    rows = table([line("C5a", "reproduced"),
                  comparison("C5a", "mlp3_narrow s=0.05", "reproduced", 1.7633, 1.3774, 2.1492,
                             verdict_text="reproduced, magnitude within the paper's"),
                  comparison("C5a", "mlp3_wide s=0.1", "not run at this scale",
                             experiment="mlp3_wide"),
                  line("C6a", "not run at this scale"),
                  comparison("C6a", "resnet18 s=0.2", "not run at this scale",
                             experiment="resnet18")])
    page = claims_html(rows, "t", {"experiments": {"mlp3_narrow": {"batch_size": 0}}})
    summary = page.split("id=summary", 1)[1].split("</table>", 1)[0]
    assert summary.count("<tr>") == 3  # heading + one line per claim
    assert re.findall(r"href='#(claim-\w+)'", summary) == ["claim-C5a", "claim-C6a"]
    assert "id=claim-C5a" in page and "id=claim-C6a" in page
    assert "reproduced in 1 of 1 settings run; 1 not run" in summary
    assert "mlp3_narrow: <b>+1.76 [+1.38, +2.15] points</b>" in summary
    section = page.split("id=claim-C5a", 1)[1].split("</section>", 1)[0]
    assert "layer-wise (σ 0.05) minus GD, final test accuracy, points" in section
    assert "<td>layer - GD +2.2 points</td><td class=num>+1.76 [+1.38, +2.15] points</td>" \
        in section  # the paper's value and ours side by side
    assert "<details><summary>details</summary>" in section and "90% with 3 seeds" in section
    assert "reproduced, magnitude within the paper&#x27;s</span>" in section  # the words
    # the row not run shares one line; it is not a row of the table
    assert section.count("<tr>") == 2 and "1 setting(s): mlp3_wide (mlp3_wide s=0.1)" in section
    assert "+1 mlp3_narrow" not in page  # the code-like contrast is not shown


def full_table(claims=15, rows_per_claim=4):
    """A claims table the size of the quick scale's (15 claims, about 4 rows run each), with
    the longest statements and paper texts of today's table."""
    statement = ("all-weights noise makes the smoothed loss and gradient noise grow with width; "
                 "layer-wise noise does not, so only it minimizes R_eff at large width")
    paper = ("R_sigma = R_eff + a constant independent of w, so PGD targets the convex problem "
             "(exact; the paper shows the algebra only, no experiment and no number)")
    out = []
    for c in range(1, claims + 1):
        out.append({**line(f"C{c}", "reproduced"), "statement": statement})
        out += [{**comparison(f"C{c}", f"r{k}", "reproduced", 1.5 + k, 0.5, 2.5 + 2 * k),
                 "statement": statement, "paper": paper} for k in range(rows_per_claim)]
    return table(out)


@pytest.mark.skipif(chromium() is None, reason="no chromium on the PATH")
def test_every_claim_is_on_the_first_screen_and_the_page_is_short(tmp_path):
    """At 1,400 px wide the summary ends within the first screen; the whole page is at most a
    third of the 22,847 px of the table it replaces (measured on the quick scale)."""
    page = tmp_path / "claims.html"
    page.write_text(claims_html(full_table(), "Paper vs this repository (quick scale)"))
    measured = layout(page, ["summary", "claim-C15"])
    assert measured["width"] == WINDOW[0]
    assert measured["bottoms"]["summary"] <= WINDOW[1]
    assert measured["bottoms"]["claim-C15"] <= measured["height"] <= 22_847 / 3
