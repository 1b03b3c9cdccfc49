"""HTML for the viewer's readouts table and its error box (plain strings, escaped, inline styles)."""

from __future__ import annotations

import html
import math
from typing import Any, Sequence

__all__ = ["fmt", "readout_html", "errors_html", "READOUT_STYLE"]

READOUT_STYLE = "border-collapse:collapse;font:12px/1.35 var(--jp-code-font-family, monospace);"
_TD = "padding:1px 8px;text-align:right;border-bottom:1px solid #eee;"
_TH = "padding:1px 8px;text-align:left;border-bottom:1px solid #eee;font-weight:normal;color:#555;"


def fmt(value: Any) -> str:
    """A readable number / action: floats with 4 decimals, ints as ints, arrays as lists."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.4f}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {fmt(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(fmt(v) for v in value[:12]) + (", …" if len(value) > 12 else "")
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    return str(value)


def _raw(value: Any) -> str:
    return html.escape(repr(value), quote=True)


def readout_html(header: str, rows: Sequence[tuple[str, str, Any, Any]], compare_name: str | None = None) -> str:
    """``rows``: (label, key, value, value of the compared module or None).

    Every value cell carries ``data-key`` and ``data-raw`` (the exact number, ``repr``), so
    tests and scripts can read what is shown without parsing the rounded text.
    """
    head = f'<tr><th style="{_TH}"></th><th style="{_TH}text-align:right">this module</th>'
    if compare_name is not None:
        head += f'<th style="{_TH}text-align:right">{html.escape(compare_name)}</th>'
    head += "</tr>"
    body = []
    for label, key, mine, theirs in rows:
        cells = f'<td style="{_TD}" data-key="{key}" data-raw="{_raw(mine)}">{html.escape(fmt(mine))}</td>'
        if compare_name is not None:
            cells += (f'<td style="{_TD}" data-key="compare_{key}" data-raw="{_raw(theirs)}">'
                      f'{html.escape(fmt(theirs)) if theirs is not None else ""}</td>')
        body.append(f'<tr><th style="{_TH}">{html.escape(label)}</th>{cells}</tr>')
    return (f'<div class="rlkit-readouts"><div style="font-weight:600;margin:2px 0 4px">{html.escape(header)}</div>'
            f'<table style="{READOUT_STYLE}">{head}{"".join(body)}</table></div>')


def errors_html(errors: dict[str, tuple[str, str]]) -> str:
    """``{pane: (message, traceback)}`` as a readable red box; empty string when there are none."""
    if not errors:
        return ""
    items = []
    for pane, (message, tb) in errors.items():
        details = (f'<details><summary style="cursor:pointer;color:#666">traceback</summary>'
                   f'<pre style="white-space:pre-wrap;font-size:11px;margin:2px 0">{html.escape(tb)}</pre></details>') if tb else ""
        items.append(f'<div class="rlkit-viewer-error" data-pane="{html.escape(pane, quote=True)}" style="margin:2px 0">'
                     f'<b>{html.escape(pane)}</b>: {html.escape(message)}{details}</div>')
    return ('<div style="border:1px solid #e45756;background:#fff5f5;color:#7a1f1f;padding:4px 8px;border-radius:3px;'
            'font-size:12px">' + "".join(items) + "</div>")
