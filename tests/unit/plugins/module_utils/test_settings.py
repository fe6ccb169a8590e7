"""The settings rules: one per kind of value, the exporter's own parser and typos
(module_utils/common/settings.py). The lab's fit in its own namespace is judged from the
rendered objects: test_fit.py."""

import sys
from pathlib import Path

import pytest
import yaml

from plugins.module_utils.common import settings as rules

REPO = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(REPO / "exporter"))
from ab_exporter import config as exporter_config  # noqa: E402 - the exporter is a package of its own

DEFAULTS = {}
for role in ("student_namespace", "metrics_exporter", "prometheus", "grafana"):
    DEFAULTS.update(yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text()))
# As validate_settings reads them: a default that is a template derives from another setting.
DEFAULTS = {k: v for k, v in DEFAULTS.items() if not (isinstance(v, str) and "{{" in v)}


@pytest.mark.parametrize(
    ("rule", "good", "bad"),
    [
        ("quantity", ["96Mi", "1Gi", "0.5", "100m", "1e3", "2", 2, 0.25, "1.5Gi", ".5"],
         ["96MB", "-1", "", "12 Mi", "1Gi ", "1.2.3", "Mi", True, [1]]),
        ("duration", ["15s", "2d", "1h30m", "500ms", "1y", "4w"], ["forever", "0", "15", "1.5h", "", 15, "15S"]),
        ("size", ["400MB", "1GB", "512B", "2TB"], ["400Mi", "1.5GB", "400", "400 MB", "", 400]),
        ("port", [8000, "8000", 1, 65535], [99999, 0, -1, "http", True, "80.5", None]),
        ("image", ["docker.io/library/python:3.12-slim", "python", "quay.io/prometheus/prometheus:v2.53.2",
                   "localhost:5000/lab/exporter:1.0", "registry.k8s.io/pause@sha256:" + "a" * 64],
         ["Python:3", "python:", "a b", "", "docker.io/library/python:3.12 ", 3]),
        ("domain", ["lab.example.com", "example", "a-b.c9.example"],
         ["lab..example", "-lab.example", "Lab.example", "lab.example.", "a_b.example", "x" * 64 + ".example"]),
    ],
)  # fmt: skip
def test_each_rule_accepts_what_its_grammar_does_and_nothing_else(rule, good, bad):
    check = rules.RULES[rule][0]
    assert [v for v in good if check(v)] == []
    assert [v for v in bad if not check(v)] == []


def test_the_roles_defaults_have_no_problems():
    values = {**DEFAULTS, "mlopslab_ingress_domain": ""}
    assert rules.value_problems(values) == []
    assert rules.exporter_problems({}, 8000, exporter_config.load, exporter_config.OPTIONS) == []


@pytest.mark.parametrize(
    ("override", "variable", "wrong"),
    [
        ({"metrics_exporter_memory_limit": "96MB"}, "metrics_exporter_memory_limit", "is not a Kubernetes quantity"),
        ({"prometheus_retention_time": "forever"}, "prometheus_retention_time", "is not a Prometheus duration"),
        ({"prometheus_retention_size": "400Mi"}, "prometheus_retention_size", "is not a Prometheus size"),
        ({"metrics_exporter_port": 99999}, "metrics_exporter_port", "is not a TCP port (1-65535)"),
        ({"grafana_image": "grafana/grafana:"}, "grafana_image", "is not an image reference"),
        ({"grafana_memory_request": "1Gi"}, "grafana_memory_request", "is above grafana_memory_limit (256Mi)"),
        ({"student_namespace_quota": {**DEFAULTS["student_namespace_quota"], "pods": "ten"}},
         "student_namespace_quota['pods']", "is not a Kubernetes quantity"),
        ({"mlopslab_ingress_domain": "lab..example"}, "mlopslab_ingress_domain", "is not a DNS name"),
    ],
)  # fmt: skip
def test_a_bad_value_names_the_variable_the_value_what_is_accepted_and_an_example(override, variable, wrong):
    [found] = rules.value_problems({**DEFAULTS, **override})
    assert found["variable"] == variable and found["wrong"].startswith(wrong), found
    assert found["accepted"] and found["example"]
    # The example is itself accepted by the rule, where the rule is one of the table's.
    rule = rules.SETTINGS.get(variable, ("quantity",))[0]
    if "above" not in wrong:
        assert rules.RULES[rule][0](found["example"]) is None


def test_a_grafana_host_that_is_not_a_dns_name_is_refused_though_the_domain_is_one():
    domain = ".".join(["x" * 60] * 4)  # 243 characters: a DNS name; with the student's name, 250+ is not
    assert rules.dns_subdomain(domain) is None
    [found] = rules.host_problems("a-rather-long-student-name", {"mlopslab_ingress_domain": domain})
    assert "makes the Grafana host" in found["wrong"]


def test_the_exporter_judges_its_own_options_and_a_typo_gets_the_closest():
    load, options = exporter_config.load, exporter_config.OPTIONS
    [refused] = rules.exporter_problems({"traffic_split": "0.7,0.7"}, 8000, load, options)
    assert refused["wrong"].startswith("is refused by the exporter: invalid --traffic-split / EXPORTER_TRAFFIC_SPLIT")
    assert "sum to 1 (they sum to 1.4)" in refused["wrong"]
    [typo] = rules.exporter_problems({"trafic_split": "0.5,0.5"}, 8000, load, options)
    assert typo["variable"] == "metrics_exporter_settings['trafic_split']"
    assert typo["wrong"] == "is not an exporter option: did you mean 'traffic_split'?"
    assert rules.exporter_problems({"traffic_split": "0.7,0.3", "seed": 7}, 8000, load, options) == []


def test_types_are_said_in_words_and_a_string_for_a_dict_says_how_to_pass_one():
    spec = {
        "metrics_exporter_settings": {"type": "dict"},
        "metrics_exporter_port": {"type": "int"},
        "mlopslab_wait": {"type": "bool"},
        "mlopslab_capacity_check": {"type": "str", "choices": ["fail", "warn", "skip"]},
        "prometheus_alert_r2_threshold": {"type": "float"},
    }
    good = {"metrics_exporter_settings": {}, "metrics_exporter_port": "8000", "mlopslab_wait": "false",
            "mlopslab_capacity_check": "warn", "prometheus_alert_r2_threshold": "0.7"}  # fmt: skip
    assert rules.type_problems(good, spec) == []
    bad = {"metrics_exporter_settings": "{'traffic_split':'0.7,0.7'}", "metrics_exporter_port": "ninety",
           "mlopslab_wait": "yes please", "mlopslab_capacity_check": "maybe",
           "prometheus_alert_r2_threshold": [1]}  # fmt: skip
    found = {p["variable"]: p["wrong"] for p in rules.type_problems(bad, spec)}
    assert found["metrics_exporter_settings"].startswith(
        "is a string, not a dict (a mapping of key: value) (with -e, pass JSON"
    )
    assert found["metrics_exporter_port"] == "is a string, not a whole number"
    assert found["mlopslab_wait"] == "is a string, not true or false"
    assert found["mlopslab_capacity_check"] == "is not one of the choices"
    assert found["prometheus_alert_r2_threshold"] == "is a list, not a number"


def test_a_misspelt_variable_is_named_with_the_closest_declared_one_unless_it_is_the_users_own():
    declared = {"metrics_exporter_memory_limit", "prometheus_retention_time", "mlopslab_ingress_domain"}
    names = ["metrics_exporter_memory_limt", "prometheus_retension_time", "mlopslab_my_own", "grafana_zzz", "other_var"]
    found = rules.unknown_variables(names, declared, own={"mlopslab_my_own"})
    assert [(p["variable"], p["wrong"]) for p in found] == [
        ("grafana_zzz", "is not a setting of any role"),
        ("metrics_exporter_memory_limt", "is not a setting of any role: did you mean metrics_exporter_memory_limit?"),
        ("prometheus_retension_time", "is not a setting of any role: did you mean prometheus_retention_time?"),
    ]


def test_problems_shared_by_students_are_one_line_with_their_ranges():
    assert rules.compress(["user03", "user01", "user02", "user07", "user10", "user09", "ta01"]) == (
        "ta01, user01\u2013user03, user07, user09\u2013user10"
    )
    bad = rules.problem("metrics_exporter_memory_limit", "96MB", "is not a Kubernetes quantity", "a quantity", "96Mi")
    other = rules.problem("prometheus_retention_time", "forever", "is not a Prometheus duration", "a duration", "15d")
    lines = rules.report({f"user{n:02d}": [bad] for n in range(1, 31)} | {"user31": [bad, other]})
    assert lines == [
        "metrics_exporter_memory_limit = '96MB' (user01\u2013user31): is not a Kubernetes quantity. "
        "Accepted: a quantity; e.g. 96Mi",
        "prometheus_retention_time = 'forever' (user31): is not a Prometheus duration. Accepted: a duration; e.g. 15d",
    ]


# ---------------------------------------------------------------- who a student is
@pytest.mark.parametrize(
    ("student", "prefix", "says"),
    [
        ("system", "kube-", "makes the namespace 'kube-system', which the cluster keeps"),
        ("lease", "kube-node-", "makes the namespace 'kube-node-lease', which the cluster keeps"),
        ("default", "", "makes the namespace 'default', which the cluster keeps"),
        ("monitoring", "openshift-", "makes the namespace 'openshift-monitoring', which the cluster keeps"),
        ("User_07", "", "which is not a DNS-1123 label"),
        ("user01", "x" * 60 + "-", "which is not a DNS-1123 label"),
    ],
)
def test_a_namespace_the_cluster_keeps_or_cannot_hold_is_refused(student, prefix, says):
    namespaces = {student: rules.namespace(student, prefix), "user02": "user02"}
    problems = rules.identity_problems(namespaces, {student: prefix, "user02": ""})
    assert list(problems) == [student]
    assert says in problems[student][0]["wrong"]


def test_two_students_on_one_namespace_are_both_named_in_one_line():
    prefixes = {"user01": "", "01": "user", "user02": ""}
    problems = rules.identity_problems({s: rules.namespace(s, p) for s, p in prefixes.items()}, prefixes)
    assert sorted(problems) == ["01", "user01"]
    lines = rules.report(problems)
    assert len(lines) == 1
    assert "(01, user01): makes one namespace 'user01' for user01 (prefix ''), 01 (prefix 'user')" in lines[0]


def test_a_namespace_of_the_course_own_passes():
    assert rules.identity_problems({"user01": "mlops-user01", "kubeflow": "kubeflow"}, {}) == {}


# ---------------------------------------------------------------- what Prometheus itself refuses
@pytest.mark.parametrize(
    ("setting", "value", "variable", "says"),
    [
        ("prometheus_exporter_address", "http://metrics-exporter:8000", "prometheus_exporter_address", "is a URL"),
        ("prometheus_exporter_address", "metrics-exporter", "prometheus_exporter_address", "is not host:port"),
        ("prometheus_external_labels", {"course-room": "B1"}, "prometheus_external_labels['course-room']",
         "is not a Prometheus label name"),
        ("prometheus_external_labels", {"student": "x"}, "prometheus_external_labels['student']",
         "would replace the student label"),
        ("prometheus_extra_scrape_configs", [{"job_name": "prometheus"}],
         "prometheus_extra_scrape_configs[0]['job_name']", "is used by another scrape job of the lab"),
        ("prometheus_extra_scrape_configs", [{"job_name": "n"}, {"job_name": "n"}],
         "prometheus_extra_scrape_configs[1]['job_name']", "Prometheus refuses two jobs of one name"),
        ("prometheus_extra_scrape_configs", [{"job_name": "n", "scrape_interval": "1 minute"}],
         "prometheus_extra_scrape_configs[0]['scrape_interval']", "is not a Prometheus duration"),
        ("prometheus_extra_scrape_configs", [{"job_name": "n", "static_configs": [{"targets": ["http://n:9100/m"]}]}],
         "prometheus_extra_scrape_configs[0] target", "is a URL"),
        ("prometheus_ab_baseline_version", 'v1"0', "prometheus_ab_baseline_version", "ends the PromQL string"),
        ("prometheus_retention_size", "600MB", "prometheus_retention_size", "is above prometheus_storage_size_limit"),
        ("metrics_exporter_memory_limit", "128m", "metrics_exporter_memory_limit", "not a size of memory (m is milli)"),
        ("prometheus_cpu_limit", "1Gi", "prometheus_cpu_limit", "a binary suffix sizes bytes, not CPU"),
        ("student_namespace_quota", {**DEFAULTS["student_namespace_quota"], "limits.memory": "4000m"},
         "student_namespace_quota['limits.memory']", "not a size of memory"),
        ("grafana_prometheus_url", "prometheus:9090", "grafana_prometheus_url", "is not an http(s) URL"),
    ],
)  # fmt: skip
def test_a_value_the_program_refuses_or_that_means_nonsense_is_named(setting, value, variable, says):
    found = [p for p in rules.value_problems({**DEFAULTS, setting: value}) if p["variable"] == variable]
    assert found and says in found[0]["wrong"], rules.value_problems({**DEFAULTS, setting: value})


def test_the_defaults_pass_prometheus_rules_and_a_retention_below_the_volume_passes():
    assert rules.value_problems(DEFAULTS) == []
    assert rules.value_problems({**DEFAULTS, "prometheus_retention_size": "480MB"}) == []


def test_a_no_log_value_is_never_shown_however_the_problem_is_worded():
    secret = ["s3cret-in-a-list-123"]
    problem = rules.problem("grafana_admin_password", secret, "is a list, not a string", "a string", '"text"')
    lines = rules.report({"user01": [problem]}, hidden={"grafana_admin_password"})
    assert "s3cret" not in lines[0] and rules.HIDDEN in lines[0]
    texts = rules.secret_texts([secret, "another-secret-xyz"])
    assert rules.scrub(f"argument got {secret!r} and another-secret-xyz", texts) == "argument got ******** and ********"


# ---------------------------------------------------------------- issue 30: values that mean what they say
@pytest.mark.parametrize(
    ("name", "value", "says", "example"),
    [
        ("metrics_exporter_memory_limit", "256", "(256 is bytes: the unit is missing)", "256Mi"),
        ("prometheus_memory_request", "3Mi", "(3145728 bytes)", "64Mi"),
        ("grafana_cpu_request", "0.0001", "below 1m, the smallest CPU share", "1m"),
        ("grafana_cpu_limit", "500", "more than any node has: the unit m is missing", "500m"),
    ],
)
def test_a_size_no_container_runs_with_is_refused_with_the_unit_it_probably_lacked(name, value, says, example):
    [found] = rules.sense_problems({name: value})
    assert says in found["wrong"] and found["example"] == example


@pytest.mark.parametrize(("memory", "cpu"), [("4Mi", "1m"), ("64Mi", "64"), ("1Gi", "100m"), (0, 0), ("0", "0.5")])
def test_real_sizes_and_a_quotas_zero_pass(memory, cpu):
    assert rules.sense_problems({"metrics_exporter_memory_limit": memory, "grafana_cpu_limit": cpu}) == []


@pytest.mark.parametrize(
    ("name", "value", "fires"),
    [
        ("prometheus_alert_r2_threshold", 70, "(70 reads as a percentage: 0.7?)"),
        ("prometheus_alert_r2_threshold", 1.5, "outside its metric's range"),
        ("prometheus_alert_mae_threshold", 0, "outside its metric's range"),
        ("prometheus_alert_mae_threshold", 50, "(50 reads as a percentage: 0.5?)"),
        ("prometheus_alert_version_margin", -0.1, "outside its metric's range"),
    ],
)
def test_a_threshold_outside_its_metrics_range_is_refused(name, value, fires):
    [found] = rules.threshold_problems({name: value})
    assert fires in found["wrong"]


def test_the_default_thresholds_are_within_range():
    assert rules.threshold_problems(DEFAULTS) == []


def test_an_address_of_the_labs_exporter_must_be_on_its_port():
    [found] = rules.coherence_problems({"prometheus_exporter_address": "metrics-exporter.u1.svc:8080",
                                        "metrics_exporter_port": 9123}, None)  # fmt: skip
    assert "on port 8080, but metrics_exporter_port is 9123" in found["wrong"]
    assert found["example"] == "metrics-exporter:9123"
    elsewhere = {"prometheus_exporter_address": "exporter.other:8080", "metrics_exporter_port": 9123}
    assert rules.coherence_problems(elsewhere, None) == []  # not the lab's Service: the instructor's own


def test_the_ab_versions_are_the_exporters():
    load = exporter_config.load
    versions = rules.exporter_versions({"versions": "stable, canary"}, 8000, load)
    assert versions == ["stable", "canary"]
    assert rules.exporter_versions({}, 8000, load) == ["v1.0", "v2.0"]
    assert rules.exporter_versions({"versions": "a,a"}, 8000, load) is None  # the parser's refusal, said elsewhere
    [found] = rules.coherence_problems({"prometheus_ab_baseline_version": "v1.0"}, versions)
    assert found["variable"] == "prometheus_ab_baseline_version" and "(stable, canary)" in found["wrong"]
    [found] = rules.coherence_problems({"prometheus_ab_candidate_version": "stable"}, versions)
    assert "is the baseline version too (stable)" in found["wrong"] and found["example"] == "canary"
    assert rules.coherence_problems({}, versions) == []


def test_the_prometheus_roles_default_versions_are_the_exporters_own():
    # The alert rules and the handout repeat the exporter's default for the render: held equal here.
    served = rules.exporter_versions({}, 8000, exporter_config.load)
    for where in ("roles/prometheus/vars/main.yml", "roles/access/templates/record.yml.j2"):
        assert f"default('{','.join(served)}')" in (REPO / where).read_text(), where


def test_one_run_is_one_cohort():
    assert rules.cohort_problems({"user01": "fall26", "user02": "fall26"}) == {}
    found = rules.cohort_problems({"user01": "fall26", "user02": "other", "user03": "fall26"})
    assert list(found) == ["user02"]
    assert "('fall26' for user01, user03; 'other' for user02)" in found["user02"]["wrong"]
    assert found["user02"]["example"] == "fall26"


def test_an_index_url_needs_its_scheme():
    [found] = rules.value_problems({"metrics_exporter_pip_index_url": "pypi.example.com/simple"})
    assert found["wrong"] == "is not an http(s) URL"
    assert rules.value_problems({"metrics_exporter_pip_index_url": ""}) == []


def test_a_handout_time_zone_is_one_the_machine_knows():
    assert rules.value_problems({"mlopslab_handout_timezone": "Asia/Seoul"}) == []
    assert rules.value_problems({"mlopslab_handout_timezone": ""}) == []
    [found] = rules.value_problems({"mlopslab_handout_timezone": "KST"})
    assert found["wrong"].startswith("is not a time zone this machine knows") and found["example"] == "Asia/Seoul"


@pytest.mark.parametrize("verb", ["deploy", "access", "verify", "teardown"])
def test_each_verb_role_names_every_role_whose_settings_it_takes(verb):
    # ansible-doc -t role shows a verb's own options; the others it takes are pointed to by name.
    spec = yaml.safe_load((REPO / "roles" / verb / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]
    said = " ".join(spec["description"])
    lab = ["student_namespace", "metrics_exporter", "prometheus", "grafana"]
    takes = ["_common"] + (lab if verb == "deploy" else [])
    assert [role for role in takes if f"C({role})" not in said] == []
    assert "ansible-doc -t role mlopslab.monitoring." in said
