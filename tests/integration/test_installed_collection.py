"""The collection as an instructor gets it: the built artifact (ansible-galaxy collection build),
installed into a folder of its own, used from a course folder that has only the instructor's own
inventory: no ansible.cfg of this repository, no group_vars saying `ansible_connection: local`,
the playbooks called by their collection names. Against the API emulator: render, deploy, a
second deploy that changes nothing, --check, and teardown. On the ansible-core this project pins
(requirements.txt), the oldest meta/runtime.yml claims (requirements-oldest.txt, .venv-oldest) and
the current releases 2.20 and 2.21 on Python 3.12 and 3.13 (requirements-core-*.txt), each from
make setup."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from packaging.specifiers import SpecifierSet

from tests.conftest import PlaybookRun
from tests.support.processes import REPO

BIN = Path(sys.executable).parent
# The pinned release, the oldest claimed, and the current releases on the Python they need.
CORES = {
    "pinned": BIN,
    "oldest": REPO / ".venv-oldest" / "bin",
    "2.20": REPO / ".venv-core-2.20" / "bin",
    "2.21": REPO / ".venv-core-2.21" / "bin",
}


@pytest.fixture(params=sorted(CORES))
def core(request) -> Path:
    """The ansible-playbook of one ansible-core of the claimed range."""
    found = CORES[request.param]
    if not (found / "ansible-playbook").exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the {request.param} ansible-core is not installed ({found}): make setup installs it")
        pytest.skip(f"the {request.param} ansible-core of the claimed range is not installed ({found}): make setup")
    return found


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The built collection installed with kubernetes.core beside it, as `ansible-galaxy collection
    install` lays them out (kubernetes.core copied: Galaxy is not reachable here)."""
    root = tmp_path_factory.mktemp("installed")
    (root / "empty.cfg").write_text("")
    env = {**os.environ, "ANSIBLE_CONFIG": str(root / "empty.cfg")}  # not this repository's ansible.cfg
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(root), str(REPO)],
                   cwd=root, env=env, check=True, capture_output=True, text=True)  # fmt: skip
    [artifact] = root.glob("mlopslab-monitoring-*.tar.gz")
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--no-deps", "-p", str(root / "collections"),
                    str(artifact)], cwd=root, env=env, check=True, capture_output=True, text=True)  # fmt: skip
    core = REPO / ".collections" / "ansible_collections" / "kubernetes"
    (root / "collections" / "ansible_collections" / "kubernetes").symlink_to(core.resolve(), target_is_directory=True)
    return root


@pytest.fixture
def course(tmp_path, installed, core):
    """A course folder with the instructor's own inventory, and how to run a playbook from it."""
    (tmp_path / "inventory.yml").write_text(
        "cohort:\n  hosts:\n    kim01:\n    lee02:\n  vars:\n    mlopslab_cohort: fall26\n"
    )

    def run(playbook: str, *args: str, env: dict | None = None) -> PlaybookRun:
        environment = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
        environment.update(
            ANSIBLE_CONFIG=str(installed / "empty.cfg"),  # not this repository's ansible.cfg
            ANSIBLE_COLLECTIONS_PATH=str(installed / "collections"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
            PWD=str(tmp_path),  # as the instructor's shell says it: outputs go under the course folder
            **(env or {}),
        )
        proc = subprocess.run([str(core / "ansible-playbook"), "-i", "inventory.yml", playbook, *args], cwd=tmp_path,
                              env=environment, capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
        return PlaybookRun(proc)

    return run


NEEDED = ("playbooks/deploy.yml", "roles/_common/tasks/rights.yml", "roles/access/templates/handout.ko.md.j2",
          "plugins/plugin_utils/ansible_core.py", "exporter/ab_exporter/cli.py", "meta/runtime.yml")  # fmt: skip


def test_the_artifact_holds_what_runs_and_nothing_of_the_repositorys(installed):
    collection = installed / "collections" / "ansible_collections" / "mlopslab" / "monitoring"
    for needed in NEEDED:
        assert (collection / needed).is_file(), needed
    for left_out in ("tests", "bench", "molecule", "ansible.cfg", "Makefile", ".collections", "collections"):
        assert not (collection / left_out).exists(), left_out


def test_render_from_a_course_folder_with_only_an_inventory(course, tmp_path):
    run = course("mlopslab.monitoring.deploy", "-e", "mlopslab_apply=false")
    assert run.returncode == 0, run.output[-6000:]
    assert (tmp_path / "build" / "manifests" / "kim01" / "lab.yaml").is_file()
    assert (
        (tmp_path / "build" / "fall26" / "handouts" / "lee02.md").read_text().startswith("# lee02 모니터링 실습 안내")
    )


def test_deploy_twice_then_teardown_on_a_cluster(course, kube, tmp_path):
    env = {"K8S_AUTH_KUBECONFIG": str(kube.kubeconfig)}
    first = course("mlopslab.monitoring.deploy", "-e", "mlopslab_wait=false", env=env)
    assert first.returncode == 0, first.output[-6000:]
    assert first.recap["kim01"]["changed"] == 1 and first.recap["lee02"]["changed"] == 1
    again = course("mlopslab.monitoring.deploy", "-e", "mlopslab_wait=false", env=env)
    assert again.returncode == 0 and again.changed() == 0, again.output[-6000:]
    checked = course("mlopslab.monitoring.deploy", "--check", env=env)
    assert checked.returncode == 0 and checked.summary()["kim01"]["result"] == "0 would change", checked.output[-6000:]
    gone = course("mlopslab.monitoring.teardown", "-e", "mlopslab_teardown_confirm=fall26", env=env)
    assert gone.returncode == 0, gone.output[-6000:]
    assert "kim01: deleted." in gone.text and "lee02: deleted." in gone.text


USERS_PLAYBOOK = """\
- name: Deploy the course's labs
  hosts: cohort
  roles:
    - mlopslab.monitoring.deploy
"""


def test_a_users_own_playbook_needs_only_the_role(course, tmp_path):
    """The README's playbook of a user's own, with none of what the roles need said in it: no
    connection: local, facts gathered, and an inventory that says students are reached over SSH.
    The role's own vars keep its work (and the gathering) on the controller, with the Python that
    has the kubernetes client; without them Ansible SSHes to kim01."""
    (tmp_path / "inventory.yml").write_text(
        "cohort:\n  hosts:\n    kim01:\n    lee02:\n"
        "  vars:\n    mlopslab_cohort: fall26\n    ansible_connection: ssh\n    ansible_host: 192.0.2.1\n"
    )
    (tmp_path / "site.yml").write_text(USERS_PLAYBOOK)
    run = course("site.yml", "-e", "mlopslab_apply=false")
    assert run.returncode == 0, run.output[-6000:]
    assert run.recap["kim01"]["unreachable"] == 0 and run.recap["kim01"]["failed"] == 0
    assert (tmp_path / "build" / "manifests" / "kim01" / "lab.yaml").is_file()


def test_a_users_play_over_another_group_is_refused_at_once_naming_the_group(course, tmp_path):
    """The roles take the cohort's students from the group cohort: a play over a group of another
    name is refused before anything is written, saying how to fix the inventory; done that way,
    the same play runs."""
    (tmp_path / "site.yml").write_text(USERS_PLAYBOOK.replace("hosts: cohort", "hosts: students"))
    (tmp_path / "inventory.yml").write_text("students:\n  hosts:\n    kim01:\n  vars:\n    mlopslab_cohort: fall26\n")
    refused = course("site.yml", "-e", "mlopslab_apply=false")
    assert refused.returncode != 0, refused.output[-3000:]
    assert "kim01: not in the inventory group 'cohort'" in refused.text, refused.output[-3000:]
    assert "cohort: {children: {students: {}}}" in refused.text and not (tmp_path / "build").exists()
    (tmp_path / "inventory.yml").write_text(
        "cohort:\n  children:\n    students:\n      hosts:\n        kim01:\n  vars:\n    mlopslab_cohort: fall26\n"
    )
    run = course("site.yml", "-e", "mlopslab_apply=false")
    assert run.returncode == 0, run.output[-6000:]


def test_ansible_lint_passes_a_users_playbook_with_the_collection_in_the_course_folder(installed, tmp_path):
    """ansible-lint's production profile on a user's playbook of the four verb roles, the collection
    installed into the course folder (ansible.cfg's collections_path, as a course repository keeps
    it): ansible-lint then lints the roles' own files too, where the shared mlopslab_* settings
    carry no role prefix; the files say so line by line (the repository's .ansible-lint-ignore is
    not shipped)."""
    shutil.copytree(installed / "collections" / "ansible_collections" / "mlopslab",
                    tmp_path / "collections" / "ansible_collections" / "mlopslab")  # fmt: skip
    (tmp_path / "ansible.cfg").write_text("[defaults]\ncollections_path = ./collections\ninventory = inventory.yml\n")
    (tmp_path / "inventory.yml").write_text("cohort:\n  hosts:\n    kim01:\n  vars:\n    mlopslab_cohort: fall26\n")
    plays = [("Deploy the labs", "deploy"), ("Check them", "verify"), ("Hand out access", "access"),
             ("Remove them", "teardown")]  # fmt: skip
    (tmp_path / "site.yml").write_text(
        "---\n"
        + "\n".join(
            f"- name: {name}\n  hosts: cohort\n  roles:\n    - mlopslab.monitoring.{role}\n" for name, role in plays
        )
    )
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    lint = [str(BIN / "ansible-lint"), "--offline", "--profile", "production", "--nocolor", "site.yml"]
    proc = subprocess.run(lint, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600, check=False)
    said = proc.stdout + proc.stderr
    assert proc.returncode == 0, said[-6000:]
    [processed] = re.findall(r"in (\d+) files processed", said)
    assert int(processed) > 20, said[-3000:]  # the roles' files were linted, not the playbook alone


def _pin(requirements: Path, name: str) -> str:
    """The version a requirements file pins for a package (name==version)."""
    [line] = [line for line in requirements.read_text().splitlines() if line.startswith(f"{name}==")]
    return line.split("==", 1)[1].strip()


def test_an_execution_environment_learns_what_the_collection_needs_from_the_artifact(installed):
    """What ansible-builder reads from the installed artifact (its meta/execution-environment.yml)
    when it builds an AWX image: the Python client, in a range that admits the version tested
    here, and promtool for the deploy pipeline's rendered checks."""
    proc = subprocess.run([str(BIN / "ansible-builder"), "introspect", "--sanitize", str(installed / "collections")],
                          capture_output=True, text=True, check=True)  # fmt: skip
    found = yaml.safe_load(proc.stdout.split("---", 1)[1])
    ours = {kind: [line for line in found.get(kind) or [] if "from collection mlopslab.monitoring" in line]
            for kind in ("python", "system")}  # fmt: skip
    [client] = ours["python"]
    assert SpecifierSet(client.split("#")[0].strip().removeprefix("kubernetes")).contains(
        _pin(REPO / "requirements.txt", "kubernetes")
    ), client
    assert [line.split("#")[0].strip() for line in ours["system"]] == ["prometheus [platform:dpkg]"]


def test_make_ee_context_writes_a_build_context_with_the_artifact():
    """`make ee-context`: the collection's artifact and ansible-builder's build context, the
    ansible-core of the image the one this project tests (requirements.txt)."""
    proc = subprocess.run(["make", "-s", "ee-context"], cwd=REPO, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    context = REPO / "build" / "ee" / "context"
    containerfile = (context / "Containerfile").read_text()
    assert f"ansible-core=={_pin(REPO / 'requirements.txt', 'ansible-core')}" in containerfile
    with tarfile.open(context / "_build" / "collections" / "mlopslab-monitoring.tar.gz") as artifact:
        manifest = json.load(artifact.extractfile("MANIFEST.json"))
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    assert (manifest["collection_info"]["namespace"], manifest["collection_info"]["version"]) == (
        "mlopslab",
        galaxy["version"],
    )
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert {"name": "collections/mlopslab-monitoring.tar.gz", "type": "file"} in requirements["collections"]


SAID_ONCE = """\
- name: Tasks every host runs
  hosts: all
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Change every host
      ansible.builtin.command: "true"
    - name: Say nothing
      ansible.builtin.set_fact:
        quiet: true
    - name: Say something once
      ansible.builtin.debug:
        msg: said once
      run_once: true
    - name: Fail three hosts the same way and one its own way
      ansible.builtin.fail:
        msg: "{{ inventory_hostname }}: {{ 'its own way' if inventory_hostname == 'lee01' else 'the same way' }}"
      when: inventory_hostname in ['kim01', 'kim02', 'kim03', 'lee01']
"""


def test_the_cohort_callback_says_once_what_every_host_did(installed, core, tmp_path):
    """stdout_callback = mlopslab.monitoring.cohort, from the installed artifact: a result that is
    only its status is one line for the task's hosts; a failure several hosts share is printed in
    full once; a debug message is printed; the recap is Ansible's, one line per host."""
    (tmp_path / "hosts.yml").write_text("all:\n  hosts:\n    kim[01:05]:\n    lee01:\n")
    (tmp_path / "play.yml").write_text(SAID_ONCE)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    environment.update(ANSIBLE_CONFIG=str(installed / "empty.cfg"),
                       ANSIBLE_COLLECTIONS_PATH=str(installed / "collections"),
                       ANSIBLE_STDOUT_CALLBACK="mlopslab.monitoring.cohort", ANSIBLE_NOCOLOR="1",
                       ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"))  # fmt: skip
    proc = subprocess.run([str(core / "ansible-playbook"), "-i", "hosts.yml", "play.yml"], cwd=tmp_path,
                          env=environment, capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    run = PlaybookRun(proc)
    assert run.returncode == 2, run.output
    lines = run.output.splitlines()
    assert "changed: kim[01:05], lee01 (6 hosts)" in lines, run.output
    assert not any(line.startswith(("changed: [", "ok: [kim02]")) for line in lines), run.output
    assert "Say nothing" not in run.output  # nothing to say: no banner either
    assert run.output.count('"msg": "said once"') == 1
    # kim01..kim03 share a failure (but for their names): one in full, the other two in one line.
    shared = [line for line in lines if line.startswith("fatal: ") and "the same way" not in line]
    full = [line for line in lines if re.match(r"fatal: \[kim0[123]\]: FAILED!", line)]
    assert len(full) == 1 and run.output.count(": the same way") == 2, run.output  # its [ERROR] and fatal lines
    first = full[0].split("[")[1].split("]")[0]
    rest = ", ".join(sorted({"kim01", "kim02", "kim03"} - {first}))
    assert f"fatal: {rest} (2 hosts): FAILED! the same as [{first}] above" in shared, run.output
    assert "its own way" in run.output and any(line.startswith("fatal: [lee01]: FAILED!") for line in lines)
    assert {host: counts["failed"] for host, counts in run.recap.items()} == {
        "kim01": 1, "kim02": 1, "kim03": 1, "kim04": 0, "kim05": 0, "lee01": 1,
    }  # fmt: skip
