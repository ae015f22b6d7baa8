"""Standalone HTML pages of the report: tables (the claims table, the deviations list, the
verdict rules) or one Markdown document (docs/paper.md), in one style."""

from __future__ import annotations

import html

STYLE = ("body{font-family:sans-serif;margin:1em}div.doc{max-width:60em}"
         "table{border-collapse:collapse}"
         "td,th{border:1px solid #999;padding:4px 8px;vertical-align:top;text-align:left}"
         "th{background:#eee}td.num{text-align:right;font-variant-numeric:tabular-nums}"
         "pre,code{background:#f6f6f6}")


def page(title: str, body: str, style: str = "") -> str:
    """A page holding ``body`` (HTML) under the heading ``title`` (escaped here); ``style``:
    CSS added to the common :data:`STYLE`."""
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{STYLE}{style}</style></head><body>"
            f"<h2>{html.escape(title)}</h2>{body}</body></html>\n")


def table_page(title: str, columns, rows, styles=None, numeric=()) -> str:
    """``rows``: one sequence of cell values per row, in ``columns`` order (escaped here);
    ``styles``: an optional CSS style per row; ``numeric``: columns aligned right."""
    return page(title, table_html(columns, rows, styles, numeric))


def table_html(columns, rows, styles=None, numeric=()) -> str:
    """The table of :func:`table_page` alone (a page may hold several)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = []
    for i, row in enumerate(rows):
        style = f' style="{styles[i]}"' if styles else ""
        cells = "".join(f"<td{' class=num' if c in numeric else ''}>{html.escape(str(v))}</td>"
                        for c, v in zip(columns, row))
        body.append(f"<tr{style}>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def markdown_page(title: str, text: str) -> str:
    """A Markdown document (tables included) as a page."""
    import mistune

    return page(title, f"<div class=doc>{mistune.create_markdown(plugins=['table'])(text)}</div>")
