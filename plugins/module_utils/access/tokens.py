# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Students' kubeconfigs as pure functions: token lifetimes, the kubeconfig handed out, whether a
token on disk is still good, and whether what was handed out works."""

from __future__ import annotations

import base64
import datetime
import json
import re

from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.libraries import yaml

# The shortest token a TokenRequest may ask for (the API server refuses expirationSeconds < 600).
MIN_TOKEN_SECONDS = 600


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def seconds(value) -> int | None:
    """A lifetime in seconds from 3600, "3600", "90m", "12h", "90d" or "16w"; None if it is none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    match = re.fullmatch(r"\s*([0-9]+)\s*([smhdw]?)\s*", str(value))
    if not match or int(match.group(1)) == 0:
        return None
    return int(match.group(1)) * _UNITS[match.group(2) or "s"]


def lifetime_problems(ttl, renew_before) -> list[tuple[str, object, str]]:
    """(variable, value, what is wrong) for the token settings, every problem at once."""
    problems = []
    ttl_s, margin_s = seconds(ttl), seconds(renew_before)
    if ttl_s is None:
        problems.append(("mlopslab_student_token_ttl", ttl, "is not a lifetime"))
    elif ttl_s < MIN_TOKEN_SECONDS:
        problems.append(
            ("mlopslab_student_token_ttl", ttl, "is shorter than 10m, the shortest token the API server issues")
        )
    if margin_s is None:
        problems.append(("mlopslab_student_token_renew_before", renew_before, "is not a lifetime"))
    elif ttl_s is not None and margin_s >= ttl_s:
        problems.append(
            (
                "mlopslab_student_token_renew_before",
                renew_before,
                f"is not shorter than mlopslab_student_token_ttl ({ttl}): every run would renew every token",
            )
        )
    return problems


def claims(token: str) -> dict:
    """A JWT's payload, unverified: the API server is the judge of the token, this only reads
    when it expires and which ServiceAccount (uid) it was issued for. {} if it is no JWT."""
    parts = (token or "").split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, TypeError):
        return {}
    return payload if isinstance(payload, dict) else {}


def account_uid(payload: dict) -> str | None:
    return ((payload.get("kubernetes.io") or {}).get("serviceaccount") or {}).get("uid")


def kubeconfig(student: str, namespace: str, server: str, ca_data: str | None, insecure: bool, token: str) -> dict:
    """The student's kubeconfig: one cluster, one user (the token), one context whose default
    namespace is the student's own."""
    cluster = {"server": server}
    if ca_data:
        cluster["certificate-authority-data"] = ca_data
    elif insecure:
        cluster["insecure-skip-tls-verify"] = True
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "mlopslab", "cluster": cluster}],
        "users": [{"name": student, "user": {"token": token}}],
        "contexts": [{"name": student, "context": {"cluster": "mlopslab", "user": student, "namespace": namespace}}],
        "current-context": student,
    }


def dump(config: dict) -> str:
    return yaml.safe_dump(config, sort_keys=False)


def read_token(text: str | None) -> str | None:
    """The token of a kubeconfig we wrote, or None when there is none or it is unreadable."""
    try:
        config = yaml.safe_load(text) if text else None
        return config["users"][0]["user"]["token"]
    except (yaml.YAMLError, KeyError, IndexError, TypeError):
        return None


def keep_or_renew(text: str | None, *, now: float, renew_before: int, account: str | None) -> tuple[bool, str]:
    """Whether the kubeconfig on disk keeps its token, and why (or why not).

    `account` is the uid of the student's ServiceAccount as the server has it now (None: there
    is none): a token issued for an earlier ServiceAccount of the same name no longer works."""
    token = read_token(text)
    if text is None:
        return False, "issued"
    if not token:
        return False, "renewed: the kubeconfig on disk held no token"
    payload = claims(token)
    expires = payload.get("exp")
    if not isinstance(expires, (int, float)):
        return False, "renewed: its token does not say when it expires"
    # No ServiceAccount now means no token of it works: never "kept" (the TokenRequest then says why).
    if account is None:
        return False, "renewed: its ServiceAccount does not exist (the old token no longer works)"
    if account_uid(payload) != account:
        return False, "renewed: its ServiceAccount was recreated (the old token no longer works)"
    left = expires - now
    if left <= 0:
        return False, f"renewed: its token expired {when(expires)}"
    if left <= renew_before:
        return False, f"renewed: its token expires {when(expires)}, within mlopslab_student_token_renew_before"
    return True, f"kept: its token expires {when(expires)}"


def when(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def token_expiry(text: str | None) -> str:
    expires = claims(read_token(text) or "").get("exp")
    return when(expires) if isinstance(expires, (int, float)) else ""


# ---------------------------------------------------------------- what was handed out, tried
def kubeconfig_answers_problems(
    own: tuple[int, str], other: tuple[int, str], namespace: str, neighbour: str
) -> list[str]:
    """As the student: listing its own pods must be allowed, a neighbour's refused. Each answer
    is (HTTP status, message); status 0 means no answer at all."""
    problems = []
    status, message = own
    if status == 0:
        problems.append(f"the kubeconfig's API server does not answer ({message})")
    elif status == 401:
        problems.append(
            "the kubeconfig's token is refused (401 Unauthorized: expired, or its ServiceAccount was deleted)"
        )
    elif status == 403:
        problems.append(f"the kubeconfig may not list pods in its own namespace {namespace} (403: {message})")
    elif status != 200:
        problems.append(f"listing its own pods with the kubeconfig failed (HTTP {status}: {message})")
    if status == 200:
        status, message = other
        if status == 200:
            problems.append(
                f"the kubeconfig can list pods in {neighbour}, another namespace: the student is not confined "
                f"to {namespace}"
            )
        elif status not in (401, 403):
            problems.append(f"whether the kubeconfig is refused in {neighbour} is unknown (HTTP {status}: {message})")
    return problems


def grafana_login_problems(post, user: str | None, password: str | None) -> list[str]:
    """Grafana's own login with the handed-out user and password (POST /login: 200 or 401).
    Grafana takes its admin password from the Secret on its first start only, so a password
    regenerated since (a lost credentials folder) is exactly what this catches."""
    if not password:
        return ["the access sheet has no Grafana password"]
    status, answer = post("/login", {"user": user or "admin", "password": password})
    if status == 200:
        return []
    if status == 401:
        return [f"Grafana refuses the handed-out password for user {user} (401: {answer.get('message', '')})"]
    return [f"Grafana's login did not answer as expected (HTTP {status}: {answer.get('message', '')})"]
