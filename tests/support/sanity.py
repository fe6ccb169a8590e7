"""Run `ansible-test sanity` on the collection as it is in the working tree, without a container.

ansible-test wants three things this repository does not have as it stands:
- the collection at `.../ansible_collections/mlopslab/monitoring` with its dependency beside it:
  a copy of the working tree's tracked and new files is laid out under build/sanity (a git
  repository of its own, with nothing committed), with the kubernetes.core that `make setup`
  unpacked from PyPI's `ansible` wheel;
- a container or `--venv`: `--venv` makes one virtualenv per test with the pinned requirements
  ansible-test ships, from PyPI;
- pip's bootstrap script from ci-files.testing.ansible.com, which is unreachable here. The
  bootstrap's job is to install the pinned pip into an empty virtualenv; the stand-in below
  does that with PyPI's wheel of the same pip version, run as get-pip.py runs its embedded copy.

ansible-test's home (its virtualenv and bootstrap caches) is kept under .cache/ansible-test, so
nothing is written outside the project and a second run reuses the virtualenvs.

    python -m tests.support.sanity [ansible-test sanity options, e.g. --test pep8]
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

import ansible_test

ROOT = pathlib.Path(__file__).resolve().parents[2]
LAYOUT = ROOT / "build" / "sanity" / "ansible_collections"
HOME = ROOT / ".cache" / "ansible-test"
WHEELS = ROOT / ".cache" / "wheels"
KUBERNETES_CORE = ROOT / ".collections" / "ansible_collections" / "kubernetes" / "core"

STAND_IN = """\
# Stand-in for ansible-test's pip bootstrap, written by tests/support/sanity.py: pip {version}
# from PyPI's wheel, run as get-pip.py runs its embedded copy (which installs neither setuptools
# nor wheel, so their two flags are get-pip's own and are dropped here).
import sys
sys.path.insert(0, {wheel!r})
from pip._internal.cli.main import main
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--find-links", {wheels!r}, *args]))
"""


def bootstrap_pip_version() -> str:
    """The pip version this ansible-test bootstraps into its virtualenvs."""
    source = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
    found = re.search(r"default_packages = dict\(\s*pip='([^']+)'", source.read_text())
    if not found:
        raise SystemExit(
            f"sanity: cannot tell which pip {source} bootstraps (its default_packages moved): "
            "update tests/support/sanity.py to read it from the new place"
        )
    return found.group(1)


def stand_in_bootstrap() -> None:
    version = bootstrap_pip_version()
    wheel = WHEELS / f"pip-{version}-py3-none-any.whl"
    if not wheel.exists():
        download = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps"]
        subprocess.run([*download, "--only-binary=:all:", "-d", str(WHEELS), f"pip=={version}"], check=True)
    cache = HOME / ".ansible" / "test" / "cache" / f"get_pip_{version.replace('.', '_')}.py"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(STAND_IN.format(version=version, wheel=str(wheel), wheels=str(WHEELS)))


def working_tree_files() -> list[str]:
    """Tracked and new (not ignored) files, as a commit of the working tree would hold them."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    return sorted({name for name in listed.split("\0") if name and (ROOT / name).is_file()})


def lay_out() -> pathlib.Path:
    if not (KUBERNETES_CORE / "MANIFEST.json").exists():
        raise SystemExit(f"sanity: {KUBERNETES_CORE} is missing: run `make setup` first")
    shutil.rmtree(LAYOUT, ignore_errors=True)
    collection = LAYOUT / "mlopslab" / "monitoring"
    for name in working_tree_files():
        target = collection / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    shutil.copytree(KUBERNETES_CORE, LAYOUT / "kubernetes" / "core", symlinks=True)
    # A repository of its own: ansible-test asks git which files are the collection's, and without
    # one it would ask this project's repository, whose .gitignore excludes build/ entirely.
    subprocess.run(["git", "init", "--quiet", str(collection)], check=True)
    return collection


def main(argv: list[str]) -> int:
    stand_in_bootstrap()
    collection = lay_out()
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    # This virtualenv's bin first: its shellcheck (from PyPI) serves the shellcheck test.
    path = os.pathsep.join([str(pathlib.Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "HOME": str(HOME), "PATH": path}
    # ansible-test decides on colour and a pager for itself; the tests' logs want neither.
    command = [str(pathlib.Path(sys.executable).parent / "ansible-test"), "sanity", "--venv"]
    command += ["--python", python, "--requirements", "--color", "no", *argv]
    return subprocess.run(command, cwd=collection, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
