"""How the house is built, in figures (issue 22's measures, before and after a redesign):

- the longest Python functions of plugins/ (lines, from the syntax tree);
- templated strings longer than 100 characters in role tasks, role vars and playbooks (the
  Jinja that no unit test reaches);
- YAML<->Python crossings in one deploy: the collection's modules and filters that the tasks of
  deploy.yml call (each call is YAML handing data to Python and taking it back);
- the number of `rolespec_validate: false` and of private ansible-core names used by plugins/.

    .venv/bin/python bench/house.py
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
COLLECTION = "mlopslab.monitoring."
# Private names of ansible-core (trust_as_template is public from 2.19 on: the data-tagging API).
PRIVATE = re.compile(r"\b(_engine|_compile_\w+|_inventory|_datatag|_internal)\b")


def functions(root: Path) -> list[tuple[int, str]]:
    found = []
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append((node.end_lineno - node.lineno + 1, f"{path.relative_to(REPO)}::{node.name}"))
    return sorted(found, reverse=True)


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def yaml_files() -> list[Path]:
    roles = [*(REPO / "roles").glob("*/tasks/*.yml"), *(REPO / "roles").glob("*/vars/*.yml")]
    return sorted(roles + list((REPO / "playbooks").glob("*.yml")))


def long_jinja() -> list[tuple[int, str]]:
    found = []
    for path in yaml_files():
        for text in strings(yaml.safe_load(path.read_text())):
            if ("{{" in text or "{%" in text) and len(text.strip()) > 100:
                found.append((len(text.strip()), str(path.relative_to(REPO))))
    return sorted(found, reverse=True)


EXPRESSION = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.S)


def long_expressions() -> list[tuple[int, str, str]]:
    """Jinja expressions and statements themselves (between the delimiters), over 100 characters:
    logic, where long_jinja also counts prose messages with a short substitution."""
    found = []
    for path in yaml_files():
        for text in strings(yaml.safe_load(path.read_text())):
            for match in EXPRESSION.finditer(text):
                body = " ".join((match.group(1) or match.group(2) or "").split())
                if len(body) > 100:
                    found.append((len(body), str(path.relative_to(REPO)), body[:60]))
    return sorted(found, reverse=True)


def deploy_files() -> list[Path]:
    """The task and vars files deploy.yml reaches (its playbooks, their roles' tasks and vars)."""
    seen: list[Path] = []
    todo = [REPO / "playbooks" / "deploy.yml"]
    while todo:
        path = todo.pop()
        if path in seen or not path.exists():
            continue
        seen.append(path)
        text = path.read_text()
        for playbook in re.findall(r"import_playbook:\s*(\S+)", text):
            todo.append(path.parent / playbook)
        for task in re.findall(r"import_tasks:\s*(\S+)", text):
            todo.append(path.parent / task)
        for role, entry in re.findall(r"name:\s*mlopslab\.monitoring\.(\w+)\s*\n(?:\s+tasks_from:\s*(\w+))?", text):
            base = REPO / "roles" / role
            todo.append(base / "tasks" / f"{entry or 'main'}.yml")
            todo.extend(base.glob("vars/*.yml"))
            for dep in re.findall(r"role:\s*mlopslab\.monitoring\.(\w+)", (base / "meta" / "main.yml").read_text()):
                todo.extend([REPO / "roles" / dep / "tasks" / "main.yml", *(REPO / "roles" / dep).glob("vars/*.yml")])
        for role in re.findall(r"\broles:\s*\n\s*-\s*(?:role:\s*)?mlopslab\.monitoring\.(\w+)", text):
            todo.append(REPO / "roles" / role / "tasks" / "main.yml")
    return seen


def crossings() -> list[str]:
    calls = []
    for path in deploy_files():
        for name in re.findall(r"mlopslab\.monitoring\.(\w+)", path.read_text()):
            if (REPO / "roles" / name).is_dir():
                continue  # a role, not Python
            calls.append(f"{path.relative_to(REPO)}: {name}")
    return calls


def main() -> int:
    longest = functions(REPO / "plugins")
    print("longest functions in plugins/ (lines):")
    for lines, name in longest[:8]:
        print(f"  {lines:4d}  {name}")
    print(f"functions over 60 lines: {sum(1 for n, _name in longest if n > 60)}")
    jinja = long_jinja()
    print(f"templated strings over 100 characters in role tasks/vars and playbooks: {len(jinja)}"
          f" (longest {jinja[0][0] if jinja else 0}, in {jinja[0][1] if jinja else '-'})")  # fmt: skip
    expressions = long_expressions()
    print(f"Jinja expressions over 100 characters (the logic between the delimiters): {len(expressions)}")
    for length, where, start in expressions:
        print(f"  {length:4d}  {where}: {start}...")
    calls = crossings()
    print(f"YAML->Python crossings in one deploy (collection modules and filters its tasks call): {len(calls)}")
    for call in calls:
        print(f"  {call}")
    files = [p for p in yaml_files() if p.parent.name == "tasks"] + list((REPO / "playbooks").glob("*.yml"))
    print("rolespec_validate: false:", sum(p.read_text().count("rolespec_validate: false") for p in files))
    private = sorted({m for p in (REPO / "plugins").rglob("*.py") for m in PRIVATE.findall(p.read_text())})
    users = sorted(str(p.relative_to(REPO)) for p in (REPO / "plugins").rglob("*.py") if PRIVATE.search(p.read_text()))
    print(f"private ansible-core names used in plugins/: {private or 'none'} in {users or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
