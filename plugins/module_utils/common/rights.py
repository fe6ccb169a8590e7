# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the instructor must be allowed to do, per playbook, derived from the calls the playbooks
really make; the ClusterRoles the collection ships are built from the same table, so a right the
code needs and the role lacks cannot drift apart.

On a shared cluster the instructor is rarely cluster-admin. Each playbook asks the API first
(a SelfSubjectAccessReview per right: the cluster's own authorizers decide, webhooks included)
and refuses with one message naming every missing right, before anything is written. A right
that only sharpens a check (the capacity preflight's cluster-wide reads, verify's events) is
optional where a setting allows going on: then it is said what was not checked.

The students' Role (roles/student_namespace) is written by the instructor, and RBAC lets nobody
grant what they do not hold themselves (escalation prevention): every rule of it is a right of
the instructor's too. Pure data and functions; the instructor_rights_info module asks the API.
"""

from __future__ import annotations

CLUSTER, NAMESPACE = "cluster", "namespace"
ROLE_NAME = "mlopslab-instructor"
VERIFY_ROLE_NAME = "mlopslab-instructor-verify"

# The students' Role, rule by rule (roles/student_namespace/templates/namespace.yaml.j2 renders
# exactly these: a unit test compares them). No subresource the API no longer serves
# (apps/v1 has no deployments/rollback).
STUDENT_RULES = (
    ("", ("pods", "services", "configmaps"), ("get", "list", "watch", "create", "update", "patch", "delete",
                                              "deletecollection")),
    ("", ("pods/log",), ("get", "list", "watch")),
    ("", ("pods/portforward",), ("get", "create")),
    ("", ("events", "endpoints", "resourcequotas", "limitranges", "serviceaccounts"), ("get", "list", "watch")),
    ("events.k8s.io", ("events",), ("get", "list", "watch")),
    ("apps", ("deployments", "replicasets"), ("get", "list", "watch", "create", "update", "patch", "delete",
                                              "deletecollection")),
    ("apps", ("deployments/scale",), ("get", "update", "patch")),
    ("discovery.k8s.io", ("endpointslices",), ("get", "list", "watch")),
    ("networking.k8s.io", ("networkpolicies",), ("get", "list", "watch")),
    ("rbac.authorization.k8s.io", ("roles", "rolebindings"), ("get", "list", "watch")),
)  # fmt: skip

# The kinds deploy.yml applies into each student's namespace (server-side apply: a PATCH that
# creates what is missing, so create and patch; get and list to read what is there).
LAB_KINDS = (
    ("", "configmaps"),
    ("", "secrets"),
    ("", "services"),
    ("", "serviceaccounts"),
    ("", "resourcequotas"),
    ("", "limitranges"),
    ("apps", "deployments"),
    ("networking.k8s.io", "networkpolicies"),
    ("rbac.authorization.k8s.io", "roles"),
    ("rbac.authorization.k8s.io", "rolebindings"),
)
APPLY_VERBS = ("get", "list", "create", "patch")


def right(group, resource, verb, scope, why, optional=None) -> dict:
    """One right: verb on group/resource, cluster-wide or in a student's namespace; why it is
    needed; and, for an optional one, what is not checked without it."""
    return {"group": group, "resource": resource, "verb": verb, "scope": scope, "why": why, "optional": optional}


def _preflight() -> list[dict]:
    return [right("", "namespaces", "list", CLUSTER, "see which students' namespaces exist and whose they are")]


def _capacity(mode: str) -> list[dict]:
    if mode == "skip":
        return []
    unchecked = None if mode == "fail" else "the capacity preflight (whether the cohort fits the nodes)"
    return [
        right("", "nodes", "list", CLUSTER, "the capacity preflight reads the nodes' allocatable resources", unchecked),
        right("", "pods", "list", CLUSTER, "the capacity preflight counts what other pods request", unchecked),
    ]


def _access() -> list[dict]:
    return [
        right("", "serviceaccounts", "list", CLUSTER, "find the students' ServiceAccounts in one call"),
        right("", "serviceaccounts", "get", NAMESPACE, "read a student's ServiceAccount"),
        right("", "serviceaccounts", "create", NAMESPACE, "recreate a student's ServiceAccount (renew)"),
        right("", "serviceaccounts", "delete", NAMESPACE, "revoke a student's access"),
        right("", "serviceaccounts/token", "create", NAMESPACE, "issue each student's token (TokenRequest)"),
        right("", "secrets", "get", NAMESPACE, "read back each student's Grafana password from their lab's Secret"),
    ]


def _hold() -> list[dict]:
    why = "hold the students: one run at a time (a Lease in each student's namespace)"
    return [right("coordination.k8s.io", "leases", v, NAMESPACE, why) for v in ("get", "create", "patch", "delete")]


def _transaction() -> list[dict]:
    """deploy's: the hold; what the render no longer contains removed, of every kind a lab may have
    rendered once (an Ingress too, whether one is rendered now); a namespace made for the server's
    dry run removed again when it refuses. After the others: a right they need too keeps their why."""
    prunable = (*LAB_KINDS, ("networking.k8s.io", "ingresses"))
    why = "remove what the render no longer contains (each student's ApplySet)"
    rights = [right(g, r, v, NAMESPACE, why) for g, r in prunable for v in ("list", "delete")]
    rights.append(right("", "namespaces", "delete", CLUSTER, "remove a namespace made for a refused dry run"))
    return _hold() + rights


def needed(playbook: str, capacity: str = "fail", ingress: bool = False, wait: bool = True,
           proxy: bool = True) -> list[dict]:  # fmt: skip
    """The rights a playbook uses, with the settings that change them."""
    if playbook == "deploy":
        rights = _preflight() + _capacity(capacity)
        rights += [right("", "namespaces", verb, CLUSTER, "create and label the students' namespaces")
                   for verb in ("get", "create", "patch")]  # fmt: skip
        kinds = LAB_KINDS + ((("networking.k8s.io", "ingresses"),) if ingress else ())
        rights += [right(g, r, v, NAMESPACE, "apply the lab's objects") for g, r in kinds for v in APPLY_VERBS]
        if wait:
            rights.append(
                right("apps", "deployments", "list", CLUSTER, "wait for the cohort's Deployments in one call")
            )
        rights += [
            right(g, r, v, NAMESPACE, "grant it in the students' Role (RBAC lets nobody grant what they do not hold)")
            for g, resources, verbs in STUDENT_RULES
            for r in resources
            for v in verbs
        ]
        return _unique(rights + _access() + _transaction())
    if playbook == "access":
        return _unique(_preflight() + _access() + _hold())
    if playbook == "teardown":
        return [
            *_preflight(),
            right("", "namespaces", "get", CLUSTER, "see whether a deleted namespace is gone"),
            right("", "namespaces", "delete", CLUSTER, "delete the cohort's namespaces"),
            *_hold(),
        ]
    if playbook == "verify":
        events = "verify's event evidence (an OOM kill told from a probe kill by the kubelet's events)"
        rights = [right("", "pods", "list", CLUSTER, "list the cohort's pods in one call")]
        rights += [right("", "events", "list", CLUSTER, "read the kubelet's events about the pods", events)]
        rights += [
            right(g, r, "list", CLUSTER, "check the cohort's objects (one call per kind)", "the object checks")
            for g, r in (("apps", "deployments"), ("apps", "replicasets"), ("", "services"), ("", "configmaps"),
                         ("discovery.k8s.io", "endpointslices"))
        ]  # fmt: skip
        if proxy:
            rights += [
                right("", "services/proxy", "get", NAMESPACE, "read Prometheus and Grafana through the API server"),
                right("", "services/proxy", "create", NAMESPACE, "log in to Grafana through the API server"),
            ]
        return rights
    raise ValueError(f"no rights table for playbook {playbook!r}")


def _unique(rights: list[dict]) -> list[dict]:
    seen, out = set(), []
    for r in rights:
        key = (r["group"], r["resource"], r["verb"], r["scope"])
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def review(r: dict, namespace: str) -> dict:
    """The SelfSubjectAccessReview that asks for one right."""
    resource, _slash, subresource = r["resource"].partition("/")
    attributes = {"group": r["group"], "resource": resource, "verb": r["verb"]}
    if subresource:
        attributes["subresource"] = subresource
    if r["scope"] == NAMESPACE:
        attributes["namespace"] = namespace
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes}}  # fmt: skip


def said(r: dict, namespace: str = "") -> str:
    """A right in words: "create apps/deployments in user01" or "list nodes (cluster-wide)"."""
    what = f"{r['group']}/{r['resource']}" if r["group"] else r["resource"]
    where = f"in {namespace}" if r["scope"] == NAMESPACE and namespace else "(cluster-wide)"
    return f"{r['verb']} {what} {where}"


def judge(rights: list[dict], answers: list[dict | None]) -> dict:
    """Each right with the API's answer (a SelfSubjectAccessReview status, or None when the review
    itself failed: counted as missing, never as allowed). Returns missing (required), unchecked
    (optional ones missing: what is not checked) and allowed."""
    out = {"missing": [], "unchecked": [], "allowed": []}
    for r, answer in zip(rights, answers, strict=True):
        if answer and answer.get("allowed") is True:
            out["allowed"].append(r)
        elif r["optional"]:
            out["unchecked"].append(r)
        else:
            out["missing"].append({**r, "denied": (answer or {}).get("reason") or ""})
    return out


def refusal(clusters: list[dict], playbook: str) -> str:
    """One message for every cluster where a required right is missing; '' when none is.

    ``clusters``: per cluster {name, namespace, user, missing, several}."""
    parts = []
    for c in clusters:
        if not c["missing"]:
            continue
        where = f" on {c['name']}" if c.get("several") else ""
        who = c.get("user") or "you"
        lines = "".join(f"\n  - {said(r, c['namespace'])}: to {r['why']}" for r in c["missing"])
        parts.append(f"{who} may not do what {playbook}.yml needs{where} ({len(c['missing'])} rights missing):{lines}")
    if not parts:
        return ""
    role = VERIFY_ROLE_NAME if playbook == "verify" else ROLE_NAME
    return (
        "\n".join(parts) + f"\nNothing was changed. A cluster administrator grants them with the ClusterRole {role} "
        "this collection ships: kubectl apply -f roles/_common/files/instructor-clusterroles.yaml, then "
        f"kubectl create clusterrolebinding {role}-<you> --clusterrole={role} --user=<you> "
        "(or: ansible-playbook mlopslab.monitoring.instructor_rights -e mlopslab_instructor=<you>)."
    )


def _rules(rights: list[dict]) -> list[dict]:
    """RBAC rules for these rights: one per API group and set of verbs, resources merged."""
    verbs: dict[tuple[str, str], set[str]] = {}
    for r in rights:
        verbs.setdefault((r["group"], r["resource"]), set()).add(r["verb"])
    merged: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for (group, resource), vs in verbs.items():
        merged.setdefault((group, tuple(sorted(vs))), []).append(resource)
    return [
        {"apiGroups": [group], "resources": sorted(resources), "verbs": list(vs)}
        for (group, vs), resources in sorted(merged.items())
    ]


def cluster_roles() -> list[dict]:
    """The ClusterRoles shipped in roles/_common/files/instructor-clusterroles.yaml: everything
    the four playbooks need (with every setting that adds a right), and verify's alone."""
    everything = _unique(
        [r for p in ("deploy", "access", "teardown") for r in needed(p, ingress=True)] + needed("verify")
    )
    labels = {"app.kubernetes.io/managed-by": "mlopslab", "app.kubernetes.io/part-of": "mlopslab-monitoring"}

    def role(name, rights, purpose):
        return {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name, "labels": labels, "annotations": {"mlopslab.io/purpose": purpose}},
            "rules": _rules(rights),
        }

    return [
        role(ROLE_NAME, everything, "run deploy, access, verify and teardown for a course (bind it cluster-wide)"),
        role(VERIFY_ROLE_NAME, needed("verify"), "run verify.yml only (a teaching assistant)"),
    ]


def clusters_verdict(results: list[dict], playbook: str) -> dict:
    """instructor_rights_info's per-cluster loop results (each with its cluster as ``item``) as
    one verdict: the refusal (every missing right, per cluster; '' when none is), a warning per
    optional right missing (what is not checked), and whether the capacity reads are possible
    on every cluster. A cluster whose review call failed as a whole refuses: not asked is not
    allowed."""
    several = len(results) > 1
    clusters, warnings, capacity = [], [], True
    for result in results:
        cluster = result["item"]
        namespace = (cluster.get("namespaces") or [""])[0]
        missing = list(result.get("missing") or [])
        # Not asked: the module failed, or said why (unanswered=report).
        unasked = result.get("cluster_error") or (result.get("failed") and (result.get("msg") or "no answer"))
        if unasked and playbook == "verify":
            # verify checks every cluster it can and fails the students of one that does not
            # answer (cluster_unreachable): a cluster that could not be asked is no reason to stop.
            warnings.append(f"could not ask {cluster['name']} what you may read ({unasked})")
            continue
        if unasked:
            why = f"could not ask the API server what you may do ({unasked})"
            missing = [right("authorization.k8s.io", "selfsubjectaccessreviews", "create", CLUSTER, why)]
        clusters.append({"name": cluster["name"], "namespace": namespace, "user": result.get("user") or "",
                         "missing": missing, "several": several})  # fmt: skip
        where = f"on {cluster['name']}, " if several else ""
        for r in result.get("unchecked") or []:
            warnings.append(f"{where}you may not {said(r, namespace)}: {r['optional']} is not checked")
            capacity &= r["resource"] not in ("nodes", "pods")
    return {"refusal": refusal(clusters, playbook), "warnings": warnings, "capacity_readable": capacity}


def binding(user: str, role: str = ROLE_NAME) -> dict:
    """The ClusterRoleBinding that gives ``user`` (a user name, or system:serviceaccount:<ns>:<name>)
    one of the shipped ClusterRoles, cluster-wide: the students' namespaces do not exist before
    deploy creates them, so no RoleBinding could be there first."""
    parts = user.split(":")
    if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"]:
        subject = {"kind": "ServiceAccount", "name": parts[3], "namespace": parts[2]}
    else:
        subject = {"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"}
    name = f"{role}-" + "".join(c if c.isalnum() or c in "-." else "-" for c in user.lower()).strip("-.")[:200]
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "mlopslab"}},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [subject],
    }
