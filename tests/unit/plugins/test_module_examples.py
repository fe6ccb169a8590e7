"""Every module's EXAMPLES as a user copies them: each task of this collection calls a module that
exists, with options its documentation has (aliases included), every required one given, and a
choice among those documented. ansible-test's validate-modules holds the documentation equal to
the argument spec, so an example that passes here passes the module's own check."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

MODULES = Path(__file__).parents[3] / "plugins" / "modules"
PREFIX = "mlopslab.monitoring."


def _strings(path: Path) -> dict[str, str]:
    """The module's DOCUMENTATION and EXAMPLES (a doc fragment's DOCUMENTATION), read from its
    source (not imported)."""
    found = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in ("DOCUMENTATION", "EXAMPLES"):
                    found[target.id] = node.value.value
    return found


def _problems(task: dict, documented: dict[str, dict], name: str) -> list[str]:
    args = task[PREFIX + name] or {}
    names = {alias: option for option, spec in documented.items() for alias in (option, *spec.get("aliases", []))}
    problems = [f"{name}: no option {key!r}" for key in args if key not in names]
    given = {names[key] for key in args if key in names}
    problems += [f"{name}: required {option!r} not given" for option, spec in documented.items()
                 if spec.get("required") and option not in given]  # fmt: skip
    for key, value in args.items():
        choices = documented.get(names.get(key, ""), {}).get("choices")
        if choices and isinstance(value, str) and "{{" not in value and value not in choices:
            problems.append(f"{name}: {key}={value!r} is not one of {choices}")
    return problems


@pytest.mark.parametrize("path", sorted(MODULES.glob("*.py")), ids=lambda p: p.stem)
def test_each_example_calls_its_module_as_documented(path):
    strings = _strings(path)
    doc = yaml.safe_load(strings["DOCUMENTATION"])
    documented = dict(doc.get("options") or {})
    for fragment in doc.get("extends_documentation_fragment") or []:
        if fragment.startswith(PREFIX):  # the collection's own; Ansible's are connection options
            source = MODULES.parent / "doc_fragments" / f"{fragment.removeprefix(PREFIX)}.py"
            documented.update(yaml.safe_load(_strings(source)["DOCUMENTATION"]).get("options") or {})
    tasks = yaml.safe_load(strings["EXAMPLES"])
    assert isinstance(tasks, list) and tasks, "no example"
    calls = [t for t in tasks if any(k.startswith(PREFIX) for k in t)]
    assert any(PREFIX + path.stem in t for t in calls), "no example calls the module itself"
    problems = []
    for task in calls:
        [action] = [k for k in task if k.startswith(PREFIX)]
        other = MODULES / f"{action.removeprefix(PREFIX)}.py"
        assert other.is_file() or (MODULES.parent / "action" / other.name).is_file(), action
        if action == PREFIX + path.stem:
            problems += _problems(task, documented, path.stem)
    assert not problems, problems
