"""Capture the results deploy.yml registers, for the unit tests of module_utils/deploy/outcomes.py:
kubernetes.core.k8s applying a list with continue_on_error where the API refuses one object
(422 from admission), the same apply against a server that is not there, and
mlopslab.monitoring.write_manifests writing the same objects twice (render mode).

    .venv/bin/python tests/support/capture_apply_results.py   # rewrites fixtures/apply/*.json
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from tests.support.kube_emulator import REFUSED_BY_WEBHOOK, EmulatedCluster  # noqa: E402

OUT = REPO / "tests/unit/plugins/module_utils/fixtures/apply"
PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    objects:
      - {apiVersion: v1, kind: Namespace, metadata: {name: user01}}
      - {apiVersion: v1, kind: ConfigMap, metadata: {name: exporter-source, namespace: user01}, data: {a: b}}
      - {apiVersion: v1, kind: Namespace, metadata: {name: user02}}
      - {apiVersion: v1, kind: ConfigMap, metadata: {name: exporter-source, namespace: user02}, data: {a: b}}
  tasks:
    - kubernetes.core.k8s:
        definition: "{{ objects }}"
        apply: true
        server_side_apply: {field_manager: mlopslab, force_conflicts: true}
        continue_on_error: true
      register: applied
      ignore_errors: true  # as deploy.yml: failed_when would drop the module's message
      when: not (render | default(false) | bool)
    - mlopslab.monitoring.write_manifests:
        dest: "{{ render_dir }}"
        students:
          user01: "{{ objects[:2] }}"
          user02: "{{ objects[2:] }}"
      register: written
      when: render | default(false) | bool
    - ansible.builtin.copy:
        content: "{{ (written if render | default(false) | bool else applied) | to_nice_json }}"
        dest: "{{ out }}"
        mode: "0644"
"""


def run(workdir: Path, kubeconfig: Path, out: Path, *extra: str) -> None:
    playbook = workdir / "capture.yml"
    playbook.write_text(PLAYBOOK)
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "K8S_AUTH_KUBECONFIG": str(kubeconfig)}
    subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), str(playbook), "-e", f"out={out}", *extra],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
    # Keep the fixtures stable between captures: drop managedFields (their timestamps) and the temp dir.
    data = json.loads(out.read_text())
    for entry in data.get("result", {}).get("results", []):
        entry.get("result", {}).get("metadata", {}).pop("managedFields", None)
        if "path" in entry:
            entry["path"] = entry["path"].replace(str(workdir), "/tmp/render")
    out.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        with EmulatedCluster(workdir / "kubeconfig") as cluster:
            (
                cluster.emulator["patch /api/v1/namespaces/user02/configmaps/exporter-source"][:1]
                << 422
                << REFUSED_BY_WEBHOOK
            )
            run(workdir, cluster.kubeconfig, OUT / "one-refused.json")
            url = cluster.url
        gone = workdir / "gone.kubeconfig"
        gone.write_text((workdir / "kubeconfig").read_text().replace(url, "http://127.0.0.1:9"))
        run(workdir, gone, OUT / "unreachable.json")
        render = ("-e", "render=true", "-e", f"render_dir={workdir / 'manifests'}")
        run(workdir, gone, OUT / "written-first.json", *render)
        run(workdir, gone, OUT / "written-again.json", *render)


if __name__ == "__main__":
    main()
