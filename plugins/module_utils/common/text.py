# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plain-text output shared by the verbs."""

from __future__ import annotations


def columns(rows: list[list]) -> str:
    """Rows as aligned columns (the last one unpadded), one line each."""
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)] if rows else []
    return "\n".join(
        "  ".join([*(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)), row[-1]]).rstrip() for row in rows
    )


def shown(text: str | list, as_block: bool) -> str | list[str]:
    """A table or report as a task's message: one block of lines where results print as YAML (a
    block scalar, never folded), else a list of lines (Ansible's default JSON result would show one
    string full of \\n). ``text``: the lines, or one string of them."""
    lines = text if isinstance(text, list) else str(text).split("\n")
    return "\n".join(str(line) for line in lines) if as_block else [str(line) for line in lines]
