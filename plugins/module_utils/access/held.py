# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster is the source of truth; the build folder is a cache. Each student's Grafana admin
password is read back from the Secret their lab already holds when the credentials folder does
not have it: a new clone, another machine, an AWX job whose disk was thrown away. Grafana keeps
the password of its first start, so a password generated anew would be written into the Secret
and handed out while Grafana still asks for the old one.

Only a Secret labelled as this cohort's is believed; a missing one (404) means the lab is new.
Any other answer is an error of that student's: deploy stops before anything is written, as a
password it cannot read could only be replaced by one Grafana does not know. So is a Secret that
is there but holds nothing to believe (not labelled as this cohort's, its key gone or not base64):
render_cohort stops for it unless the password is given or kept in the credentials folder."""

from __future__ import annotations

import base64
import binascii
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.namespaces import is_cohorts

# What roles/grafana/templates/grafana.yaml.j2 renders (a unit test compares them).
SECRET, KEY = "grafana-admin", "admin-password"


def is_password(obj: dict) -> bool:
    """The lab's Grafana admin Secret (roles/grafana renders it)."""
    return obj.get("kind") == "Secret" and (obj.get("metadata") or {}).get("name") == SECRET


def with_password(objects: list[dict], record: dict | None, password: str | None) -> None:
    """A student's render made to carry ``password`` (None: none), in the two places it has it:
    the Secret's admin-password (base64, as the API holds it) and the access record."""
    if record is not None:
        record["grafana_password"] = password
    for obj in objects:
        if is_password(obj):
            data = {k: v for k, v in (obj.get("data") or {}).items() if k != KEY}
            obj["data"] = {**data, KEY: base64.b64encode(password.encode()).decode()} if password is not None else data


def held_password(secret: dict, cohort: str) -> str:
    """The password a Secret holds; ValueError saying why when it is not this cohort's lab Secret
    or holds none."""
    if not is_cohorts(secret, cohort):  # the labels that make a Namespace this cohort's, on its Secret
        raise ValueError(f"is not this cohort's (its labels do not say managed-by mlopslab, cohort {cohort})")
    encoded = (secret.get("data") or {}).get(KEY)
    if not encoded:
        raise ValueError(f"holds no {KEY}")
    try:
        return base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError(f"holds an {KEY} that is not base64 of UTF-8 text") from None


def read_held(call, students: dict[str, str], cohort: str, workers: int = 8) -> tuple[dict, dict, dict]:
    """(passwords, errors, unusable) by student: unusable, a Secret that is there but gives no
    password (why). ``call(method, path)`` -> (HTTP status, JSON), as KubeApi's; one GET per
    student's namespace (the instructor's right there, not a cluster-wide secret list)."""

    def one(namespace: str) -> tuple[int, dict]:
        return call("GET", f"/api/v1/namespaces/{namespace}/secrets/{SECRET}")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        answers = dict(zip(students, pool.map(one, students.values()), strict=True))
    passwords, errors, unusable = {}, {}, {}
    for student, (status, answer) in answers.items():
        if status == 200:
            try:
                passwords[student] = held_password(answer, cohort)
            except ValueError as why:
                unusable[student] = {"namespace": students[student], "why": str(why)}
        elif status != 404:
            why = answer.get("message") or answer.get("reason") or "no answer"
            errors[student] = f"cannot read Secret {students[student]}/{SECRET} (HTTP {status}: {why})"
    return passwords, errors, unusable


def unusable_problem(student: str, unusable: dict) -> str:
    """The one sentence for a student whose Secret gives no password and who has none given or kept."""
    namespace = unusable["namespace"]
    return (
        f"{student}: Secret {namespace}/{SECRET} {unusable['why']}, and no password is given or kept in the "
        "credentials folder: a new one would not be the one Grafana holds (it keeps the password of its first "
        f"start). Give the one it holds as grafana_admin_password for {student}; if nobody knows it, give a new "
        f"one and, after the deploy, restart Grafana so it starts with it: kubectl -n {namespace} rollout restart "
        "deployment/grafana (its dashboards come back from their ConfigMaps)"
    )


def combine(results: list[dict]) -> tuple[dict, list[str], dict]:
    """The loop results over the clusters -> (passwords by student, problems, unusable Secrets by
    student): a cluster whose call failed as a whole is one problem naming its students."""
    passwords, problems, unusable = {}, [], {}
    for result in results:
        if result.get("skipped"):
            continue
        cluster = result.get("item") or {}
        if result.get("failed"):
            students = ", ".join(cluster.get("students") or [])
            problems.append(f"{cluster.get('name', 'a cluster')} ({students}): {result.get('msg') or 'no answer'}")
            continue
        passwords.update(result.get("passwords") or {})
        unusable.update(result.get("unusable") or {})
        problems += [f"{student}: {why}" for student, why in sorted((result.get("errors") or {}).items())]
    return passwords, problems, unusable
