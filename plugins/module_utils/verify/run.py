# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check the cohort's labs through the API server (the runner of the module lab_health_info, which
only wires its arguments to this): pods and events in two lists, each student's Prometheus and
Grafana read concurrently, the lab's objects, and each student's access tried as handed out."""

from __future__ import annotations

from ansible_collections.mlopslab.monitoring.plugins.module_utils.access.sheet import read_sheet
from ansible_collections.mlopslab.monitoring.plugins.module_utils.access.tokens import (
    grafana_login_problems,
    kubeconfig_answers_problems,
)
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.lab_io import (
    KubeApi,
    as_kubeconfig,
    poster_via_url,
    via_url,
)
from ansible_collections.mlopslab.monitoring.plugins.module_utils.verify.lab_health import LabHealthError, check_cohort

# One label-selected list per kind for the whole cohort (EndpointSlices carry their Service's labels).
OBJECT_PATHS = {
    "Deployment": "/apis/apps/v1/deployments",
    "ReplicaSet": "/apis/apps/v1/replicasets",
    "Service": "/api/v1/services",
    "EndpointSlice": "/apis/discovery.k8s.io/v1/endpointslices",
    "ConfigMap": "/api/v1/configmaps",
}


def _access(params, kube, what, service, port):
    mode = params[f"{what}_access"]
    if mode == "none":
        return lambda namespace: None
    if mode == "url":
        urls, template = params[f"{what}_urls"], params[f"{what}_url_template"]
        verify = params["validate_certs"] is not False
        return lambda namespace: via_url(urls.get(namespace) or template, namespace, params["timeout"], verify)
    return lambda namespace: kube.via_proxy(namespace, service, port)


def _access_checks(params, kube, namespaces):
    """access_for(namespace) for check_cohort: each student's kubeconfig and Grafana password, as
    the access sheet hands them out, tried for real."""
    if not params["access_sheet"]:
        return None
    try:
        with open(params["access_sheet"], encoding="utf-8") as handle:
            rows = read_sheet(handle.read())
    except OSError as err:
        rows, missing = {}, f"no access sheet ({err.strerror}: {params['access_sheet']})"
    else:
        missing = f"the access sheet {params['access_sheet']} has no row for this namespace"
    grafana_mode = params["grafana_access"]

    def access_for(namespace):
        row = rows.get(namespace)
        others = [n for n in namespaces if n != namespace]
        # A neighbour's namespace: what isolation must refuse (kube-system for a cohort of one).
        other = others[namespaces.index(namespace) % len(others)] if others else "kube-system"

        def check(grafana):
            if row is None:
                return {"unchecked": missing}
            if row.get("kubeconfig"):
                own, theirs = as_kubeconfig(row["kubeconfig"], namespace, other, params["timeout"])
                problems = kubeconfig_answers_problems(own, theirs, namespace, other)
            else:
                problems = ["no kubeconfig was handed out (" + (row.get("token_expires") or "not issued") + ")"]
            if grafana_mode != "none" and grafana.get("ok"):
                if grafana_mode == "url":
                    template = params["grafana_urls"].get(namespace) or params["grafana_url_template"]
                    post = poster_via_url(template, namespace, params["timeout"], params["validate_certs"] is not False)
                else:
                    post = kube.poster_via_proxy(namespace, "grafana", 3000)
                problems += grafana_login_problems(post, row.get("grafana_user"), row.get("grafana_password"))
            return {"problems": problems, "renew": params["renew_command"].format(student=row.get("student"))}

        return check

    return access_for


def _events(kube, warn) -> list[dict]:
    """The kubelet's and controllers' events about pods and ReplicaSets, cluster-wide; without the
    right to list them the diagnosis goes on with less evidence, and says so."""
    try:
        return [
            event
            for kind in ("Pod", "ReplicaSet")
            for event in kube.list_items("/api/v1/events", {"fieldSelector": f"involvedObject.kind={kind}"})
        ]
    except Exception as err:
        warn(
            f"could not list events ({str(err)[:200]}): pods are diagnosed without them (an OOM kill is still "
            "told by its reason; a probe kill or a quota refusal is named with lower certainty)"
        )
        return []


def check_labs(params: dict, kube: KubeApi, warn) -> dict:
    """lab_health_info's answer (params: the module's). LabHealthError for the check's own
    refusals; OSError when the cohort's namespaces cannot be listed (the API is unreachable)."""
    selector = ",".join(params["label_selectors"])
    try:
        namespaces = params["namespaces"] or sorted(
            n["metadata"]["name"] for n in kube.list_items("/api/v1/namespaces", {"labelSelector": selector})
        )
        return check_cohort(
            namespaces,
            lambda: kube.list_items("/api/v1/pods", {"labelSelector": selector}),
            lambda: _events(kube, warn),
            _access(params, kube, "prometheus", "prometheus", 9090),
            _access(params, kube, "grafana", "grafana", 3000),
            expected_jobs=params["expected_jobs"],
            required_series=params["required_series"],
            max_restarts=params["max_restarts"],
            workers=params["workers"],
            list_objects=(
                (lambda kind: kube.list_items(OBJECT_PATHS[kind], {"labelSelector": selector}))
                if params["check_objects"]
                else None
            ),
            access_for=_access_checks(params, kube, namespaces),
        )
    except LabHealthError:
        raise
    except Exception as err:  # the namespace list: the API itself is unreachable or refuses
        raise OSError(f"cannot list the cohort's namespaces ({selector}): {err}") from err
