# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every setting of every role, for every student, checked before anything is rendered, written
or applied; every problem named at once. Pure functions; the validate_settings action feeds them.

One rule per kind of value, written once, so the message a person reads is the same wherever
the value appears: a Kubernetes quantity (the API's own grammar), a Prometheus duration and
size, a port, an image reference, a DNS name. The exporter's options are judged by the
exporter's own parser (injected), so the rule the pod would apply is the rule deploy applies.
A variable with this collection's prefixes that no role declares is a typo until said
otherwise. And the lab must fit its own namespace: quota and LimitRange against the pods it
runs, counted as the API counts them.
"""

from __future__ import annotations

import difflib
import os
import re
import zoneinfo
from decimal import Decimal

from ansible.module_utils.parsing.convert_bool import BOOLEANS
from ansible_collections.mlopslab.monitoring.plugins.module_utils.access.tokens import lifetime_problems
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.quantities import (
    parse_quantity,
)

# An en dash between the first and last of a run of students, as typeset ranges are written.
RANGE_DASH = "\u2013"
PREFIXES = ("mlopslab_", "metrics_exporter_", "prometheus_", "grafana_", "student_namespace_")

# ---------------------------------------------------------------- one rule per kind of value
# resource.Quantity's grammar (k8s.io/apimachinery/pkg/api/resource): a signed decimal number,
# then a binary suffix (Ki..Ei), a decimal SI suffix (n u m k M G T P E) or a decimal exponent.
_QUANTITY = re.compile(
    r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$"
)
# Prometheus' model.Duration (as --storage.tsdb.retention.time and scrape_interval parse it).
_DURATION = re.compile(r"^(?:(?:[0-9]+y)?(?:[0-9]+w)?(?:[0-9]+d)?(?:[0-9]+h)?(?:[0-9]+m)?(?:[0-9]+s)?(?:[0-9]+ms)?)$")
# Prometheus' units.Base2Bytes, as --storage.tsdb.retention.size parses it.
_SIZE = re.compile(r"^[0-9]+(?:B|KB|MB|GB|TB|PB|EB)$")
# The distribution reference grammar (github.com/distribution/reference), as the kubelet parses.
_IMAGE = re.compile(
    r"^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"|\[[0-9a-fA-F:]+\])(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)
_DNS_LABEL = re.compile(r"^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$")


def quantity(value) -> str | None:
    """None when `value` is a Kubernetes quantity, else what is wrong."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return f"is {_kind(value)}, not a quantity"
    if isinstance(value, (int, float)):
        return None if value >= 0 else "is negative"
    if not _QUANTITY.match(value.strip()) or value != value.strip():
        return "is not a Kubernetes quantity"
    return "is negative" if value.startswith("-") else None


def duration(value) -> str | None:
    if not isinstance(value, str) or not value or not _DURATION.match(value) or value == "0":
        return "is not a Prometheus duration" if isinstance(value, str) else f"is {_kind(value)}, not a duration"
    return None


def size(value) -> str | None:
    if not isinstance(value, str) or not _SIZE.match(value):
        return "is not a Prometheus size"
    return None


def port(value) -> str | None:
    if isinstance(value, bool):
        return "is not a port number"
    try:
        number = int(value)
    except (TypeError, ValueError):
        return "is not a port number"
    return None if 1 <= number <= 65535 and str(number) == str(value).strip() else "is not a TCP port (1-65535)"


def image(value) -> str | None:
    if not isinstance(value, str) or not _IMAGE.match(value):
        return "is not an image reference"
    return None


def dns_subdomain(value) -> str | None:
    if not isinstance(value, str) or len(value) > 253 or not all(_DNS_LABEL.match(p) for p in value.split(".")):
        return "is not a DNS name"
    return None


def host_port(value) -> str | None:
    """A scrape target as Prometheus's static_configs take it: host:port, no scheme, no path
    ("http://x:8000" makes Prometheus refuse its whole configuration: not a valid hostname)."""
    if not isinstance(value, str):
        return "is not host:port"
    if "://" in value or "/" in value:
        return "is a URL, not host:port (Prometheus refuses it: not a valid hostname)"
    match = re.fullmatch(r"(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):([0-9]{1,5})", value)
    if not match or not 1 <= int(match.group(1)) <= 65535:
        return "is not host:port"
    return None


def http_url(value) -> str | None:
    if not isinstance(value, str) or not re.fullmatch(r"https?://[^\s/:]+(:[0-9]{1,5})?(/\S*)?", value):
        return "is not an http(s) URL"
    return None


def promql_string(value) -> str | None:
    """A label value written into the alert rules' PromQL between double quotes."""
    if not isinstance(value, str) or not value:
        return "is not a label value"
    if any(c in value for c in '"\\\n'):
        return "has a quote, backslash or line break, which ends the PromQL string it is written into"
    return None


def time_zone(value) -> str | None:
    if not isinstance(value, str) or not value:
        return "is not a time zone name"
    try:
        zoneinfo.ZoneInfo(value)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return "is not a time zone this machine knows (an IANA name such as Asia/Seoul)"
    return None


def number(value) -> str | None:
    if isinstance(value, bool):
        return "is not a number"
    try:
        float(value)
    except (TypeError, ValueError):
        return "is not a number"
    return None


RULES = {
    "quantity": (
        quantity,
        "a Kubernetes quantity: a number with an optional suffix m (milli), Ki/Mi/Gi or k/M/G",
        "256Mi",
    ),
    "cpu": (quantity, "a Kubernetes quantity of CPU: cores or millicores", "200m"),
    "memory": (
        quantity,
        "a Kubernetes quantity of memory: bytes with a suffix Ki, Mi, Gi (binary) or k, M, G",
        "256Mi",
    ),
    "duration": (duration, "a Prometheus duration: a number with a unit ms, s, m, h, d, w or y", "15d"),
    "size": (size, "a Prometheus size: a whole number with a unit B, KB, MB, GB, TB, PB or EB", "400MB"),
    "port": (port, "a TCP port from 1 to 65535", "8000"),
    "image": (image, "an image reference: [registry/]repository[:tag][@digest]", "docker.io/library/python:3.12-slim"),
    "domain": (
        dns_subdomain,
        "a DNS domain of lowercase labels (letters, digits, '-') joined by '.'",
        "lab.example.com",
    ),
    "number": (number, "a number", "0.5"),
    "hostport": (host_port, "host:port, as Prometheus's static_configs take a target", "metrics-exporter:8000"),
    "url": (http_url, "an http(s) URL as the Grafana pod reaches it", "http://prometheus:9090"),
    "promql_string": (promql_string, "a label value without quotes, backslashes or line breaks", "v1.0"),
    # pip ignores an index URL without a scheme (a warning the init container's log alone shows)
    # and then finds nothing: every student's exporter would stay in Init.
    "timezone": (time_zone, "an IANA time zone name", "Asia/Seoul"),
    "index_url": (
        http_url,
        "an http(s) URL of a package index, as pip --index-url takes it",
        "https://pypi.example.com/simple",
    ),
}

# Which rule each role setting follows; an empty string is allowed where it means "off".
SETTINGS = {
    "metrics_exporter_image": ("image", True),
    "metrics_exporter_python_image": ("image", False),
    "metrics_exporter_port": ("port", False),
    "metrics_exporter_pip_index_url": ("index_url", True),
    "metrics_exporter_cpu_request": ("cpu", False),
    "metrics_exporter_cpu_limit": ("cpu", False),
    "metrics_exporter_memory_request": ("memory", False),
    "metrics_exporter_memory_limit": ("memory", False),
    "metrics_exporter_init_cpu_limit": ("cpu", False),
    "metrics_exporter_init_memory_limit": ("memory", False),
    "prometheus_image": ("image", False),
    "prometheus_scrape_interval": ("duration", False),
    "prometheus_evaluation_interval": ("duration", False),
    "prometheus_retention_time": ("duration", False),
    "prometheus_retention_size": ("size", False),
    "prometheus_storage_size_limit": ("memory", False),
    "prometheus_cpu_request": ("cpu", False),
    "prometheus_cpu_limit": ("cpu", False),
    "prometheus_memory_request": ("memory", False),
    "prometheus_memory_limit": ("memory", False),
    "prometheus_alert_mae_threshold": ("number", False),
    "prometheus_alert_r2_threshold": ("number", False),
    "prometheus_alert_version_margin": ("number", False),
    "prometheus_exporter_address": ("hostport", False),
    "prometheus_ab_baseline_version": ("promql_string", True),
    "prometheus_ab_candidate_version": ("promql_string", True),
    "grafana_prometheus_url": ("url", False),
    "grafana_image": ("image", False),
    "grafana_cpu_request": ("cpu", False),
    "grafana_cpu_limit": ("cpu", False),
    "grafana_memory_request": ("memory", False),
    "grafana_memory_limit": ("memory", False),
    "mlopslab_ingress_domain": ("domain", True),
    "mlopslab_handout_timezone": ("timezone", True),
}
# Dicts whose every value is a quantity (the namespace's quota and LimitRange).
QUANTITY_DICTS = (
    "student_namespace_quota",
    "student_namespace_container_default_request",
    "student_namespace_container_default_limit",
    "student_namespace_container_max",
)
# Request/limit pairs of one container: the API refuses a request above its limit.
PAIRS = (
    ("metrics_exporter_cpu_request", "metrics_exporter_cpu_limit"),
    ("metrics_exporter_memory_request", "metrics_exporter_memory_limit"),
    ("prometheus_cpu_request", "prometheus_cpu_limit"),
    ("prometheus_memory_request", "prometheus_memory_limit"),
    ("grafana_cpu_request", "grafana_cpu_limit"),
    ("grafana_memory_request", "grafana_memory_limit"),
)


def problem(variable: str, value, wrong: str, accepted: str, example: str) -> dict:
    return {"variable": variable, "value": value, "wrong": wrong, "accepted": accepted, "example": example}


# ---------------------------------------------------------------- types (argument_specs)
_NAMES = {"str": "a string", "int": "a whole number", "float": "a number", "bool": "true or false",
          "dict": "a dict (a mapping of key: value)", "list": "a list"}  # fmt: skip
_EXAMPLES = {"dict": "{key: value}", "list": "[a, b]", "bool": "true", "int": "8000", "float": "0.5", "str": '"text"'}


def _kind(value) -> str:
    """What a value is, in words. isinstance, not type(): Ansible hands over its own tagged
    subclasses of str and dict (_AnsibleTaggedStr, ...)."""
    for kinds, words in ((bool, "a boolean"), (str, "a string"), (int, "a whole number"), (float, "a number"),
                         (dict, "a dict"), (list, "a list"), (type(None), "null")):  # fmt: skip
        if isinstance(value, kinds):
            return words
    return type(value).__name__


def _type_ok(value, wanted: str) -> bool:
    """Whether Ansible's argument spec would accept `value` (it converts "8000" to an int, and a
    number to a string, but never a string to a dict it cannot parse)."""
    plain_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if wanted == "bool":  # -e mlopslab_apply=false gives the string "false", which Ansible takes
        return isinstance(value, bool) or (isinstance(value, (str, int)) and value in BOOLEANS)
    if wanted == "int":
        return (plain_number and float(value).is_integer()) or (
            isinstance(value, str) and re.fullmatch(r"\s*[+-]?[0-9]+\s*", value) is not None
        )
    if wanted == "float":
        return plain_number or (isinstance(value, str) and number(value) is None)
    if wanted == "str":
        return isinstance(value, str) or plain_number
    if wanted in ("dict", "list"):
        return isinstance(value, dict if wanted == "dict" else list)
    return True  # raw, path, ...: anything goes


def type_problems(values: dict, spec: dict) -> list[dict]:
    """Types and choices as the roles' argument_specs declare them, in words a person
    understands (Ansible's own message names Python classes, and a string where a dict is
    expected, a common slip with -e key=value, ends in a filter's traceback)."""
    problems = []
    for name, option in spec.items():
        if name not in values:
            continue
        value, wanted = values[name], option.get("type", "str")
        if not _type_ok(value, wanted):
            wrong = f"is {_kind(value)}, not {_NAMES.get(wanted, wanted)}"
            if wanted == "dict" and isinstance(value, str):
                wrong += " (with -e, pass JSON: -e '{\"" + name + '": {"option": "value"}}\')'
            problems.append(problem(name, value, wrong, _NAMES.get(wanted, wanted), _EXAMPLES.get(wanted, "")))
        elif option.get("choices") and value not in option["choices"]:
            choices = [str(c) for c in option["choices"]]
            problems.append(problem(name, value, "is not one of the choices", ", ".join(choices), choices[0]))
    return problems


# ---------------------------------------------------------------- values
def value_problems(values: dict) -> list[dict]:
    problems = []
    for name, (rule, empty_ok) in SETTINGS.items():
        if name not in values or (empty_ok and values[name] in ("", None)):
            continue
        check, accepted, example = RULES[rule]
        wrong = check(values[name])
        if wrong:
            problems.append(problem(name, values[name], wrong, accepted, example))
    for name in QUANTITY_DICTS:
        table = values.get(name)
        if not isinstance(table, dict):
            continue
        for key, value in table.items():
            wrong = quantity(value)
            if wrong:
                check, accepted, example = RULES["quantity"]
                problems.append(problem(f"{name}['{key}']", value, wrong, accepted, example))
    senseless = sense_problems(values)
    problems += senseless + prometheus_problems(values) + threshold_problems(values)
    named = {p["variable"] for p in senseless}
    for request, limit in PAIRS:
        comparable = (
            request in values and limit in values and not quantity(values[request]) and not quantity(values[limit])
        ) and not named & {request, limit}  # a nonsense size is named once, not compared
        if comparable and parse_quantity(values[request]) > parse_quantity(values[limit]):
            problems.append(
                problem(
                    request,
                    values[request],
                    f"is above {limit} ({values[limit]}): the API refuses a request larger than its limit",
                    f"at most {limit}",
                    str(values[limit]),
                )
            )
    return problems


# Below these no container runs: memory for the runtime's own shim and the program's first pages
# (Docker refuses below 6 MB; a Python program needs tens of MiB), CPU the API's smallest unit.
MIN_MEMORY = 4 * 2**20
MIN_CPU = Decimal("0.001")
# More cores than any course node has: a bare number meant as millicores.
MAX_BARE_CPU = 64


def _sense_problems(name: str, value, kind: str) -> list[dict]:
    """Quantities that parse but mean nonsense for what they size: memory in millibytes (128m is
    0.128 bytes; the API takes it, the runtime cannot start the container), memory too small for
    any container (256 is bytes: the unit was left out), CPU in bytes, below 1m, or a bare number
    of thousands of cores. A quota's or limit's 0 is a choice, not a slip: left alone."""
    text = str(value).strip()
    amount = parse_quantity(value)
    bare = re.fullmatch(r"[0-9]+(\.[0-9]+)?", text) is not None
    if kind == "memory":
        if re.search(r"[0-9.](m|u|n)$", text) or amount % 1 != 0:
            return [problem(name, value, f"is {amount} bytes, not a size of memory (m is milli)",
                            RULES["memory"][1], re.sub(r"[mun]$", "Mi", text))]  # fmt: skip
        if 0 < amount < MIN_MEMORY:
            unit = f"{text} is bytes: the unit is missing" if bare else f"{amount} bytes"
            accepted = "at least 4Mi: memory with a suffix Ki, Mi, Gi"
            return [problem(name, value, f"is too little memory for any container to start ({unit})", accepted,
                            f"{text}Mi" if bare else "64Mi")]  # fmt: skip
    elif re.search(r"(Ki|Mi|Gi|Ti|Pi|Ei)$", text):
        return [problem(name, value, f"is {amount} cores: a binary suffix sizes bytes, not CPU",
                        RULES["cpu"][1], re.sub(r"(Ki|Mi|Gi|Ti|Pi|Ei)$", "m", text))]  # fmt: skip
    elif 0 < amount < MIN_CPU:
        return [problem(name, value, f"is {amount} cores, below 1m, the smallest CPU share", RULES["cpu"][1], "1m")]
    elif bare and amount > MAX_BARE_CPU:
        return [problem(name, value, f"is {amount} cores, more than any node has: the unit m is missing",
                        RULES["cpu"][1], f"{text}m")]  # fmt: skip
    return []


def sense_problems(values: dict) -> list[dict]:
    """_sense_problems for every CPU and memory setting, and the quota's and LimitRange's."""
    problems = []
    for name, (rule, _required) in SETTINGS.items():
        if rule in ("cpu", "memory") and name in values and not quantity(values[name]):
            problems += _sense_problems(name, values[name], rule)
    for name in QUANTITY_DICTS:
        table = values.get(name)
        for key, value in table.items() if isinstance(table, dict) else ():
            kind = "memory" if "memory" in str(key) else "cpu" if "cpu" in str(key) else None
            if kind and not quantity(value):
                problems += _sense_problems(f"{name}['{key}']", value, kind)
    return problems


# Prometheus's units.Base2Bytes, as --storage.tsdb.retention.size reads it (KB is 1024 bytes).
_BASE2 = {"B": 1, "KB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40, "PB": 2**50, "EB": 2**60}
# Prometheus's model.LabelName.
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# The scrape jobs and external labels the lab writes itself (roles/prometheus/vars/main.yml).
LAB_JOBS = ("metrics-exporter", "prometheus")
LAB_LABELS = ("cohort", "student")


def _job_problems(index: int, job, seen: set) -> list[dict]:
    """One of prometheus_extra_scrape_configs, by the rules Prometheus loads scrape configs with."""
    where = f"prometheus_extra_scrape_configs[{index}]"
    if not isinstance(job, dict):
        return [problem(where, job, "is not a scrape config (a dict)", "a Prometheus scrape_configs entry",
                        "{job_name: node, static_configs: [{targets: ['node:9100']}]}")]  # fmt: skip
    name = job.get("job_name")
    problems = []
    if not isinstance(name, str) or not name:
        problems.append(problem(f"{where}['job_name']", name, "is missing: Prometheus refuses a job without a name",
                                "a job name used once", "node"))  # fmt: skip
    elif name in seen:
        whose = " of the lab" if name in LAB_JOBS else ""
        problems.append(problem(f"{where}['job_name']", name,
                                f"is used by another scrape job{whose}: Prometheus refuses two jobs of one name",
                                "a job name used once", f"{name}-2"))  # fmt: skip
    seen.add(name)
    for key in ("scrape_interval", "scrape_timeout"):
        if key in job and duration(job[key]):
            problems.append(problem(f"{where}['{key}']", job[key], duration(job[key]), RULES["duration"][1], "30s"))
    for group in job.get("static_configs") or []:
        for target in (group.get("targets") or []) if isinstance(group, dict) else []:
            wrong = host_port(target)
            if wrong:
                problems.append(problem(f"{where} target", target, wrong, RULES["hostport"][1], "node:9100"))
    return problems


def prometheus_problems(values: dict) -> list[dict]:
    """The Prometheus role's options by the rules Prometheus applies to what they become."""
    problems = []
    labels = values.get("prometheus_external_labels")
    for key in labels if isinstance(labels, dict) else ():
        if not _LABEL_NAME.match(str(key)):
            problems.append(problem(f"prometheus_external_labels['{key}']", labels[key],
                                    "is not a Prometheus label name (Prometheus refuses its whole configuration)",
                                    "letters, digits and '_', not starting with a digit", "course_room"))  # fmt: skip
        elif key in LAB_LABELS:
            problems.append(problem(f"prometheus_external_labels['{key}']", labels[key],
                                    f"would replace the {key} label the lab sets on every series and alert",
                                    "a label of your own", "course_room"))  # fmt: skip
    jobs = values.get("prometheus_extra_scrape_configs")
    seen = set(LAB_JOBS)
    for index, job in enumerate(jobs if isinstance(jobs, list) else []):
        problems += _job_problems(index, job, seen)
    retention, volume = values.get("prometheus_retention_size"), values.get("prometheus_storage_size_limit")
    if isinstance(retention, str) and not size(retention) and volume is not None and not quantity(volume):
        amount, unit = re.fullmatch(r"([0-9]+)([A-Z]+)", retention).groups()
        if int(amount) * _BASE2[unit] > parse_quantity(volume):
            problems.append(problem("prometheus_retention_size", retention,
                                    f"is above prometheus_storage_size_limit ({volume}), the emptyDir that holds it: "
                                    "the kubelet evicts the pod before retention deletes anything",
                                    "less than prometheus_storage_size_limit (Prometheus's MB is 1024 KB)",
                                    f"{int(parse_quantity(volume) * 8 // 10 // 2**20)}MB"))  # fmt: skip
    return problems


def access_problems(values: dict) -> list[dict]:
    """The token's lifetime and renewal margin, and the API server URL handed out."""
    examples = {"mlopslab_student_token_ttl": "16w", "mlopslab_student_token_renew_before": "7d"}
    found = lifetime_problems(*(values.get(name, example) for name, example in examples.items()))
    accepted = "a lifetime: whole seconds, or a number with a unit s, m, h, d or w"
    problems = [problem(name, value, wrong, accepted, examples[name]) for name, value, wrong in found]
    server = values.get("mlopslab_student_api_server")
    if server and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", str(server)):
        problems.append(
            problem(
                "mlopslab_student_api_server",
                server,
                "is not a URL",
                "the API server's URL as students reach it",
                "https://k8s.example.com:6443",
            )
        )
    return problems


def host_problems(student: str, values: dict) -> list[dict]:
    """The Grafana host built from the domain must itself be a DNS name (an Ingress host)."""
    domain = values.get("mlopslab_ingress_domain")
    if not domain or dns_subdomain(domain):
        return []
    host = f"{student}.{domain}"
    if dns_subdomain(host):
        return [
            problem(
                "mlopslab_ingress_domain",
                domain,
                f"makes the Grafana host {host}, which is not a DNS name (253 characters at most, labels of 63)",
                RULES["domain"][1],
                RULES["domain"][2],
            )
        ]
    return []


# ---------------------------------------------------------------- settings that must agree
EXPORTER_SERVICE = "metrics-exporter"  # roles/metrics_exporter's Service, which Prometheus scrapes
# Each alert threshold within what its metric can be (roles/prometheus/vars/main.yml's rules): the
# model predicts California house prices in $100k, from 0.15 to 5; R² is at most 1.
THRESHOLDS = {
    "prometheus_alert_mae_threshold": (0, 5, "MAE in $100k, above 0 and at most 5 (the prices run to 5)", "0.5"),
    "prometheus_alert_r2_threshold": (0, 1, "R², from 0 to 1", "0.7"),
    "prometheus_alert_version_margin": (0, 5, "a difference of MAE in $100k, from 0 to 5", "0.05"),
}


def threshold_problems(values: dict) -> list[dict]:
    """A threshold outside its metric's range makes its alert always or never fire: 70 for R² (a
    percentage) never lets ModelR2Low rest."""
    problems = []
    for name, (low, high, accepted, example) in THRESHOLDS.items():
        if name not in values or number(values[name]):
            continue
        value = float(values[name])
        inclusive_low = name != "prometheus_alert_mae_threshold"
        if (low <= value if inclusive_low else low < value) and value <= high:
            continue
        wrong = "is outside its metric's range: its alert would always or never fire"
        if 1 < value <= 100 and high <= 5:
            wrong += f" ({value:g} reads as a percentage: {value / 100:g}?)"
        problems.append(problem(name, values[name], wrong, accepted, example))
    return problems


def coherence_problems(values: dict, versions: list[str] | None) -> list[dict]:
    """Settings that name one thing in two places, which must agree: the exporter's port and the
    address Prometheus scrapes, the exporter's model versions and the versions the A/B alert
    compares. ``versions``: the exporter's own, from its parser (None when it could not say)."""
    problems = []
    address, port = values.get("prometheus_exporter_address"), values.get("metrics_exporter_port")
    if isinstance(address, str) and ":" in address and "{{" not in address and not host_port(address):
        host, _sep, scraped = address.rpartition(":")
        if host.split(".")[0] == EXPORTER_SERVICE and str(scraped) != str(port):
            problems.append(
                problem(
                    "prometheus_exporter_address",
                    address,
                    f"scrapes the lab's exporter on port {scraped}, but metrics_exporter_port is {port}: every "
                    "student's Prometheus would find nothing there",
                    "unset (it follows metrics_exporter_port), or the exporter's port",
                    f"{EXPORTER_SERVICE}:{port}",
                )
            )
    if versions:
        for name in ("prometheus_ab_baseline_version", "prometheus_ab_candidate_version"):
            given = values.get(name)
            if given and given not in versions:
                problems.append(
                    problem(
                        name,
                        given,
                        f"is not one of the exporter's versions ({', '.join(versions)}): ModelVersionWorse would "
                        "compare a series that never exists",
                        "unset (the exporter's first and last versions), or one of its versions "
                        "(metrics_exporter_settings: {versions: ...})",
                        versions[0],
                    )
                )
        baseline = values.get("prometheus_ab_baseline_version") or versions[0]
        candidate = values.get("prometheus_ab_candidate_version") or versions[-1]
        if baseline == candidate:
            problems.append(
                problem(
                    "prometheus_ab_candidate_version",
                    candidate,
                    f"is the baseline version too ({baseline}): the A/B alert would compare a version with itself",
                    "two different versions of the exporter's",
                    versions[-1] if versions[-1] != baseline else versions[0],
                )
            )
    return problems


def cohort_problems(cohorts: dict[str, str]) -> dict[str, dict]:
    """One run is one cohort: a cohort given to some students only (a host or group var) would
    label their objects and file their passwords as another course's, while the run's summary,
    sheet and handouts name the first. The students whose cohort is not the run's (the first
    student's, whose value the run's tasks use) are each given the problem, naming them all."""
    if len(set(cohorts.values())) < 2:
        return {}
    run = next(iter(cohorts.values()))
    by_cohort: dict[str, list[str]] = {}
    for student, name in cohorts.items():
        by_cohort.setdefault(name, []).append(student)
    said = "; ".join(f"{name!r} for {compress(students)}" for name, students in by_cohort.items())
    return {
        student: problem(
            "mlopslab_cohort",
            name,
            f"differs between this run's students ({said}): one run is one cohort, whose labels, password folder, "
            f"sheet and handouts every student shares",
            "one cohort for every student of the run: set it in group_vars/all or with -e, or give each cohort "
            "an inventory of its own",
            run,
        )
        for student, name in cohorts.items()
        if name != run
    }


def exporter_versions(settings, exporter_port, load) -> list[str] | None:
    """The model versions the exporter will serve, as its own parser reads its settings (None
    when they do not parse: exporter_problems says why)."""
    known = settings if isinstance(settings, dict) else {}
    environ = {f"EXPORTER_{str(k).upper()}": str(v) for k, v in known.items()}
    environ["EXPORTER_PORT"] = str(exporter_port)
    try:
        return [profile.name for profile in load([], environ).profiles]
    except Exception:  # the exporter's ConfigError, said by exporter_problems
        return None


# ---------------------------------------------------------------- the exporter's own options
def exporter_problems(settings, exporter_port, load, options: list[str]) -> list[dict]:
    """metrics_exporter_settings judged by the exporter's parser (`load(argv, environ)` of
    ab_exporter.config, raising its ConfigError with one line), as the pod would judge them."""
    if not isinstance(settings, dict):
        return []  # a type problem, said by type_problems
    problems = []
    unknown = [k for k in settings if str(k) not in options]
    for key in unknown:
        close = difflib.get_close_matches(str(key), options, n=1, cutoff=0.6)
        problems.append(
            problem(
                f"metrics_exporter_settings['{key}']",
                settings[key],
                "is not an exporter option" + (f": did you mean '{close[0]}'?" if close else ""),
                "one of " + ", ".join(options),
                close[0] if close else options[0],
            )
        )
    known = {k: v for k, v in settings.items() if k not in unknown}
    environ = {f"EXPORTER_{str(k).upper()}": str(v) for k, v in known.items()}
    environ["EXPORTER_PORT"] = str(exporter_port)
    try:
        load([], environ)
    except Exception as err:  # the exporter's ConfigError: exactly the line the pod would print
        problems.append(
            problem(
                "metrics_exporter_settings",
                known,
                f"is refused by the exporter: {err}",
                "the options of python -m ab_exporter --help",
                "{traffic_split: '0.7,0.3'}",
            )
        )
    return problems


# ---------------------------------------------------------------- typos in variable names
def unknown_variables(names, declared: set[str], own: set[str]) -> list[dict]:
    """Variables with this collection's prefixes that no role declares: Ansible ignores them."""
    problems = []
    for name in sorted(names):
        if not name.startswith(PREFIXES) or name in declared or name in own:
            continue
        close = difflib.get_close_matches(name, sorted(declared), n=1, cutoff=0.75)
        problems.append(
            problem(
                name,
                None,
                "is not a setting of any role" + (f": did you mean {close[0]}?" if close else ""),
                "a variable declared in a role's meta/argument_specs.yml "
                "(ansible-doc -t role mlopslab.monitoring.<role>)",
                close[0] if close else "mlopslab_own_variables: [" + name + "]",
            )
        )
    return problems


# ---------------------------------------------------------------- where the run writes
def output_problems(outputs: dict[str, str], exists, is_dir, writable) -> list[dict]:
    """Folders the run will write to (credentials, handouts, manifests), checked before anything is
    written: each is a folder we may write, or can be made under the nearest one that exists.
    ``exists``, ``is_dir`` and ``writable`` are os.path.exists, os.path.isdir and a W_OK|X_OK access
    test, injected so the rule is tested without a file system."""
    problems = []
    for name, path in outputs.items():
        ancestor = os.path.abspath(path)
        while not exists(ancestor) and os.path.dirname(ancestor) != ancestor:
            ancestor = os.path.dirname(ancestor)
        if not is_dir(ancestor):
            here = ancestor == os.path.abspath(path)
            wrong = "is a file, not a folder" if here else f"is under {ancestor}, which is a file"
        elif not writable(ancestor):
            wrong = f"cannot be written: {ancestor} does not let this user create files"
        else:
            continue
        problems.append(problem(name, path, wrong, "a folder this user can write (it is made 0700 when missing)",
                                "build (beside the inventory)"))  # fmt: skip
    return problems


# ---------------------------------------------------------------- who a student is, once
# Namespaces Kubernetes keeps for itself (default, kube-system, kube-public, kube-node-lease and
# every kube-* a component may create) and OpenShift's (openshift, openshift-*): a lab there
# would run beside, and be removed with, the cluster's own components.
RESERVED_NAMESPACES = ("default", "openshift")
RESERVED_PREFIXES = ("kube-", "openshift-")
_NAMESPACE = re.compile(r"^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def namespace(student: str, prefix) -> str:
    """The one place a student's namespace is made: their own mlopslab_namespace_prefix (a host
    or group var may differ per student) and their inventory name. Every step uses this value."""
    return f"{prefix or ''}{student}"


def reserved(name: str) -> bool:
    return name in RESERVED_NAMESPACES or name.startswith(RESERVED_PREFIXES)


def identity_problems(namespaces: dict[str, str], prefixes: dict[str, str]) -> dict[str, list[dict]]:
    """Per student: a namespace that is no DNS-1123 label, one the cluster keeps for itself, or
    one another student of the inventory gets too (user01 and 01 with the prefix "user")."""
    problems: dict[str, list[dict]] = {}

    def add(student, wrong, accepted, example):
        value = prefixes.get(student) or ""
        problems.setdefault(student, []).append(problem("mlopslab_namespace_prefix", value, wrong, accepted, example))

    owners: dict[str, list[str]] = {}
    for student, name in namespaces.items():
        owners.setdefault(name, []).append(student)
        if not _NAMESPACE.match(name):
            add(
                student,
                f"with the student's name {student!r} makes the namespace {name!r}, which is not a DNS-1123 label",
                "at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit "
                "(rename the host in the inventory, or shorten the prefix)",
                "user07",
            )
        elif reserved(name):
            add(
                student,
                f"with the student's name {student!r} makes the namespace {name!r}, which the cluster keeps for its "
                "own components (default, kube-*, openshift-*)",
                "a prefix and a student name that make a namespace of the course's own",
                "mlops-2026-",
            )
    for name, students in owners.items():
        if len(students) > 1:
            who = ", ".join(f"{s} (prefix {prefixes.get(s) or ''!r})" for s in students)
            for student in students:
                problems.setdefault(student, []).append(
                    problem(
                        "mlopslab_namespace_prefix",
                        None,  # the students' prefixes differ: named in the sentence, one line for all
                        f"makes one namespace {name!r} for {who}: two students would share one lab, and one's "
                        "deploy or teardown would change the other's",
                        "one namespace per student (rename a host, or give the students the same prefix)",
                        "user01",
                    )
                )
    return problems


def membership_problems(conflicts: dict[str, list[tuple[str, tuple]]]) -> dict[str, list[dict]]:
    """A student in two inventory groups that name different clusters (neither group a child of
    the other): Ansible keeps one group's value without a word, so the student would be
    deployed on one cluster and looked for on the other.

    ``conflicts``: per student, each group's name and its (kubeconfig, context)."""
    problems = {}
    for student, groups in conflicts.items():
        named = "; ".join(
            f"{group} (kubeconfig {kubeconfig or 'default'}, context {context or 'current'})"
            for group, (kubeconfig, context) in groups
        )
        problems[student] = [
            problem(
                "mlopslab_kubeconfig",
                None,
                f"differs between the groups {student} is in: {named}. Ansible would silently keep one",
                "each student in one cluster's group (or the cluster set as the student's host var)",
                "remove the student from all but one of these groups",
            )
        ]
    return problems


# ---------------------------------------------------------------- all students, one message
def compress(students: list[str]) -> str:
    """user01, user02, user03, user07 -> "user01{dash}user03, user07" (runs of consecutive numbers)."""
    parsed = []
    for name in students:
        match = re.fullmatch(r"(.*?)([0-9]+)", name)
        parsed.append(
            (match.group(1), int(match.group(2)), len(match.group(2)), name) if match else (name, -1, 0, name)
        )
    parsed.sort()
    runs, out = [], []
    for item in parsed:
        if (
            runs
            and item[1] >= 0
            and runs[-1][-1][0] == item[0]
            and runs[-1][-1][1] + 1 == item[1]
            and runs[-1][-1][2] == item[2]
        ):
            runs[-1].append(item)
        else:
            runs.append([item])
    for run in runs:
        out.append(run[0][3] if len(run) == 1 else f"{run[0][3]}{RANGE_DASH}{run[-1][3]}")
    return ", ".join(out)


HIDDEN = "(hidden: a no_log setting)"


def secret_texts(values) -> set[str]:
    """Every text a no_log setting's value could be echoed as: itself, its items, its repr."""
    found = set()
    for value in values:
        items = value if isinstance(value, (list, tuple)) else value.values() if isinstance(value, dict) else []
        for part in (value, *items):
            if part not in (None, "", [], {}):
                found |= {str(part), repr(part)}
    return {text for text in found if len(text) >= 4}


def scrub(text: str, secrets: set[str]) -> str:
    """A message with every secret text replaced, longest first (a list's repr holds its items)."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "********")
    return text


def report(by_student: dict[str, list[dict]], hidden: set[str] = frozenset()) -> list[str]:
    """One line per problem, the students sharing it compressed into ranges. The value of a
    setting named in ``hidden`` (its argument spec says no_log) is never shown."""
    grouped: dict[tuple, list[str]] = {}
    first: dict[tuple, dict] = {}
    for student, problems in by_student.items():
        for p in problems:
            key = (p["variable"], repr(p["value"]), p["wrong"])
            grouped.setdefault(key, []).append(student)
            first.setdefault(key, p)
    lines = []
    for key, students in grouped.items():
        p = first[key]
        value = "" if p["value"] is None else f" = {p['value']!r}"
        if p["variable"].split("[", 1)[0] in hidden:
            value = "" if p["value"] is None else f" = {HIDDEN}"
        who = compress(students)
        stop = "" if p["wrong"].endswith(("?", ".")) else "."
        lines.append(
            f"{p['variable']}{value} ({who}): {p['wrong']}{stop} Accepted: {p['accepted']}; e.g. {p['example']}"
        )
    return sorted(lines)
