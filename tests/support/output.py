"""What a playbook run prints, read back for tests as an instructor reads it."""

from __future__ import annotations

import re


def _shown(line: str) -> str:
    """A line of a table as printed: in a YAML block (the repository's ansible.cfg), or as an item
    of a JSON list of lines (Ansible's default result format)."""
    line = line.rstrip()
    stripped = line.lstrip()
    if stripped.startswith('"'):
        return re.sub(r'",?$', "", stripped[1:])
    return line


def summary_table(output: str) -> dict[str, dict[str, str]]:
    """deploy's summary table by student ({student: {column: value}}), as the default output
    shows it (the columns filter: each column starts where its header does)."""
    lines = [_shown(line) for line in output.splitlines()]
    found = [i for i, line in enumerate(lines) if re.match(r"\s*student {2,}namespace {2,}", line)]
    if not found:
        raise AssertionError(f"no summary table in the output:\n{output[-3000:]}")
    header = lines[found[-1]]
    indent = len(header) - len(header.lstrip())
    header = header[indent:]
    starts = [0] + [m.start() for m in re.finditer(r"(?<=  )\S", header)]
    spans = list(zip(starts, [*starts[1:], None], strict=True))
    names = [header[a:b].strip() for a, b in spans]
    rows = {}
    for line in lines[found[-1] + 1 :]:
        cells = [line[indent:][a:b].strip() for a, b in spans]
        if not cells[0] or " " in cells[0] or ":" in cells[0]:
            break
        rows[cells[0]] = dict(zip(names, cells, strict=True))
    return rows
