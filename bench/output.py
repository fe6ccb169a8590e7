"""How much a cohort's run prints at the default verbosity (issue 21: "output sized for a cohort").

Deploys N students (30 by default) to the API emulator, deploys again, verifies, and verifies
against a cluster that does not answer; counts the lines each run prints and where deploy's
summary starts. Three times: with this repository's ansible.cfg (the cohort stdout callback, the
YAML result format), with the same but Ansible's default stdout callback, and with Ansible's
defaults (no ansible.cfg: what an installed collection gets). Nothing is timed.

    .venv/bin/python bench/output.py [--students 30] [--repo PATH]

--repo runs the playbooks of another checkout (e.g. a `git worktree` of an older commit), with
this checkout's emulator, for a before/after comparison.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from tests.support.cohort_inventory import inventory  # noqa: E402
from tests.support.kube_emulator import CLUSTER_FIXTURES, EmulatedCluster  # noqa: E402

SUMMARY = re.compile(r"^\s*\"?student {2,}namespace {2,}", re.M)  # a YAML block, or a JSON list of lines


def run(repo: Path, config: Path, playbook: str, args: list[str], env: dict) -> str:
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), str(repo / "playbooks" / f"{playbook}.yml"), *args],
        cwd=repo, env=env, capture_output=True, text=True, check=False, timeout=1200,
    )  # fmt: skip
    return proc.stdout + proc.stderr


def figures(output: str) -> str:
    lines = output.splitlines()
    match = SUMMARY.search(output)
    start = output[: match.start()].count("\n") + 1 if match else None
    return f"{len(lines):5d} lines" + (f", summary table from line {start}" if start else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--repo", type=Path, default=HERE)
    args = parser.parse_args()
    repo = args.repo.resolve()
    students = [f"user{i:02d}" for i in range(1, args.students + 1)]
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        (tmp / "empty.cfg").write_text("")
        path = inventory(tmp, students)
        # The checkout under test as mlopslab.monitoring, beside this checkout's kubernetes.core.
        collections = tmp / "collections" / "ansible_collections"
        (collections / "mlopslab").mkdir(parents=True)
        (collections / "mlopslab" / "monitoring").symlink_to(repo, target_is_directory=True)
        kubernetes = HERE / ".collections" / "ansible_collections" / "kubernetes"
        (collections / "kubernetes").symlink_to(kubernetes.resolve(), target_is_directory=True)
        # The repository's settings with Ansible's default stdout callback instead of the cohort one:
        # what the callback saves, the rest being equal.
        default_callback = re.sub(r"(?m)^stdout_callback = .*$", "stdout_callback = ansible.builtin.default",
                                  (repo / "ansible.cfg").read_text())  # fmt: skip
        (tmp / "default-callback.cfg").write_text(default_callback)
        configs = (
            ("repository ansible.cfg", repo / "ansible.cfg"),
            ("repository ansible.cfg, ansible.builtin.default callback", tmp / "default-callback.cfg"),
            ("Ansible's defaults", tmp / "empty.cfg"),
        )
        for name, config in configs:
            seed = [CLUSTER_FIXTURES / "nodes.yml"]
            with EmulatedCluster(tmp / f"kubeconfig-{config.stem}", seed_files=seed) as kube:
                build = tmp / f"build-{config.stem}"
                env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
                env.update(ANSIBLE_CONFIG=str(config), ANSIBLE_NOCOLOR="1", K8S_AUTH_KUBECONFIG=str(kube.kubeconfig),
                           ANSIBLE_COLLECTIONS_PATH=str(collections.parent))  # fmt: skip
                common = ["-i", str(path), "-e", f"mlopslab_build_dir={build}"]
                print(f"== {args.students} students, {name} ({repo})")
                deploy = [*common, "-e", "mlopslab_wait=false"]
                print(f"  deploy, first       {figures(run(repo, config, 'deploy', deploy, env))}")
                print(f"  deploy, again       {figures(run(repo, config, 'deploy', deploy, env))}")
                verify = [*common, "-e", "verify_fail=false", "-e", "mlopslab_verify_prometheus_access=none",
                          "-e", "mlopslab_verify_grafana_access=none"]  # fmt: skip
                print(f"  verify              {figures(run(repo, config, 'verify', verify, env))}")
                gone = {**env, "K8S_AUTH_KUBECONFIG": str(tmp / "no-such-kubeconfig")}
                print(f"  verify, no cluster  {figures(run(repo, config, 'verify', common, gone))}")


if __name__ == "__main__":
    main()
