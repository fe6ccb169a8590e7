"""deploy.yml refuses bad settings before anything changes: every setting of every role, for every
student, checked at once (the validate_settings action over module_utils/settings.py).

Table-driven: each case is a bad input and the message it must produce. Cases that can stand
together are given to one run (every problem is named at once, so one run checks them all);
each case then asserts its own message, and that the run changed nothing: no request reached
the (emulated) cluster (for a cluster too small, only its Nodes and Pods were read) and nothing
was written or generated under the build directory (no manifests, no password files)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import PlaybookRun
from tests.support.kube_emulator import CLUSTER_FIXTURES, EmulatedCluster, is_write
from tests.support.processes import REPO

DASH = "\u2013"

# group -> (extra vars as JSON, or a list of raw -e arguments), inventory (host -> vars; None:
# user01-user03 of the example), and the cases: (id, message fragment).
GROUPS = {
    "values": (
        {
            "metrics_exporter_memory_limit": "96MB",
            "prometheus_retention_time": "forever",
            "metrics_exporter_port": 99999,
            "mlopslab_ingress_domain": "lab..example",
            "prometheus_retention_size": "400Mi",
            "prometheus_scrape_interval": "15",
            "prometheus_evaluation_interval": "1.5m",
            "grafana_image": "grafana/grafana:",
            "prometheus_image": "Prom/Prometheus:v2",
            "metrics_exporter_python_image": "python 3.12",
            "metrics_exporter_cpu_request": "20 m",
            "metrics_exporter_cpu_limit": "-200m",
            "grafana_memory_request": "1Gi",
            "prometheus_memory_limit": "384MiB",
            "grafana_cpu_limit": "half",
            "prometheus_storage_size_limit": "512MB",
            "prometheus_alert_mae_threshold": "high",
            "mlopslab_capacity_check": "maybe",
            "student_namespace_container_max": {"cpu": "1", "memory": "1 Gi"},
            "mlopslab_student_token_ttl": "5m",
            "mlopslab_student_token_renew_before": "soon",
            "mlopslab_student_api_server": "k8s.example.com",
            "mlopslab_handout_language": "kr",
        },
        None,
        [
            ("memory quantity", f"metrics_exporter_memory_limit = '96MB' (user01{DASH}user03): is not a Kubernetes quantity"),
            ("retention forever", "prometheus_retention_time = 'forever' (user01"),
            ("retention is a duration", "is not a Prometheus duration. Accepted: a Prometheus duration"),
            ("port", "metrics_exporter_port = 99999 (user01"),
            ("port range", "is not a TCP port (1-65535)"),
            ("ingress domain", "mlopslab_ingress_domain = 'lab..example' (user01"),
            ("retention size", "prometheus_retention_size = '400Mi' (user01"),
            ("scrape interval", "prometheus_scrape_interval = '15' (user01"),
            ("evaluation interval", "prometheus_evaluation_interval = '1.5m' (user01"),
            ("grafana image", "grafana_image = 'grafana/grafana:' (user01"),
            ("prometheus image", "prometheus_image = 'Prom/Prometheus:v2' (user01"),
            ("python image", "metrics_exporter_python_image = 'python 3.12' (user01"),
            ("cpu request", "metrics_exporter_cpu_request = '20 m' (user01"),
            ("negative cpu", "metrics_exporter_cpu_limit = '-200m' (user01"),
            ("request above limit", "grafana_memory_request = '1Gi' (user01" + DASH + "user03): is above grafana_memory_limit (256Mi)"),
            ("MiB is not a suffix", "prometheus_memory_limit = '384MiB' (user01"),
            ("cpu as a word", "grafana_cpu_limit = 'half' (user01"),
            ("emptyDir size", "prometheus_storage_size_limit = '512MB' (user01"),
            ("threshold", "prometheus_alert_mae_threshold = 'high' (user01"),
            ("choices", "mlopslab_capacity_check = 'maybe' (user01" + DASH + "user03): is not one of the choices. Accepted: fail, warn, skip"),
            ("limit range", "student_namespace_container_max['memory'] = '1 Gi' (user01"),
            ("an example to copy", "e.g. 256Mi"),
            ("token lifetime", "mlopslab_student_token_ttl = '5m' (user01" + DASH + "user03): is shorter than 10m"),
            ("renewal margin", "mlopslab_student_token_renew_before = 'soon' (user01" + DASH + "user03): is not a lifetime"),
            ("api server url", "mlopslab_student_api_server = 'k8s.example.com' (user01" + DASH + "user03): is not a URL"),
            ("handout language", "mlopslab_handout_language = 'kr' (user01" + DASH + "user03): is not one of the choices. Accepted: ko, en"),
        ],
    ),
    # A host var naming a variable that does not exist: said with the student, not a bare error.
    "an undefined variable": (
        {},
        {"user01": {}, "user02": {"grafana_cpu_limit": "{{ no_such_variable }}"}},
        [("undefined", "grafana_cpu_limit (user02): cannot be evaluated: 'no_such_variable' is undefined")],
    ),
    # Kubeconfigs are issued by one call per cluster, with one address for its students.
    "two addresses for one cluster": (
        {},
        {"user01": {}, "user02": {}, "user03": {"mlopslab_student_api_server": "https://vpn.example.com:6443"}},
        [
            (
                "one address per cluster",
                "mlopslab_student_api_server = 'https://vpn.example.com:6443' (user03): differs from user01's (none: "
                "the address in the kubeconfig) on the same cluster default",
            ),
        ],
    ),
    "exporter and typos": (
        {
            "metrics_exporter_settings": {"traffic_split": "0.7,0.7", "trafic_splt": "0.5,0.5"},
            "metrics_exporter_memory_limt": "128Mi",
            "prometheus_retension_time": "7d",
            "grafana_admin_pasword": "not-a-setting-either",
        },
        None,
        [
            ("exporter's own parser", "is refused by the exporter: invalid --traffic-split / EXPORTER_TRAFFIC_SPLIT '0.7,0.7'"),
            (
                "exporter option typo",
                "metrics_exporter_settings['trafic_splt'] = '0.5,0.5' (user01" + DASH + "user03): is not an exporter option: did you mean 'traffic_split'?",
            ),
            (
                "variable typo",
                "metrics_exporter_memory_limt (user01" + DASH + "user03): is not a setting of any role: did you mean metrics_exporter_memory_limit?",
            ),
            (
                "second variable typo",
                "prometheus_retension_time (user01" + DASH + "user03): is not a setting of any role: did you mean prometheus_retention_time?",
            ),
            ("third variable typo", "grafana_admin_pasword (user01" + DASH + "user03): is not a setting of any role: did you mean grafana_admin_password?"),
        ],
    ),
    "a string for a dict": (
        ["-e", "metrics_exporter_settings={'traffic_split':'0.7,0.7'}"],
        None,
        [
            ("string not dict", "metrics_exporter_settings = \"{'traffic_split':'0.7,0.7'}\" (user01" + DASH + "user03): is a string, not a dict"),
            ("how to pass a dict", "with -e, pass JSON"),
        ],
    ),
    "per student": (
        {},
        {
            **{f"user{n:02d}": {} for n in range(1, 31)},
            "user02": {"metrics_exporter_memory_limit": "96MB"},
            **{f"user{n:02d}": {"prometheus_retention_time": "forever"} for n in range(4, 31)},
        },
        [
            ("one student's host var", "metrics_exporter_memory_limit = '96MB' (user02): is not a Kubernetes quantity"),
            ("a range of students", f"prometheus_retention_time = 'forever' (user04{DASH}user30)"),
        ],
    ),
    # Values that parse, and mean something no instructor intends (issue 30's settings).
    "values that mean something else": (
        {
            "metrics_exporter_memory_limit": "256",
            "prometheus_cpu_request": "0.0001",
            "grafana_cpu_limit": "500",
            "prometheus_alert_r2_threshold": 70,
            "prometheus_alert_mae_threshold": 0,
            "metrics_exporter_pip_index_url": "pypi.example.com/simple",
            "prometheus_exporter_address": "metrics-exporter:8080",
            "prometheus_ab_candidate_version": "v3.0",
        },
        None,
        [
            ("memory without its unit", "metrics_exporter_memory_limit = '256' (user01" + DASH + "user03): is too little "
             "memory for any container to start (256 is bytes: the unit is missing). Accepted: at least 4Mi"),
            ("the unit it lacked", "e.g. 256Mi"),
            ("cpu below 1m", "prometheus_cpu_request = '0.0001' (user01" + DASH + "user03): is 0.0001 cores, below 1m"),
            ("cpu without m", "grafana_cpu_limit = '500' (user01" + DASH + "user03): is 500 cores, more than any node "
             "has: the unit m is missing"),
            ("a percentage for R²", "prometheus_alert_r2_threshold = 70 (user01" + DASH + "user03): is outside its "
             "metric's range: its alert would always or never fire (70 reads as a percentage: 0.7?)"),
            ("MAE of 0", "prometheus_alert_mae_threshold = 0 (user01" + DASH + "user03): is outside its metric's range"),
            ("index URL without a scheme", "metrics_exporter_pip_index_url = 'pypi.example.com/simple' (user01" + DASH
             + "user03): is not an http(s) URL"),
            ("address on another port", "prometheus_exporter_address = 'metrics-exporter:8080' (user01" + DASH + "user03)"
             ": scrapes the lab's exporter on port 8080, but metrics_exporter_port is 8000"),
            ("a version the exporter does not serve", "prometheus_ab_candidate_version = 'v3.0' (user01" + DASH +
             "user03): is not one of the exporter's versions (v1.0, v2.0)"),
        ],
    ),
    # One run is one cohort: a cohort given to one host would split that student off.
    "a cohort given to one host": (
        {},
        {"user01": {}, "user02": {"mlopslab_cohort": "other-course"}, "user03": {}},
        [
            ("one cohort per run", "mlopslab_cohort = 'other-course' (user02): differs between this run's students "
             "('mlops-demo' for user01, user03; 'other-course' for user02): one run is one cohort"),
        ],
    ),
    # Refused by the check of the rendered labs (program_checks.ingress_problems), before any write.
    "an Ingress the controller cannot reach": (
        {"mlopslab_ingress_domain": "lab.example.com"},
        None,
        [
            ("no way in for the controller", "user01" + DASH + "user03: student_namespace_ingress_namespaces is empty, "
             "so nothing lets the ingress controller through the namespace's default-deny policy"),
        ],
    ),
    "one Grafana host for every student": (
        {"mlopslab_ingress_domain": "lab.example.com", "grafana_ingress_host": "grafana.lab.example.com",
         "student_namespace_ingress_namespaces": ["ingress-nginx"]},
        None,
        [
            ("hosts unique across the cohort", "user01" + DASH + "user03: the Ingress host 'grafana.lab.example.com' is "
             "claimed by 3 students' Grafanas (grafana_ingress_host), and one host routes to one Grafana"),
        ],
    ),
    "namespace budget": (
        {
            "student_namespace_quota": {"requests.cpu": "1", "requests.memory": "300Mi", "limits.cpu": "2",
                                        "limits.memory": "2Gi", "pods": "3"},
            "student_namespace_container_max": {"cpu": "1", "memory": "300Mi"},
        },
        None,
        [
            ("quota pods", "student_namespace_quota['pods'] = '3' (user01" + DASH + "user03): is below the 4 pods the lab holds at its peak"),
            ("quota memory", "student_namespace_quota['requests.memory'] = '300Mi' (user01" + DASH + "user03): is below the 384Mi of requests"),
            (
                "limit range max names the setting",
                "prometheus_memory_limit = '384Mi' (user01"
                + DASH
                + "user03): is above the LimitRange's maximum student_namespace_container_max['memory'] (300Mi): the API would refuse prometheus's pod",
            ),
        ],
    ),
    # Settings that are fine, on a cluster too small in pods: two usable 4-pod nodes hold 8 pods,
    # 3 students are 9. The capacity check reads Nodes and Pods (no write), weighing the rendered pods.
    # Who a student is, decided once (settings.identity_problems, membership_problems): a prefix
    # and name that make a system namespace, two students on one namespace, a student in two
    # clusters' groups. Inventories with groups, as an instructor writes them.
    "system namespaces": (
        {},
        "cohort:\n  hosts:\n    user01:\n    system: {mlopslab_namespace_prefix: kube-}\n    default:\n"
        "    shift: {mlopslab_namespace_prefix: openshift-}\n",
        [
            (
                "kube-system",
                "mlopslab_namespace_prefix = 'kube-' (system): with the student's name 'system' makes the namespace "
                "'kube-system', which the cluster keeps for its own components",
            ),
            ("default", "mlopslab_namespace_prefix = '' (default): with the student's name 'default' makes the namespace 'default'"),
            ("openshift-*", "makes the namespace 'openshift-shift', which the cluster keeps"),
        ],
    ),
    "one namespace for two students": (
        {},
        "cohort:\n  hosts:\n    user01:\n    '01': {mlopslab_namespace_prefix: user}\n    user02:\n",
        [
            (
                "same namespace",
                "mlopslab_namespace_prefix (01, user01): makes one namespace 'user01' for user01 (prefix ''), 01 "
                "(prefix 'user'): two students would share one lab",
            ),
        ],
    ),
    "a student in two cluster groups": (
        {},
        "cohort:\n  children:\n    course_a:\n      hosts: {user01: , user02: }\n      vars: {mlopslab_context: course-a}\n"
        "    course_b:\n      hosts: {user02: , user03: }\n      vars: {mlopslab_context: course-b}\n",
        [
            (
                "two groups",
                "mlopslab_kubeconfig (user02): differs between the groups user02 is in: course_a (kubeconfig "
                "default, context course-a); course_b (kubeconfig default, context course-b). Ansible would silently "
                "keep one",
            ),
        ],
    ),
    # A no_log setting's value is never echoed, whatever is wrong with it.
    "a secret in the wrong shape": (
        {"grafana_admin_password": ["s3cret-in-a-list-0001"]},
        None,
        [("hidden value", "grafana_admin_password = (hidden: a no_log setting) (user01" + DASH + "user03): is a list, not a string")],
    ),
    # Folders the run writes to, checked before anything is made (was: three password files
    # written, then a raw "[Errno 20] Not a directory").
    "an unwritable output folder": (
        ["-e", "mlopslab_apply=false", "-e", "mlopslab_render_dir=/dev/null/manifests"],
        None,
        [("render dir under a file", "mlopslab_render_dir = '/dev/null/manifests' (user01" + DASH + "user03): is under /dev/null, which is a file")],
    ),
    # What only the programs themselves know, found in the rendered files after the render and
    # before anything is written or applied: Prometheus's own parser (promtool), and a variable
    # set twice in one container.
    "what the programs refuse": (
        {
            "prometheus_extra_scrape_configs": [
                {"job_name": "node", "static_configs": [{"targets": ["node:9100"]}], "relabel_configs": [{"action": "bogus"}]}
            ],
            "metrics_exporter_settings": {"port": "9000"},
        },
        None,
        [
            ("promtool", "user01" + DASH + "user03: Prometheus refuses prometheus.yml: parsing YAML file /etc/prometheus/prometheus.yml"),
            ("promtool's words", 'unknown relabel action "bogus"'),
            ("set twice", "user01" + DASH + "user03: metrics-exporter's container exporter sets EXPORTER_PORT twice (metrics_exporter_settings['port'])"),
        ],
    ),
    "cluster too small in pods": (
        {},
        None,
        [
            ("pods per node", "The cohort of 3 needs more pods (each node's allocatable pods) than the cluster has free: 2 of these students would fit."),
            ("and what to do", "Free capacity (another course's pods, a larger node pool)"),
        ],
    ),
}  # fmt: skip
CASES = [(group, case_id, says) for group, (*_given, cases) in GROUPS.items() for case_id, says in cases]
# Groups that reach the cluster's capacity check read it (never write); the others must not
# have asked it anything at all.
READS_THE_CLUSTER = {"cluster too small in pods"}
# Groups refused after the render (the lab against its own guard rails, what the programs would
# read: both judged from the rendered objects): the preflight has read the cluster, nothing was written.
AFTER_RENDER = {
    "what the programs refuse",
    "namespace budget",
    "an Ingress the controller cannot reach",
    "one Grafana host for every student",
}


def small_nodes(path):
    """The kind cluster's nodes (tests/fixtures/cluster/nodes.yml), each with room for 4 pods."""
    nodes = yaml.safe_load((CLUSTER_FIXTURES / "nodes.yml").read_text())
    for node in nodes:
        for key in ("capacity", "allocatable"):
            node["status"][key]["pods"] = "4"
    path.write_text(yaml.safe_dump(nodes))
    return path


def write_inventory(path, hosts):
    if isinstance(hosts, str):  # an inventory with groups, written out
        path.write_text(hosts)
        return
    lines = ["cohort:", "  hosts:"]
    for host, variables in hosts.items():
        lines.append(f"    {host}:" + (f" {json.dumps(variables)}" if variables else ""))
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def refusals(tmp_path_factory):
    """Each group's run, once: {group: (PlaybookRun, requests made, files under the build dir)}."""
    results = {}
    for group, (extra, hosts, _cases) in GROUPS.items():
        workdir = tmp_path_factory.mktemp(group.replace(" ", "-"))
        inventory = workdir / "inventory" / "cohort.yml"
        shutil.copytree(REPO / "inventory" / "group_vars", inventory.parent / "group_vars")
        write_inventory(inventory, hosts or {f"user{n:02d}": {} for n in range(1, 4)})
        args = extra if isinstance(extra, list) else ["-e", json.dumps(extra)]
        nodes = small_nodes(workdir / "nodes.yml") if group in READS_THE_CLUSTER else CLUSTER_FIXTURES / "nodes.yml"
        with EmulatedCluster(workdir / "kubeconfig", seed_files=[nodes]) as kube:
            before = len(kube.emulator._requests)
            proc = subprocess.run(
                [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), "playbooks/deploy.yml",
                 "-e", f"mlopslab_build_dir={workdir / 'build'}", *args],
                cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
                env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
                     "K8S_AUTH_KUBECONFIG": str(kube.kubeconfig)},
            )  # fmt: skip
            asked = kube.emulator._requests[before:]
            made = (len(asked), sum(is_write(r) for r in asked))
        build = workdir / "build"
        files = sorted(str(p.relative_to(build)) for p in build.rglob("*") if p.is_file()) if build.exists() else []
        results[group] = (PlaybookRun(proc), made, files)
    return results


@pytest.mark.parametrize(("group", "case_id", "says"), CASES, ids=[f"{g}: {c}" for g, c, _says in CASES])
def test_a_bad_setting_is_refused_before_anything_changes(refusals, group, case_id, says):
    run, requests, files = refusals[group]
    assert run.returncode != 0
    assert says in run.text, f"{case_id}: {says!r} not in:\n{run.output[-5000:]}"
    total, writes = requests
    assert writes == 0, "the cluster was changed"
    if group in READS_THE_CLUSTER:
        assert "Nothing was changed." in run.text
    elif group in AFTER_RENDER:
        assert "nothing was written or applied" in run.text
    else:
        assert "nothing was rendered, written or applied" in run.text
        assert total == 0, "the cluster was asked something before the settings were checked"
    assert files == [], f"written or generated although refused: {files}"


def _secrets(value, key=""):
    """Every value given under a password key, anywhere in a group's extra vars or host vars."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _secrets(v, k)]
    if "password" in key:
        return [str(v) for v in (value if isinstance(value, list) else [value])]
    return [s for v in value for s in _secrets(v, key)] if isinstance(value, list) else []


@pytest.mark.parametrize("group", list(GROUPS))
def test_no_refusal_shows_a_secret_it_was_given(refusals, group):
    extra, hosts, _cases = GROUPS[group]
    given = _secrets(extra if isinstance(extra, dict) else {}) + _secrets(hosts if isinstance(hosts, dict) else {})
    run, *_requests_files = refusals[group]
    assert [s for s in given if s in run.output] == []


def test_the_table_has_at_least_thirty_bad_inputs():
    assert len(CASES) >= 30


def test_every_problem_of_a_run_is_named_in_one_message(refusals):
    run, *_requests_files = refusals["values"]
    # One failure for the whole cohort (the run_once task), not one per student or per setting.
    assert sum(host["failed"] for host in run.recap.values()) == 1
    assert "23 problems in the settings" in run.text
