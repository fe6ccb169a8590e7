"""Fail when a role's defaults and its meta/argument_specs.yml drift apart.

Every variable in defaults/main.yml must be documented in the `main` entry point, with the same
default; every documented option with a default must be in defaults/main.yml. After
prometheus-community/ansible's .github/scripts/lint_arguments_spec.sh.
"""

import sys
from pathlib import Path

import yaml

ROLES = Path(__file__).resolve().parents[2] / "roles"


def check_role(role: Path) -> list[str]:
    defaults = yaml.safe_load((role / "defaults/main.yml").read_text()) or {}
    specs_file = role / "meta/argument_specs.yml"
    if not specs_file.exists():
        return [f"{role.name}: meta/argument_specs.yml is missing"]
    options = yaml.safe_load(specs_file.read_text())["argument_specs"]["main"].get("options", {})
    problems = []
    for name, value in defaults.items():
        if name not in options:
            problems.append(f"{role.name}: default {name} is not in meta/argument_specs.yml")
        elif "default" in options[name] and options[name]["default"] != value:
            problems.append(f"{role.name}: {name} defaults to {value!r} but the spec says {options[name]['default']!r}")
        elif not options[name].get("description"):
            problems.append(f"{role.name}: {name} has no description in meta/argument_specs.yml")
    for name, spec in options.items():
        if "default" in spec and name not in defaults:
            problems.append(f"{role.name}: {name} has a spec default but is not in defaults/main.yml")
    return problems


def main() -> int:
    roles = sorted(p for p in ROLES.iterdir() if (p / "defaults/main.yml").exists()) if ROLES.exists() else []
    problems = [problem for role in roles for problem in check_role(role)]
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"argument specs: {len(roles)} roles checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
