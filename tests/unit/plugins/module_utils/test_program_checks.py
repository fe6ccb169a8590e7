"""What each student's programs will read (module_utils/program_checks.py): promtool's own output
attributed to students, an environment variable set twice, Grafana's provisioning rules. The
objects are the lab's own, rendered by the roles (tests/integration renders them for real)."""

import copy
import json
import shutil
import subprocess

import pytest
import yaml

from plugins.module_utils.deploy import program_checks
from tests.support import rendered_fixture


def lab(student="user01", **changes):
    """A student's objects as the roles render them (tests/fixtures/rendered/lab.yaml)."""
    objects = rendered_fixture.objects()
    for obj in objects:
        for key, value in changes.get((obj["kind"], obj["metadata"]["name"]), {}).items():
            obj.setdefault("data", {})[key] = value
    return {student: objects}


def test_the_rendered_lab_passes_every_check():
    manifests = lab()
    assert program_checks.env_problems(manifests) == {}
    assert program_checks.grafana_problems(manifests) == {}
    assert set(program_checks.prometheus_files(manifests)["user01"]) == {"prometheus.yml", "alert-rules.yml"}


# promtool 2.42's words for two files, one refused (captured from `promtool check config`).
PROMTOOL_OUTPUT = """Checking /tmp/x/user01/prometheus.yml
  SUCCESS: 1 rule files found
 SUCCESS: /tmp/x/user01/prometheus.yml is valid prometheus config file syntax

Checking /tmp/x/user01/alert-rules.yml
  FAILED:
     /tmp/x/user01/alert-rules.yml: 5:15: group "g", rule 1, "A": could not parse expression: 1:8: parse error: unterminated quoted string

Checking /tmp/x/user02/prometheus.yml
  FAILED: parsing YAML file /tmp/x/user02/prometheus.yml: "http://metrics-exporter:8000" is not a valid hostname
"""  # noqa: E501


def test_promtool_output_is_attributed_to_each_student():
    problems = program_checks.promtool_problems(PROMTOOL_OUTPUT, lambda path: path.split("/")[3])
    assert sorted(problems) == ["user01", "user02"]
    assert problems["user01"][0].startswith("alert-rules.yml: /tmp/x/user01/alert-rules.yml: 5:15")
    assert "unterminated quoted string" in problems["user01"][0]
    assert problems["user02"] == [
        "prometheus.yml: parsing YAML file /tmp/x/user02/prometheus.yml: "
        '"http://metrics-exporter:8000" is not a valid hostname'
    ]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed (make setup installs it)")
def test_the_real_promtool_reads_the_rendered_files_and_its_output_parses(tmp_path):
    files = program_checks.prometheus_files(lab())["user01"]
    broken = {**files, "alert-rules.yml": files["alert-rules.yml"].replace("== 0", "== ")}
    paths = []
    for student, texts in (("user01", files), ("user02", broken)):
        (tmp_path / student).mkdir()
        for name, text in texts.items():
            (tmp_path / student / name).write_text(text)
        paths.append(str(tmp_path / student / "prometheus.yml"))
    run = subprocess.run(["promtool", "check", "config", "--lint=none", *paths], capture_output=False,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)  # fmt: skip
    problems = program_checks.promtool_problems(run.stdout, lambda path: path.split("/")[-2])
    assert run.returncode == 1 and list(problems) == ["user02"]
    assert "could not parse expression" in problems["user02"][0]


def test_a_variable_set_twice_names_the_setting():
    manifests = lab()
    exporter = next(
        o for o in manifests["user01"] if o["kind"] == "Deployment" and o["metadata"]["name"] == "metrics-exporter"
    )
    container = exporter["spec"]["template"]["spec"]["containers"][0]
    container["env"].append({"name": "EXPORTER_PORT", "value": "9000"})
    [line] = program_checks.env_problems(manifests)["user01"]
    assert "container exporter sets EXPORTER_PORT twice (metrics_exporter_settings['port'])" in line


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda ds: ds["datasources"][0].update(url="prometheus:9090"), "is not an http(s) URL Grafana can query"),
        (lambda ds: ds["datasources"][0].update(access="server"), "is neither proxy nor direct"),
        (
            lambda ds: ds["datasources"].append({**ds["datasources"][0], "name": "B", "uid": "b"}),
            "more than one default",
        ),
        (
            lambda ds: ds["datasources"][0].update(uid="prom"),
            "uses datasource uid 'prometheus', which is not provisioned",
        ),
    ],
)
def test_grafana_refuses_what_grafana_would_refuse(change, says):
    manifests = lab()
    provisioning = next(o for o in manifests["user01"] if o["metadata"]["name"] == "grafana-provisioning")
    datasources = yaml.safe_load(provisioning["data"]["datasources.yaml"])
    change(datasources)
    provisioning["data"]["datasources.yaml"] = yaml.safe_dump(datasources)
    assert any(says in line for line in program_checks.grafana_problems(manifests)["user01"])


def test_a_dashboard_that_is_not_json_is_named():
    manifests = copy.deepcopy(lab())
    dashboards = next(o for o in manifests["user01"] if o["metadata"]["name"] == "grafana-dashboards")
    name = next(iter(dashboards["data"]))
    dashboards["data"][name] = json.dumps({"title": "x"})[:-1]
    assert program_checks.grafana_problems(manifests)["user01"][0].startswith(f"{name} is not JSON")


def ingress(host: str) -> dict:
    """Grafana's Ingress as roles/grafana renders it with mlopslab_ingress_domain set."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "grafana"},
            "spec": {"rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix"}]}}]}}  # fmt: skip


def controller_policy() -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": program_checks.INGRESS_POLICY}}  # fmt: skip


def test_an_ingress_needs_a_policy_that_lets_the_controller_in():
    manifests = {"user01": [*lab()["user01"], ingress("user01.lab.example")]}
    [line] = program_checks.ingress_problems(manifests)["user01"]
    assert line.startswith("student_namespace_ingress_namespaces is empty")
    manifests["user01"].append(controller_policy())
    assert program_checks.ingress_problems(manifests) == {}


def test_an_ingress_host_is_one_students():
    manifests = {s: [ingress(f"{s}.lab.example"), controller_policy()] for s in ("user01", "user02")}
    assert program_checks.ingress_problems(manifests) == {}
    manifests["user03"] = [ingress("user01.lab.example"), controller_policy()]
    found = program_checks.ingress_problems(manifests)
    assert sorted(found) == ["user01", "user03"]
    assert "the Ingress host 'user01.lab.example' is claimed by 2 students' Grafanas" in found["user03"][0]


def test_the_policies_follow_the_containers_named_ports():
    # A port number written in a NetworkPolicy would not follow metrics_exporter_port: each policy
    # names a port the pods it selects declare.
    objects = lab()["user01"]
    declared = {p["name"] for o in objects if o["kind"] == "Deployment"
                for c in o["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}  # fmt: skip
    for policy in (o for o in objects if o["kind"] == "NetworkPolicy"):
        for rule in policy["spec"].get("ingress") or []:
            for port in rule.get("ports") or []:
                assert port["port"] in declared, (policy["metadata"]["name"], port)
