"""The review stage's claims table: one table from the stages' claim files.

Each stage writes ``results/<stage>/claims.csv`` with :data:`CLAIM_COLUMNS`; its verdicts are
computed there, from the measured numbers, by the criterion written next to them. This module
only checks and combines them; it never changes a verdict.
"""

from __future__ import annotations

import html
import os

import pandas as pd

CLAIM_COLUMNS = ("claim", "statement", "paper", "measured", "scale", "verdict", "criterion")
VERDICTS = ("reproduced", "partly", "not reproduced", "not run at this scale")
VERDICT_COLORS = {
    "reproduced": "#d9f2d9",
    "partly": "#fff2cc",
    "not reproduced": "#f8d7da",
    "not run at this scale": "#e9ecef",
}


def read_claims(path: str | os.PathLike) -> pd.DataFrame:
    """A stage's claims file, checked: the columns of :data:`CLAIM_COLUMNS` and known verdicts."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in CLAIM_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing claim column(s) {missing}; expected {CLAIM_COLUMNS}")
    bad = sorted(set(table["verdict"]) - set(VERDICTS))
    if bad:
        raise ValueError(f"{path}: unknown verdict(s) {bad}; allowed: {VERDICTS}")
    return table[list(CLAIM_COLUMNS)]


def combine_claims(paths) -> pd.DataFrame:
    """All stages' claims in one table, sorted by claim id (C1, C2, ...)."""
    table = pd.concat([read_claims(p) for p in paths], ignore_index=True)
    order = table["claim"].str.extract(r"(\d+)", expand=False).astype(float)
    return table.iloc[order.argsort(kind="stable")].reset_index(drop=True)


def claims_html(table: pd.DataFrame, title: str) -> str:
    """A standalone HTML page of the claims table, one colour per verdict."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    rows = []
    for _, row in table.iterrows():
        color = VERDICT_COLORS[row["verdict"]]
        cells = "".join(f"<td>{html.escape(str(row[c]))}</td>" for c in table.columns)
        rows.append(f'<tr style="background:{color}">{cells}</tr>')
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:4px 8px;vertical-align:top;text-align:left}"
        f"</style></head><body><h2>{html.escape(title)}</h2>"
        f"<table><tr>{head}</tr>{''.join(rows)}</table></body></html>\n"
    )
