# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each student's rendered objects hand to a program, checked by that program's rules before
anything is applied: the API server accepts a ConfigMap whatever it holds, and a Prometheus that
cannot parse its configuration crash-loops in every namespace (the original course's failure,
one layer up).

- Prometheus: its configuration and rule files, written out as the pod mounts them and judged by
  Prometheus's own parser (`promtool check config`, which also loads the rule files); the
  output is attributed back to each student here.
- Containers: an environment variable set twice (the API keeps both; the runtime lets the last
  one win without a word).
- Grafana: its provisioning files and dashboards, by the rules Grafana applies when it loads
  them (the server itself cannot run here: AGPL, excluded).

Pure functions over the rendered objects; rendered_checks.py runs promtool.
"""

from __future__ import annotations

import json
import re

from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.libraries import yaml

PROMETHEUS_CONFIG_MAP = "prometheus-config"
PROMETHEUS_FILES = ("prometheus.yml", "alert-rules.yml")
GRAFANA_PROVISIONING = "grafana-provisioning"
GRAFANA_DASHBOARDS = "grafana-dashboards"
# Where a setting of the exporter becomes an environment variable (roles/metrics_exporter).
_EXPORTER_ENV = re.compile(r"^EXPORTER_(?P<option>[A-Z0-9_]+)$")


def _config_map(objects: list[dict], name: str) -> dict | None:
    for obj in objects:
        if obj.get("kind") == "ConfigMap" and (obj.get("metadata") or {}).get("name") == name:
            return obj.get("data") or {}
    return None


def prometheus_files(manifests: dict[str, list[dict]]) -> dict[str, dict[str, str]]:
    """Per student, the files their Prometheus reads from its ConfigMap (name -> text)."""
    files = {}
    for student, objects in manifests.items():
        data = _config_map(objects, PROMETHEUS_CONFIG_MAP)
        if data is not None:
            files[student] = {name: data[name] for name in PROMETHEUS_FILES if name in data}
    return files


def promtool_problems(output: str, student_of) -> dict[str, list[str]]:
    """promtool check config's output for many files, as one problem line per failed file.

    promtool prints a block per file ("Checking <path>", then SUCCESS or FAILED lines) and stops
    at a file's first error; ``student_of(path)`` names the student whose file it is."""
    problems: dict[str, list[str]] = {}
    path, lines = None, []

    def close():
        if path is not None and any("FAILED" in line for line in lines):
            words = " ".join(" ".join(lines).split())
            words = words.split("FAILED:", 1)[1].strip() if "FAILED:" in words else words
            problems.setdefault(student_of(path), []).append(f"{path.rsplit('/', 1)[-1]}: {words}")

    for line in output.splitlines():
        if line.startswith("Checking "):
            close()
            path, lines = line[len("Checking ") :].strip(), []
        elif line.strip():
            lines.append(line.strip())
    close()
    return problems


def _containers(obj: dict):
    spec = (((obj.get("spec") or {}).get("template") or {}).get("spec")) or {}
    for key in ("initContainers", "containers"):
        yield from spec.get(key) or []


def env_problems(manifests: dict[str, list[dict]]) -> dict[str, list[str]]:
    """An environment variable set twice in one container, named with the setting that set it."""
    problems: dict[str, list[str]] = {}
    for student, objects in manifests.items():
        for obj in objects:
            for container in _containers(obj):
                seen: set[str] = set()
                for entry in container.get("env") or []:
                    name = entry.get("name")
                    if name in seen:
                        match = _EXPORTER_ENV.match(name or "")
                        setting = f" (metrics_exporter_settings['{match['option'].lower()}'])" if match else ""
                        problems.setdefault(student, []).append(
                            f"{obj['metadata']['name']}'s container {container.get('name')} sets {name} twice"
                            f"{setting}: the second would silently win; the lab sets it itself, leave it out"
                        )
                    seen.add(name)
    return problems


def _url(value) -> bool:
    return isinstance(value, str) and re.fullmatch(r"https?://[^\s/:]+(:[0-9]{1,5})?(/\S*)?", value) is not None


def _datasource_problems(text: str) -> tuple[list[str], set[str]]:
    """Grafana's datasource provisioning rules (pkg/services/provisioning/datasources)."""
    try:
        config = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        return [f"datasources.yaml is not YAML: {err}"], set()
    problems, uids = [], set()
    if config.get("apiVersion") != 1:
        problems.append("datasources.yaml: apiVersion must be 1")
    for source in config.get("datasources") or []:
        name = source.get("name")
        if not name:
            problems.append("datasources.yaml: a datasource without a name is refused by Grafana")
        if source.get("access", "proxy") not in ("proxy", "direct"):
            problems.append(f"datasources.yaml: {name}: access {source.get('access')!r} is neither proxy nor direct")
        if source.get("type") == "prometheus" and not _url(source.get("url")):
            problems.append(
                f"datasources.yaml: {name}: url {source.get('url')!r} is not an http(s) URL Grafana can query "
                "(grafana_prometheus_url)"
            )
        uids.add(source.get("uid") or name)
    if sum(bool(s.get("isDefault")) for s in config.get("datasources") or []) > 1:
        problems.append("datasources.yaml: more than one default datasource (Grafana refuses to start)")
    return problems, uids


def _panels(dashboard: dict):
    for panel in dashboard.get("panels") or []:
        yield panel
        yield from panel.get("panels") or []  # rows hold their panels


def _dashboard_problems(name: str, text: str, uids: set[str]) -> list[str]:
    try:
        dashboard = json.loads(text)
    except ValueError as err:
        return [f"{name} is not JSON: {err}"]
    problems = []
    if not dashboard.get("title"):
        problems.append(f"{name}: a dashboard without a title is not loaded by Grafana")
    for panel in _panels(dashboard):
        sources = [panel.get("datasource")] + [t.get("datasource") for t in panel.get("targets") or []]
        for source in sources:
            uid = source.get("uid") if isinstance(source, dict) else None
            if uid and not uid.startswith("$") and uid not in uids and uid != "-- Grafana --":
                problems.append(
                    f"{name}: panel {panel.get('title')!r} uses datasource uid {uid!r}, which is not provisioned"
                )
    return problems


def grafana_problems(manifests: dict[str, list[dict]]) -> dict[str, list[str]]:
    """Each student's Grafana provisioning and dashboards, by the rules Grafana loads them with."""
    problems: dict[str, list[str]] = {}
    for student, objects in manifests.items():
        provisioning = _config_map(objects, GRAFANA_PROVISIONING)
        if provisioning is None:
            continue
        found, uids = _datasource_problems(provisioning.get("datasources.yaml", ""))
        for name, text in (_config_map(objects, GRAFANA_DASHBOARDS) or {}).items():
            found += _dashboard_problems(name, text, uids)
        if found:
            problems[student] = found
    return problems


# ---------------------------------------------------------------- Grafana's way in from outside
INGRESS_POLICY = "ingress-reaches-grafana"  # roles/student_namespace's NetworkPolicy for the controller


def ingress_problems(manifests: dict[str, list[dict]]) -> dict[str, list[str]]:
    """Each Ingress host claimed by one student only (an ingress controller routes a host claimed
    twice to one of them, or refuses both), and an Ingress only where a NetworkPolicy lets the
    ingress controller reach Grafana (the namespace's default-deny policy would drop its requests:
    the handout's URL would time out)."""
    claims: dict[str, list[str]] = {}
    problems: dict[str, list[str]] = {}
    for student, objects in manifests.items():
        ingresses = [o for o in objects if o.get("kind") == "Ingress"]
        for ingress in ingresses:
            for rule in (ingress.get("spec") or {}).get("rules") or []:
                if rule.get("host"):
                    claims.setdefault(rule["host"], []).append(student)
        policies = {(o.get("metadata") or {}).get("name") for o in objects if o.get("kind") == "NetworkPolicy"}
        if ingresses and INGRESS_POLICY not in policies:
            problems.setdefault(student, []).append(
                "student_namespace_ingress_namespaces is empty, so nothing lets the ingress controller through the "
                "namespace's default-deny policy: Grafana's Ingress would route to a pod that drops its requests (the "
                "handout's URL times out). Set it to the ingress controller's namespace, e.g. "
                "student_namespace_ingress_namespaces: [ingress-nginx]"
            )
    for host, students in claims.items():
        if len(students) < 2:
            continue
        for student in students:
            problems.setdefault(student, []).append(
                f"the Ingress host {host!r} is claimed by {len(students)} students' Grafanas (grafana_ingress_host), "
                "and one host routes to one Grafana: leave grafana_ingress_host unset (each student's Grafana is then "
                "<student>.<mlopslab_ingress_domain>) or give each student a host of their own"
            )
    return problems
