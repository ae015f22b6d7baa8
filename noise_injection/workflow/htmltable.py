"""A standalone HTML page holding one table (the claims table, the deviations list)."""

from __future__ import annotations

import html


def table_page(title: str, columns, rows, styles=None) -> str:
    """``rows``: one sequence of cell values per row, in ``columns`` order (escaped here);
    ``styles``: an optional CSS style per row."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = []
    for i, row in enumerate(rows):
        style = f' style="{styles[i]}"' if styles else ""
        cells = "".join(f"<td>{html.escape(str(v))}</td>" for v in row)
        body.append(f"<tr{style}>{cells}</tr>")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:4px 8px;vertical-align:top;text-align:left}"
        f"</style></head><body><h2>{html.escape(title)}</h2>"
        f"<table><tr>{head}</tr>{''.join(body)}</table></body></html>\n"
    )
