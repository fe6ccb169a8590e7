"""deploy.yml in render mode (no cluster): the objects it writes are checked by the real tools
(kubernetes-validate, checkov, promtool), and the rendered Prometheus config and Grafana
dashboard run for real against the real exporter."""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from plugins.module_utils.access.held import with_password
from plugins.module_utils.deploy.fit import fit_problems, lab_budget
from tests.support import rendered_fixture
from tests.support.processes import REPO
from tests.support.rendered_fixture import render

STUDENTS = ["user01", "user02", "user03"]
SCHEMAS = sorted(
    (Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema").glob("v*-local-strict"),
    key=lambda p: tuple(int(x) for x in p.name[1:].split("-")[0].split(".")),
)
OLDEST, NEWEST = (s.name[1:].split("-")[0] for s in (SCHEMAS[0], SCHEMAS[-1]))


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    build_dir = tmp_path_factory.mktemp("build")
    return build_dir, render(build_dir)


def secret_value(secret, key):
    """A Secret's value as the API returns it: base64 in `data`."""
    assert "stringData" not in secret, "stringData is write-only: render what the API returns"
    return base64.b64decode(secret["data"][key]).decode()


def find(objects, kind, name):
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def test_every_student_gets_the_whole_lab(build):
    _build_dir, cohort = build
    assert sorted(cohort) == STUDENTS
    for student, objects in cohort.items():
        kinds = sorted({o["kind"] for o in objects})
        assert kinds == [
            "ConfigMap",
            "Deployment",
            "LimitRange",
            "Namespace",
            "NetworkPolicy",
            "ResourceQuota",
            "Role",
            "RoleBinding",
            "Secret",
            "Service",
            "ServiceAccount",
        ]
        assert objects[0]["kind"] == "Namespace"  # applied first
        for obj in objects:
            labels = obj["metadata"]["labels"]
            assert labels["app.kubernetes.io/managed-by"] == "mlopslab"
            assert labels["mlopslab.io/cohort"] == "mlops-demo"
            assert labels["mlopslab.io/student"] == student
            assert obj["metadata"].get("namespace", student) == student
        ns = find(objects, "Namespace", student)["metadata"]["labels"]
        assert ns["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("version", [OLDEST, NEWEST])
def test_manifests_validate_strictly(build, version):
    build_dir, _cohort = build
    files = sorted(str(p) for p in (build_dir / "manifests").glob("*/lab.yaml"))
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "kubernetes-validate"), "--strict", "--quiet", "-k", version, *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_checkov_finds_nothing(build):
    build_dir, _cohort = build
    proc = subprocess.run(
        [
            str(REPO / ".venv-checkov/bin/checkov"),
            "-d",
            str(build_dir / "manifests"),
            "--framework",
            "kubernetes",
            "--quiet",
            "--compact",
            "--skip-download",
            "--config-file",
            str(REPO / "tests/checkov.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert re.search(r"Passed checks: [1-9]\d*, Failed checks: 0", proc.stdout), proc.stdout[-2000:]


def test_pods_meet_the_restricted_pod_security_profile(build):
    _build_dir, cohort = build
    for deployment in (o for o in cohort["user01"] if o["kind"] == "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        name = deployment["metadata"]["name"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC"), name
        assert all(set(v) - {"name"} <= {"configMap", "secret", "emptyDir"} for v in pod["volumes"]), name
        for container in pod["containers"] + pod.get("initContainers", []):
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False, (name, container["name"])
            assert ctx["capabilities"] == {"drop": ["ALL"]}, (name, container["name"])
            assert ctx["readOnlyRootFilesystem"] is True, (name, container["name"])
            assert container["resources"]["limits"]["memory"], (name, container["name"])
            assert "ports" not in container or all("hostPort" not in p for p in container["ports"])


def test_exporter_start_can_never_be_a_liveness_kill(build):
    # The original lab's crash loop: pip at start, killed by its liveness probe (137, Reason Error).
    _build_dir, cohort = build
    deployment = find(cohort["user01"], "Deployment", "metrics-exporter")
    exporter = deployment["spec"]["template"]["spec"]["containers"][0]
    assert "pip" not in json.dumps(exporter["command"])
    init = deployment["spec"]["template"]["spec"]["initContainers"][0]
    assert "pip" in init["command"] and "--target" in init["command"]
    startup = exporter["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60


def test_grafana_secret_is_generated_and_stable(build, tmp_path):
    build_dir, cohort = build
    passwords = {s: secret_value(find(cohort[s], "Secret", "grafana-admin"), "admin-password") for s in STUDENTS}
    assert len(set(passwords.values())) == 3 and all(len(p) >= 20 for p in passwords.values())
    assert "admin" not in passwords.values()
    credentials = build_dir / "credentials" / "mlops-demo"
    assert oct((credentials / "user01-grafana-admin").stat().st_mode & 0o777) == "0o600"
    sheet = build_dir / "mlops-demo" / "access.csv"
    assert oct(sheet.stat().st_mode & 0o777) == "0o600"
    assert passwords["user02"] in sheet.read_text()
    # A second render reuses the stored password.
    again = render(build_dir)
    assert secret_value(find(again["user02"], "Secret", "grafana-admin"), "admin-password") == passwords["user02"]


def test_the_password_is_in_the_secret_and_the_sheet_only(build, tmp_path):
    """What the render cache relies on (module_utils/deploy/render_cache.py): two renders that differ
    only in the Grafana password differ only in the Secret's admin-password; taken out, the rest
    (annotations and checksums included) is the same, and shows neither password."""
    _build_dir, cohort = build
    given = render(tmp_path / "given", "-e", "grafana_admin_password=Given-Password-Of-The-Course-1")
    for student in STUDENTS:
        first, second = copy.deepcopy(cohort[student]), given[student]  # the module's render stays whole
        password = secret_value(find(first, "Secret", "grafana-admin"), "admin-password")
        for objects in (first, second):
            with_password(objects, None, None)
        assert first == second, student
        text = json.dumps(first)
        assert password not in text and "Given-Password-Of-The-Course-1" not in text
    assert "Given-Password-Of-The-Course-1" in (tmp_path / "given" / "mlops-demo" / "access.csv").read_text()


def test_a_second_render_changes_nothing(build, ansible_playbook):
    build_dir, _cohort = build
    run = ansible_playbook(
        "playbooks/deploy.yml", "-e", "mlopslab_apply=false", "-e", f"mlopslab_build_dir={build_dir}"
    )
    assert run.changed() == 0, run.output[-4000:]


def test_render_with_check_writes_nothing_and_says_what_would_change(tmp_path, ansible_playbook):
    build_dir = tmp_path / "build"
    run = ansible_playbook("playbooks/deploy.yml", "--check", "-e", "mlopslab_apply=false",
                           "-e", f"mlopslab_build_dir={build_dir}")  # fmt: skip
    assert not build_dir.exists()  # no manifest, password file, handout or sheet
    assert {row["result"] for row in run.summary().values()} == {"20 would change"}, run.output[-3000:]
    assert f"3 students rendered (--check: not written to {build_dir}/manifests)" in run.text
    assert f"--check: nothing was written; without it the access sheet and the handouts go to {build_dir}" in run.text
    assert "access.csv" not in run.output


def prometheus_files(objects, target_dir: Path) -> Path:
    config = find(objects, "ConfigMap", "prometheus-config")["data"]
    for name, text in config.items():
        (target_dir / name).write_text(text)
    return target_dir / "prometheus.yml"


def test_promtool_accepts_the_config_and_every_alert_rule_passes_its_unit_test(build, tmp_path):
    _build_dir, cohort = build
    config = prometheus_files(cohort["user02"], tmp_path)
    check = subprocess.run(["promtool", "check", "config", str(config)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "4 rules found" in check.stdout
    rules_test = yaml.safe_load((REPO / "tests/integration/prometheus/alert-rules.test.yml").read_text())
    rules_test["rule_files"] = [str(tmp_path / "alert-rules.yml")]
    tested = {t["alertname"] for group in rules_test["tests"] for t in group["alert_rule_test"]}
    rendered = {
        r["alert"] for g in yaml.safe_load((tmp_path / "alert-rules.yml").read_text())["groups"] for r in g["rules"]
    }
    assert tested == rendered, "every rendered alert rule needs a unit test"
    (tmp_path / "test.yml").write_text(yaml.safe_dump(rules_test))
    result = subprocess.run(
        ["promtool", "test", "rules", str(tmp_path / "test.yml")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def dashboard_queries(objects) -> tuple[list[str], list[dict]]:
    dashboard = json.loads(find(objects, "ConfigMap", "grafana-dashboards")["data"]["ab-test-dashboard.json"])
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    return exprs, dashboard["templating"]["list"]


def exporter_env(objects) -> dict[str, str]:
    """The exporter's own settings as its pod's environment gives them (EXPORTER_*)."""
    container = find(objects, "Deployment", "metrics-exporter")["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e["value"] for e in container["env"] if e["name"].startswith("EXPORTER_")}


def served_port(objects) -> int:
    """The port the exporter's Service sends scrapes to, followed as the cluster would: the
    Service's targetPort names a container port, whose number is the exporter's."""
    service = find(objects, "Service", "metrics-exporter")["spec"]["ports"][0]
    container = find(objects, "Deployment", "metrics-exporter")["spec"]["template"]["spec"]["containers"][0]
    [declared] = [p for p in container["ports"] if p["name"] == service["targetPort"]]
    return service["port"], declared["containerPort"]


# Each setting that names the exporter's port or its model versions, changed in turn (issue 30):
# the real Prometheus must still scrape the real exporter through the rendered config, and every
# dashboard query and the A/B alert must still find their series.
VARIANTS = {
    "defaults": lambda port: [],
    "another exporter port": lambda port: ["-e", f"metrics_exporter_port={port}"],
    "versions renamed": lambda port: ["-e", json.dumps({"metrics_exporter_settings": {"versions": "stable,canary"}})],
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_rendered_config_scrapes_the_real_exporter_and_every_dashboard_query_has_data(
    tmp_path, start_exporter, start_prometheus, variant
):
    from tests.support.processes import free_port  # noqa: PLC0415

    # Render one student with short intervals so the test sees several scrapes within seconds.
    cohort = render(tmp_path / "fast", "--limit", "user01", "-e", "prometheus_scrape_interval=1s",
                    "-e", "prometheus_evaluation_interval=1s", *VARIANTS[variant](free_port()))  # fmt: skip
    objects = cohort["user01"]
    env = exporter_env(objects)
    service_port, container_port = served_port(objects)
    assert str(container_port) == env["EXPORTER_PORT"]  # the program listens where its pod says
    exporter = start_exporter("--seed", "3", env=env)
    assert exporter.port == container_port
    config_path = prometheus_files(objects, tmp_path)
    config = yaml.safe_load(config_path.read_text())
    exporter_job = next(j for j in config["scrape_configs"] if j["job_name"] == "metrics-exporter")
    [target] = exporter_job["static_configs"][0]["targets"]
    host, port = target.rsplit(":", 1)
    # The target is the exporter's Service on its port; the one rewrite is what the Service does in
    # a cluster (its port to the container's, which the exporter listens on).
    assert (host, int(port)) == ("metrics-exporter", service_port)
    exporter_job["static_configs"] = [{"targets": [f"127.0.0.1:{container_port}"]}]
    config_path.write_text(yaml.safe_dump(config))
    # The NetworkPolicy lets Prometheus in on the port the exporter's container declares.
    policy = find(objects, "NetworkPolicy", "prometheus-scrapes-exporter")
    [allowed] = policy["spec"]["ingress"][0]["ports"]
    assert allowed["port"] in ("metrics", container_port)
    prom = start_prometheus(config_path)

    target = prom.wait_for_target("metrics-exporter", health="up")
    assert target["labels"]["job"] == "metrics-exporter"
    assert "student: user01" in prom.api("/api/v1/status/config")["yaml"]  # external labels
    rules = {r["name"]: r for g in prom.api("/api/v1/rules")["groups"] for r in g["rules"]}
    assert sorted(rules) == ["MetricsExporterDown", "ModelMAEDegraded", "ModelR2Low", "ModelVersionWorse"]
    versions = set(env.get("EXPORTER_VERSIONS", "v1.0,v2.0").split(","))

    exprs, variables = dashboard_queries(objects)
    # Template variables, filled in as Grafana would.
    (model_var,) = variables
    metric, label = re.fullmatch(r"label_values\((\w+), (\w+)\)", model_var["query"]["query"]).groups()
    values = prom.api(f"/api/v1/label/{label}/values", **{"match[]": metric})
    assert values == ["california-housing"]
    for expr in exprs:
        concrete = expr.replace("$model", values[0]).replace("$__rate_interval", "10s")
        result = prom.wait_for_data(concrete, timeout=30)
        assert result, expr
        if ("version" in expr and "by (version)" in expr) or "model_name=" in expr:
            assert {r["metric"].get("version") for r in result} == versions, expr
    # The A/B alert compares two series that exist: its difference has data (the threshold aside).
    difference = rules["ModelVersionWorse"]["query"].rsplit(">", 1)[0]
    assert prom.wait_for_data(difference, timeout=30), difference


def test_a_bad_role_argument_is_named_before_anything_is_written(tmp_path, ansible_playbook):
    # The settings check names it for every student at once, before any role renders (the render
    # task's own argument-spec validation stays, for a role used on its own).
    run = ansible_playbook(
        "playbooks/deploy.yml",
        "-e",
        "mlopslab_apply=false",
        "-e",
        f"mlopslab_build_dir={tmp_path}",
        "-e",
        "metrics_exporter_port=ninety",
        check=False,
    )
    assert run.returncode != 0
    assert (
        "metrics_exporter_port = 'ninety' (user01\u2013user03): is a string, not a whole number. "
        "Accepted: a whole number; e.g. 8000" in run.text
    )
    assert sum(r["failed"] for r in run.recap.values()) == 1  # once, for the cohort
    assert not (tmp_path / "manifests").exists() and not (tmp_path / "credentials").exists()


def test_the_grafana_role_alone_refuses_a_short_password_and_never_shows_the_secret(ansible_playbook):
    playbook = "tests/integration/playbooks/grafana_alone.yml"
    short = ansible_playbook(playbook, "-e", "password=admin", check=False)
    assert short.returncode != 0
    assert "grafana_admin_password is empty or shorter than 12 characters" in short.text
    assert "There is no default password" in short.text

    secret = "Zq7-not-a-real-password-42"
    good = ansible_playbook(playbook, "-e", f"password={secret}", "-vvv")
    assert "Secret,ConfigMap,ConfigMap,Deployment,Service" in good.text
    assert "censored" in good.text  # the render task's result, at -vvv
    assert secret not in good.output


def test_the_fit_check_weighs_the_pods_as_rendered(tmp_path):
    """The deploy pipeline (rendered_checks) weighs each student's rendered pods against their quota (deploy/fit.py):
    whatever a setting changes in the pods, the check sees it. With a prebuilt image the
    exporter's pod has no init container, so its pod reserves the exporter's own 48Mi, not 64Mi."""
    init = render(tmp_path / "init", "--limit", "user01")["user01"]
    prebuilt = render(tmp_path / "prebuilt", "--limit", "user01",
                      "-e", "metrics_exporter_image=localhost:5000/lab/exporter:1.0")["user01"]  # fmt: skip
    assert fit_problems(init) == [] and fit_problems(prebuilt) == []
    assert lab_budget(init)["pods"] == lab_budget(prebuilt)["pods"] == 4
    mib = 2**20
    assert lab_budget(init)["requests"]["memory"] - lab_budget(prebuilt)["requests"]["memory"] == 2 * (64 - 48) * mib


def test_the_rendered_fixture_of_the_unit_tests_is_what_the_roles_render(build):
    # tests/fixtures/rendered/lab.yaml feeds the unit tests of what programs read: it must not
    # drift from the roles (its header says how to render it again).
    _build_dir, manifests = build
    assert rendered_fixture.objects() == rendered_fixture.fixture_of(manifests["user01"])


def test_an_instructors_own_playbook_has_its_play_vars_checked_like_the_inventory(tmp_path):
    """The settings check reads each student's variables as the render does (one reader,
    plugin_utils/student_vars.py): a setting given as a play var of the instructor's own playbook
    is refused before anything is rendered, not met halfway through."""
    playbook = tmp_path / "site.yml"
    playbook.write_text(
        "- hosts: cohort\n  gather_facts: false\n  vars:\n    metrics_exporter_memory_limit: 96MB\n"
        "  roles:\n    - role: mlopslab.monitoring.deploy\n"
    )
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(REPO / "inventory" / "cohort.yml"),
         str(playbook), "-e", "mlopslab_apply=false", "-e", f"mlopslab_build_dir={tmp_path / 'build'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"},
    )  # fmt: skip
    assert proc.returncode != 0
    assert "metrics_exporter_memory_limit = '96MB' (user01" in proc.stdout + proc.stderr
    assert "nothing was rendered, written or applied" in proc.stdout + proc.stderr
    assert not (tmp_path / "build").exists()


def test_the_internal_role_refuses_to_run_on_its_own(tmp_path):
    playbook = tmp_path / "site.yml"
    playbook.write_text("- hosts: cohort\n  gather_facts: false\n  roles:\n    - role: mlopslab.monitoring._common\n")
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(REPO / "inventory" / "cohort.yml"),
         str(playbook)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"},
    )  # fmt: skip
    assert proc.returncode != 0
    assert "mlopslab.monitoring._common is internal to this collection" in proc.stdout + proc.stderr


def test_the_outputs_keep_themselves_out_of_git(tmp_path):
    # A course folder under git, the outputs written into it (the README's own layout): git sees
    # none of them, neither the passwords, the handouts nor the manifests.
    course = tmp_path / "course"
    course.mkdir()
    subprocess.run(["git", "init", "-q", str(course)], check=True)
    (course / "inventory.yml").write_text("cohort: {}\n")
    render(course / "build", "--limit", "user01")
    assert {"credentials", "manifests", ".gitignore"} <= {p.name for p in (course / "build").iterdir()}
    status = subprocess.run(["git", "-C", str(course), "status", "--porcelain", "--untracked-files=all"],
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert status.splitlines() == ["?? inventory.yml"], status
