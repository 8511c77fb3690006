"""kubectl's table layout: left-aligned columns padded to the widest cell plus three spaces."""

from __future__ import annotations

from collections.abc import Sequence

PADDING = 3


def widths(rows: Sequence[Sequence[str]]) -> list[int]:
    out: list[int] = []
    for row in rows:
        for i, cell in enumerate(row):
            if i >= len(out):
                out.append(0)
            out[i] = max(out[i], len(cell))
    return out


def format_row(row: Sequence[str], col_widths: Sequence[int]) -> str:
    cells = []
    for i, cell in enumerate(row):
        if i == len(row) - 1:
            cells.append(cell)
        else:
            width = col_widths[i] if i < len(col_widths) else len(cell)
            cells.append(cell.ljust(width) + " " * PADDING)  # a longer cell still gets its gap
    return "".join(cells).rstrip()


def render(rows: Sequence[Sequence[str]]) -> list[str]:
    """Every row formatted to the widths of the whole table (the header is the first row)."""
    col_widths = widths(rows)
    return [format_row(row, col_widths) for row in rows]
