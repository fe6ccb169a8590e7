# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What pip's own resolver says about a requirements file, in one sentence.

The resolving is pip's (``pip install --dry-run --ignore-installed --report``); these pure
functions only read its report and its messages. Kept free of Ansible imports so they are unit
tested on pip's real output."""

from __future__ import annotations

import re

_REQUESTED = re.compile(r"^\s*The user requested (?P<req>\S.*?)\s*$")
_DEPENDS = re.compile(r"^\s*(?P<pkg>\S+) (?P<ver>\S+) depends on (?P<req>\S.*?)\s*$")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def canonical(name: str) -> str:
    """PEP 503 name: Pydantic_Core and pydantic-core are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _name_of(requirement: str) -> str:
    match = _NAME.match(requirement)
    return canonical(match.group(1)) if match else ""


def _spec(requirement: str) -> str:
    # pip writes "pydantic<2 and >=1.8.2"; the requirement syntax is "pydantic<2,>=1.8.2".
    return re.sub(r"\s+and\s+", ",", requirement.strip())


def _line_of(name: str, lines: list[str]) -> int | None:
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if text and not text.startswith("-") and _name_of(text) == name:
            return number
    return None


def resolved(report: dict) -> list[dict]:
    """pip's --report JSON to [{name, version}], sorted by name."""
    packages = [
        {"name": item["metadata"]["name"], "version": item["metadata"]["version"]}
        for item in (report or {}).get("install") or []
    ]
    return sorted(packages, key=lambda p: canonical(p["name"]))


def explain(output: str, filename: str, lines: list[str]) -> str:
    """pip's failure output to one sentence naming both sides of the conflict.

    ``filename`` is how the sentence names the file; ``lines`` its text, to say which line pins
    the package. Falls back to pip's last error line for failures that are not conflicts."""
    requested, depends = {}, []
    for line in output.splitlines():
        if m := _REQUESTED.match(line):
            requested[_name_of(m["req"])] = m["req"].strip()
        elif m := _DEPENDS.match(line):
            depends.append((m["pkg"], m["ver"], _spec(m["req"])))
    if depends:
        sentences = []
        for pkg, ver, req in depends:
            name = _name_of(req)
            if name in requested:
                number = _line_of(name, lines)
                where = f"{filename} (line {number})" if number else filename
                verb = "pins" if "==" in requested[name] else "asks for"
                sentences.append(f"{pkg} {ver} requires {req}, but {where} {verb} {requested[name]}")
        if not sentences:
            # Two of the file's packages disagree about a third that the file does not name.
            by_name = {}
            for pkg, ver, req in depends:
                by_name.setdefault(_name_of(req), []).append(f"{pkg} {ver} requires {req}")
            clash = next((v for v in by_name.values() if len(v) > 1), [f"{p} {v} requires {r}" for p, v, r in depends])
            sentences.append(", but ".join(clash[:2]))
        return "; ".join(dict.fromkeys(sentences)) + "."
    errors = [line[len("ERROR: ") :].strip() for line in output.splitlines() if line.startswith("ERROR: ")]
    errors = [e for e in errors if not e.startswith("ResolutionImpossible")]
    if errors:
        invalid = re.match(r"Invalid requirement: '(?P<req>.*)' \(from line (?P<line>\d+) of .*\)", errors[0])
        if invalid:
            return (
                f"{filename} line {invalid['line']}: {invalid['req']!r} is not a requirement "
                "(write name==version, e.g. kfp==1.8.22)."
            )
        missing = re.match(r"No matching distribution found for (?P<req>\S+)", errors[-1])
        if missing:
            return f"{filename}: no release on the package index matches {missing['req']} (check the name and version)."
        return f"{filename}: {errors[-1]}"
    tail = [line for line in output.splitlines() if line.strip()][-1:] or ["pip gave no message"]
    return f"{filename}: pip failed: {tail[0].strip()}"
