"""The claims page (``results/claims.html``, also the report's claims page): every claim on
the first screen, then one section per claim.

The summary has one line per claim: its statement, its verdict, how many of the settings run
reproduce it, and its strongest row. Each claim's section then has one line per comparison
in words: where it was run, the quantity compared with its unit, the paper's value and ours
side by side, the test and the verdict; the power, the runs, what was measured, the criterion
and the paper's citation are folded under "details" on each line. Rows that did not run at
this scale share one line per claim.

The page reads the claims table (:data:`noise_injection.claims.table.CLAIM_COLUMNS`) through
:data:`FIELDS`: each field the page shows is either a column of the table or a function that
derives it from today's columns; a column named like a field, once the table has one,
replaces the function (:func:`field`). Network rows name their contrast as a code-like sum
(``+1 mlp3_narrow layer s=0.05 test_acc; -1 mlp3_narrow none test_acc``) which
:func:`contrast_words` turns into words; the other stages' rows are named by
:data:`ROW_QUANTITIES`. Sigma is the layer-wise std for networks (all-weights noise:
sigma/sqrt(M)), the per-coordinate std elsewhere, as in the rows themselves.
"""

from __future__ import annotations

import html
import math
import re

import pandas as pd

from noise_injection.claims.table import VERDICT_COLORS, interval_text
from noise_injection.claims.verdicts import NOT_APPLICABLE, NOT_RUN, REPRODUCED
from noise_injection.base.htmltable import page

#: The verdicts of rows that did not run at this scale.
SKIPPED = (NOT_RUN, NOT_APPLICABLE)
#: Network metrics in words with the unit of a difference of them (accuracies are in %).
METRIC_WORDS = {"test_acc": ("final test accuracy", "points"),
                "test_acc_peak": ("peak test accuracy", "points"),
                "train_acc": ("final train accuracy", "points"),
                "hessian_trace": ("final Hessian trace", ""),
                "train_loss": ("final train loss", ""),
                "test_loss": ("final test loss", "")}
SCHEME_WORDS = {"layer": "layer-wise", "all": "all-weights"}
#: The other stages' rows by name (a regular expression): the quantity in words and its unit.
ROW_QUANTITIES = (
    (r"^relative objective gap$", "relative objective gap |f(PGD) - f(ref)| / |f(ref)| (a "
     "quantile over PGD runs)", ""),
    (r"^parameter error$", "relative parameter error ||PGD - ref|| / ||ref|| (a quantile "
     "over PGD runs)", ""),
    (r"^Fig\. 1 heat map$", "largest all-weights smoothed loss on the grid", ""),
    (r"^(.+) slope$", r"log-log slope of the \1 against width, all-weights noise", ""),
    (r"^Fig\. 2 width \d+$", "late layer-wise R_eff divided by its optimum", ""),
)
_TERM = re.compile(r"^([+-])(\d[\d.e+-]*) (.+) (\w+)$")
_LABEL = re.compile(r"^(\w+) (none|layer|all)(?: s=(\S+))?$")


def plain_names(networks: dict | None) -> dict[str, str]:
    """Per network experiment, its plain optimizer: 'SGD' (minibatches) or 'GD' (full
    batch)."""
    experiments = (networks or {}).get("experiments", {})
    return {name: "SGD" if e.get("batch_size") else "GD" for name, e in experiments.items()}


def _terms(setting: str):
    """(coefficient, label, metric) of each term of a contrast, or None if it is not one."""
    out = []
    for part in setting.split("; "):
        match = _TERM.match(part.strip())
        if not match:
            return None
        sign, coef, label, metric = match.groups()
        if metric not in METRIC_WORDS:
            return None
        out.append(((1 if sign == "+" else -1) * float(coef), label, metric))
    return out


def _side(label: str, plain: dict) -> tuple[str, str]:
    """(experiment or '', the arm in words) of one term's label."""
    match = _LABEL.match(label)
    if not match:
        return "", label
    experiment, scheme, sigma = match.groups()
    if scheme == "none":
        return experiment, plain.get(experiment, "plain (S)GD")
    return experiment, f"{SCHEME_WORDS[scheme]} (σ {sigma})" if sigma else SCHEME_WORDS[scheme]


def contrast_words(setting: str, plain: dict) -> tuple[str, str, str] | None:
    """(where, quantity, unit) of a network row's contrast in words, or None when ``setting``
    is not a contrast. Two arms: 'layer-wise (σ 0.05) minus GD, final test accuracy'; two
    pairs: '(A minus B) on E1 minus (C minus D) on E2'; more arms of one scheme and metric
    over sigmas with weights summing to 0: the least-squares slope on log10 sigma."""
    terms = _terms(setting)
    if not terms:
        return None
    metrics = list(dict.fromkeys(m for _, _, m in terms))
    words, unit = METRIC_WORDS[metrics[0]]
    if len(metrics) > 1:  # e.g. peak and final accuracy: the arms' labels say which
        words = re.sub(r"^(final|peak) ", "", words)
    sides = [_side(label, plain) for _, label, _ in terms]
    experiments = list(dict.fromkeys(e for e, _ in sides if e))
    coefs = [c for c, _, _ in terms]
    where = " vs ".join(experiments)
    if len(terms) == 2 and coefs[0] == -coefs[1]:
        first, second = (0, 1) if coefs[0] > 0 else (1, 0)
        return where, f"{sides[first][1]} minus {sides[second][1]}, {words}", unit
    if len(terms) == 4 and coefs[0] == -coefs[1] == -coefs[2] == coefs[3]:
        on = len(experiments) > 1
        pairs = [f"({sides[i][1]} minus {sides[i + 1][1]})"
                 + (f" on {sides[i][0]}" if on else "") for i in (0, 2)]
        if coefs[0] < 0:
            pairs.reverse()
        return where, f"{pairs[0]} minus {pairs[1]}, {words}", unit
    arms = {_LABEL.match(label).group(2) if _LABEL.match(label) else label
            for _, label, _ in terms}
    if (len(terms) > 2 and len(arms) == 1 and len(metrics) == 1
            and abs(sum(coefs)) < 1e-4 * max(map(abs, coefs))):
        sigmas = ", ".join(_LABEL.match(label).group(3) or "0" for _, label, _ in terms)
        arm = sides[0][1].split(" (")[0]
        return (where, f"least-squares slope of {arm} {words} on log10 σ (σ {sigmas})",
                f"{unit} per decade of σ".strip())
    text = " ".join(f"{'+' if c > 0 else '-'} {'' if abs(c) == 1 else f'{abs(c):g} x '}"
                    f"{side[1]}" for c, side in zip(coefs, sides)).lstrip("+ ")
    return where, f"{text}, {words}", unit


def _derived_where_quantity_unit(row, plain) -> tuple[str, str, str]:
    words = contrast_words(row["setting"], plain)
    if words:  # arms without an experiment in their label: the row's name says where
        return (words[0] or row["row"], *words[1:])
    for pattern, quantity, unit in ROW_QUANTITIES:
        if re.match(pattern, row["row"]):
            return row["setting"], re.sub(pattern, quantity, row["row"]), unit
    return row["setting"], row["row"], ""


def ours_text(row, unit: str) -> str:
    """'+1.76 [+1.38, +2.15] (95 %) points' from the row's estimate and interval ('—' where the row
    has no estimate)."""
    text = interval_text(row)
    return f"{text} {unit}".strip() if text else "—"


#: Each field of the page: a column of the claims table (a string) or a function of a row
#: and the plain optimizer names deriving it from today's columns. :func:`field` prefers a
#: column of the field's own name where the table has one.
FIELDS = {
    "where": lambda row, plain: _derived_where_quantity_unit(row, plain)[0],
    "quantity": lambda row, plain: _derived_where_quantity_unit(row, plain)[1],
    "unit": lambda row, plain: _derived_where_quantity_unit(row, plain)[2],
    "paper": "paper",
    "test": lambda row, plain: row["test"] or "declared criterion (details)",
    "verdict_text": "verdict_text",
    "power": "power",
    "runs ok / run": "n_ok",
    "diverged / run": "diverged",
    "measured": "measured",
    "criterion": "criterion",
    "paper's source": "paper_source",
}
#: The fields folded under "details" on every line.
DETAILS = ("power", "runs ok / run", "diverged / run", "measured", "criterion",
           "paper's source")


def field(row, name: str, plain: dict) -> str:
    """The value of the page's field ``name`` for a row (:data:`FIELDS`)."""
    if name in row.index and row[name] != "":
        return str(row[name])
    source = FIELDS[name]
    return str(row[source]) if isinstance(source, str) else source(row, plain)


def _strength(row) -> float:
    """|estimate| in half-widths of its interval (how far the interval keeps from 0); rows
    without an interval rank below every row with one."""
    try:
        est, low, high = (float(row[k]) for k in ("estimate", "ci_low", "ci_high"))
    except ValueError:
        return -math.inf
    if not all(map(math.isfinite, (est, low, high))) or high <= low:
        return -math.inf
    return abs(est) / ((high - low) / 2)


def counted(rows: pd.DataFrame) -> pd.DataFrame:
    """The comparison rows a claim line counts: those testing the paper's statements (rows
    beyond the paper are shown, not counted)."""
    return rows[(rows["level"] == "comparison") & (rows["beyond_paper"] == "")]


def scope(rows: pd.DataFrame) -> str:
    """'reproduced in k of n settings run' (+ '; m not run') over a claim's counted rows;
    'none of m settings run' where none ran."""
    verdicts = list(counted(rows)["verdict"])
    ran = [v for v in verdicts if v not in SKIPPED]
    if not ran:
        return f"none of {len(verdicts)} setting(s) run"
    text = f"reproduced in {ran.count(REPRODUCED)} of {len(ran)} settings run"
    return text + (f"; {len(verdicts) - len(ran)} not run" if len(ran) < len(verdicts) else "")


def strongest(rows: pd.DataFrame, verdict: str):
    """The row that carries the claim's verdict most clearly: among the rows run whose
    verdict is the claim's, the one whose interval keeps farthest from 0 (in half-widths);
    without intervals, the first of them; None when no row ran."""
    ran = rows[(rows["level"] == "comparison") & ~rows["verdict"].isin(SKIPPED)]
    same = ran[ran["verdict"] == verdict]
    pool = same if len(same) else ran
    if not len(pool):
        return None
    strengths = [_strength(r) for _, r in pool.iterrows()]
    return pool.iloc[max(range(len(pool)), key=lambda i: (strengths[i], -i))]


def _e(text) -> str:
    return html.escape(str(text))


def _badge(verdict: str, text: str | None = None) -> str:
    return (f"<span class=v style='background:{VERDICT_COLORS[verdict]}'>"
            f"{_e(text or verdict)}</span>")


def _anchor(claim: str) -> str:
    return "claim-" + re.sub(r"\W", "", claim)


def shortened(text: str, limit: int = 90) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, '…' marking a cut."""
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def _row_summary(row, plain) -> str:
    if row is None:
        return "—"
    unit = field(row, "unit", plain)
    where = field(row, "where", plain)
    return (f"{_e(where)}: <b>{_e(ours_text(row, unit))}</b><span class=paper> (paper: "
            f"{_e(shortened(field(row, 'paper', plain)))})</span>")


def summary_table(table: pd.DataFrame, plain: dict) -> str:
    """One line per claim: claim (a link to its section), statement, verdict, scope and the
    strongest row."""
    lines = []
    for claim, rows in table.groupby("claim", sort=False):
        line = rows[rows["level"] == "claim"]
        head = line.iloc[0] if len(line) else rows.iloc[0]
        lines.append(
            f"<tr><td><a href='#{_anchor(claim)}'>{_e(claim)}</a></td>"
            f"<td>{_e(head['statement'])}</td><td>{_badge(head['verdict'])}</td>"
            f"<td>{_e(scope(rows))}</td>"
            f"<td>{_row_summary(strongest(rows, head['verdict']), plain)}</td></tr>")
    return ("<table id=summary class=summary><colgroup><col style='width:4em'>"
            "<col style='width:32%'><col style='width:11em'><col style='width:13em'><col>"
            "</colgroup><tr><th>claim</th><th>statement</th><th>verdict</th>"
            "<th>settings</th><th>strongest row: ours (paper)</th></tr>"
            f"{''.join(lines)}</table>")


def _details(row, plain, names=DETAILS) -> str:
    items = "".join(f"<dt>{_e(n)}</dt><dd>{_e(v)}</dd>" for n in names
                    for v in [field(row, n, plain)] if v)
    return f"<details><summary>details</summary><dl>{items}</dl></details>" if items else ""


def claim_section(claim: str, rows: pd.DataFrame, plain: dict) -> str:
    """A claim's heading (statement, verdict, scope; the claim line's criterion and sources
    folded), a table of the rows run and one line naming those not run."""
    line = rows[rows["level"] == "claim"]
    head = line.iloc[0] if len(line) else rows.iloc[0]
    comparisons = rows[rows["level"] == "comparison"]
    ran = comparisons[~comparisons["verdict"].isin(SKIPPED)]
    skipped = comparisons[comparisons["verdict"].isin(SKIPPED)]
    sources = dict.fromkeys(s for v in comparisons["paper_source"] for s in v.split(" | ") if s)
    folded = (f"<details><summary>criterion of the claim line and the paper's sources"
              f"</summary><p>{_e(head['criterion'])}</p><ul>"
              + "".join(f"<li>{_e(s)}</li>" for s in sources) + "</ul></details>")
    out = [f"<section id={_anchor(claim)}><h3>{_e(claim)}: {_e(head['statement'])} "
           f"{_badge(head['verdict'])}</h3><p class=scope>{_e(scope(rows))}</p>{folded}"]
    if len(ran):
        body, previous = [], None
        for _, row in ran.iterrows():
            paper = field(row, "paper", plain)
            shown, previous = ("same as above" if paper == previous else paper), paper
            unit = field(row, "unit", plain)
            beyond = " <i>(beyond the paper)</i>" if row["beyond_paper"] else ""
            body.append(
                f"<tr><td>{_e(field(row, 'where', plain))}</td>"
                f"<td>{_e(field(row, 'quantity', plain))}{f', {_e(unit)}' if unit else ''}"
                f"{beyond}</td><td>{_e(shown)}</td>"
                f"<td class=num>{_e(ours_text(row, unit))}</td>"
                f"<td>{_e(field(row, 'test', plain))}</td>"
                f"<td>{_badge(row['verdict'], field(row, 'verdict_text', plain))}</td>"
                f"<td>{_details(row, plain)}</td></tr>")
        out.append("<table class=rows><colgroup><col style='width:11%'><col style='width:24%'>"
                   "<col style='width:20%'><col style='width:13%'><col style='width:12%'>"
                   "<col style='width:12%'><col></colgroup><tr><th>where</th>"
                   "<th>quantity, unit</th><th>paper</th><th>ours: estimate [95 % interval]"
                   "</th><th>test</th><th>verdict</th><th></th></tr>"
                   f"{''.join(body)}</table>")
    if len(skipped):
        names = ", ".join(f"{field(r, 'where', plain)} ({r['row']})"
                          for _, r in skipped.iterrows())
        out.append(f"<p class=skipped>{_badge(skipped['verdict'].iloc[0])} "
                   f"{len(skipped)} setting(s): {_e(names)}</p>")
    return "".join(out) + "</section>"


STYLE = ("body{font-size:14px}h2{margin:0 0 4px}h3{margin:18px 0 2px;font-size:15px}"
         "table{width:100%;table-layout:fixed}td,th{padding:2px 6px;overflow-wrap:anywhere}"
         "span.v{padding:0 4px;border-radius:3px;white-space:nowrap;font-weight:normal}"
         "span.paper{color:#555}p{margin:2px 0}details{margin:2px 0}summary{cursor:pointer;"
         "color:#246}dl{margin:2px 0}dt{font-weight:bold}dd{margin:0 0 2px 1em}"
         "table.rows td{font-size:13px}p.scope{color:#333}")


def claims_html(table: pd.DataFrame, title: str, networks: dict | None = None) -> str:
    """The claims page of a combined claims table (:func:`claims.table.combine_claims`):
    the summary, then a section per claim. ``networks`` (the config section) names each
    experiment's plain optimizer, GD or SGD."""
    plain = plain_names(networks)
    intro = ("<p>One line per claim of docs/paper.md section 5, then each claim's "
             "comparisons: the paper's value and ours are the same quantity, in the unit "
             "shown (points: percentage points of accuracy). The rules are on the page "
             "\"Verdict rules\"; every number is in results/claims.csv.</p>")
    sections = [claim_section(claim, rows, plain)
                for claim, rows in table.groupby("claim", sort=False)]
    return page(title, intro + summary_table(table, plain) + "".join(sections), STYLE)
