"""How the house is built, in figures (issue 22's measures, before and after a redesign):

- the longest Python functions of plugins/ (lines, from the syntax tree);
- templated strings longer than 100 characters in role tasks, role vars and playbooks (the
  Jinja that no unit test reaches);
- YAML<->Python crossings in one deploy, counted from a real run's calls (each is YAML handing
  data to Python and taking it back): executions of this collection's and kubernetes.core's
  plugins, and calls of this collection's filters;
- the number of `rolespec_validate: false` and of private ansible-core names used by plugins/.

    .venv/bin/python bench/house.py
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.support.kube_emulator import CLUSTER_FIXTURES, EmulatedCluster  # noqa: E402

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


VERBS = (
    ("deploy", ["-e", "mlopslab_wait=false"]),
    ("access", ["-e", "mlopslab_access=renew"]),
    ("verify", ["-e", "mlopslab_verify_fail=false"]),
    ("teardown", ["-e", "mlopslab_teardown_confirm=mlops-demo", "-e", "mlopslab_teardown_timeout=30"]),
)


def crossings() -> dict[str, list[str]]:
    """The crossings of each verb's run over three students on the API emulator (deploy, access,
    verify, teardown, in that order, on one cluster), counted from the calls themselves
    (bench/callback_plugins/bench_crossings.py): each execution of a task whose action is a plugin
    of this collection or kubernetes.core, each call of one of this collection's filters."""
    found = {}
    with tempfile.TemporaryDirectory(prefix="bench-house-") as tmp:
        work = Path(tmp)
        with EmulatedCluster(work / "kubeconfig", seed_files=[CLUSTER_FIXTURES / "nodes.yml"]) as cluster:
            for verb, args in VERBS:
                out = work / f"{verb}.jsonl"
                env = {
                    **os.environ,
                    "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
                    "ANSIBLE_CALLBACK_PLUGINS": str(REPO / "bench" / "callback_plugins"),
                    "ANSIBLE_CALLBACKS_ENABLED": "bench_crossings",
                    "BENCH_CROSSINGS_OUT": str(out),
                    "K8S_AUTH_KUBECONFIG": str(cluster.kubeconfig),
                }
                command = [str(Path(sys.executable).parent / "ansible-playbook"), f"playbooks/{verb}.yml",
                           "-e", f"mlopslab_build_dir={work / 'build'}", *args]  # fmt: skip
                proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
                if proc.returncode != 0:
                    raise SystemExit(f"{verb} failed:\n{proc.stdout[-3000:]}")
                lines = out.read_text().splitlines() if out.exists() else []
                found[verb] = [" ".join(json.loads(line)) for line in lines]
    return found


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
    for verb, calls in crossings().items():
        print(f"YAML->Python crossings in one {verb} of 3 students (counted from the calls): {len(calls)}")
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
