# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which students the server's dry run must see, and what its refusals are about. Pure.

Before anything is written, the API server dry-runs (dryRun=All: admission, validation, defaults,
nothing stored) what deploy will apply. Students whose objects differ only in their names and
secrets are one shape: the server cannot refuse one of them and accept another, so one student
per shape is enough (a cohort with one setting per group of students has a shape per group)."""

from __future__ import annotations

import json
import re

CHECKSUM = re.compile(r'("checksum/[^"]*": )"[0-9a-f]{64}"')
# The settings behind each object the lab renders, so a refusal names what to change.
SETTINGS = {
    ("ResourceQuota", "lab-quota"): ["student_namespace_quota"],
    ("LimitRange", "lab-limits"): [
        "student_namespace_container_default_request",
        "student_namespace_container_default_limit",
        "student_namespace_container_max",
    ],
    ("NetworkPolicy", None): [
        "student_namespace_proxy_cidrs",
        "student_namespace_instructor_namespaces",
        "student_namespace_ingress_namespaces",
    ],
    ("Role", None): ["student_namespace_student_role"],
    ("RoleBinding", None): ["student_namespace_student_role"],
    ("Deployment", "metrics-exporter"): ["metrics_exporter_*"],
    ("Deployment", "prometheus"): ["prometheus_*"],
    ("Deployment", "grafana"): ["grafana_*"],
    ("Ingress", None): ["mlopslab_ingress_domain", "grafana_ingress_*"],
    ("Namespace", None): ["mlopslab_namespace_prefix", "mlopslab_cohort"],
}


def settings_of(kind: str, name: str) -> list[str]:
    """The settings that make an object: by kind and name, else by kind alone."""
    return SETTINGS.get((kind, name)) or SETTINGS.get((kind, None)) or []


def shape(objects: list[dict], student: str, namespace: str) -> str:
    """A student's objects with what differs between students by design taken out: their name,
    their namespace, a Secret's values, the digests of their files."""
    plain = []
    for obj in objects:
        if obj.get("kind") != "Secret":
            plain.append(obj)
            continue
        hidden = {**obj, "data": dict.fromkeys(obj.get("data") or {}, "<secret>")}
        hidden.pop("stringData", None)
        plain.append(hidden)
    text = json.dumps(plain, sort_keys=True)
    # A pod template's checksum/* annotation is a digest of files that name the student: it
    # differs between students by design, and the server reads no meaning into it.
    text = CHECKSUM.sub(r'\1"<digest>"', text)
    # The namespace first: it may contain the student's name (a prefix), never the other way round.
    return text.replace(namespace, "<namespace>").replace(student, "<student>")


def representatives(manifests: dict[str, list[dict]], namespaces: dict[str, str],
                    prefer=lambda student: False) -> dict[str, list[str]]:  # fmt: skip
    """Representative student -> the students of its shape (the representative among them). Within a
    shape, a student ``prefer`` picks (one whose namespace exists) is chosen first."""
    groups: dict[str, list[str]] = {}
    for student, objects in manifests.items():
        groups.setdefault(shape(objects, student, namespaces[student]), []).append(student)
    chosen = {}
    for students in groups.values():
        first = next((s for s in students if prefer(s)), students[0])
        chosen[first] = students
    return chosen


def refusal_lines(refused: dict[str, list[tuple[dict, str]]], shapes: dict[str, list[str]], compress) -> list[str]:
    """One line per refused object of a representative, naming the students of its shape, the
    object, the settings behind it and the server's own words.

    ``refused``: representative -> [(object, the server's message)]."""
    lines = []
    for student, found in refused.items():
        who = compress(sorted(shapes.get(student) or [student]))
        for obj, message in found:
            meta = obj.get("metadata") or {}
            names = settings_of(obj.get("kind"), meta.get("name"))
            behind = f" (from {', '.join(names)})" if names else ""
            lines.append(f"{who}: {obj.get('kind')}/{meta.get('name')}{behind}: {message}")
    return lines


def without_unborn_roles(refused: list[tuple[dict, str]], objects: list[dict]) -> list[tuple[dict, str]]:
    """The dry run's refusals less a binding refused because the Role it names is not stored yet.

    RBAC's escalation check reads the Role a RoleBinding names when the writer may not ``bind``
    it (a least-privileged instructor), and a dry run stores nothing: a binding of a Role the
    same render creates is refused ('rolebindings.rbac.authorization.k8s.io "student" not found',
    kube-apiserver 1.36). The apply writes the Role first, and says per student what it refuses."""
    rendered_roles = {(o.get("metadata") or {}).get("name") for o in objects if o.get("kind") == "Role"}
    kept = []
    for obj, message in refused:
        role = (obj.get("roleRef") or {}) if obj.get("kind") == "RoleBinding" else {}
        unborn = role.get("kind") == "Role" and role.get("name") in rendered_roles
        if unborn and f'"{role["name"]}" not found' in message:
            continue
        kept.append((obj, message))
    return kept
