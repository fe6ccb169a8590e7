"""The emulator is held to the real API server: one student's rendered lab, server-side applied
to both exactly as deploy.yml applies it, must be stored the same in every field the glue
claims to emulate (tests/support/kube_emulator.py, GAP 7-10). A field the real server fills
differently fails here, naming the object and the field."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from kubernetes import client, config

from tests.support.kube_emulator import EmulatedCluster

MANAGER = "mlopslab"
# The server's defaults compared field by field, for the kinds whose defaults the lab relies on.
TEMPLATE_FIELDS = ("restartPolicy", "terminationGracePeriodSeconds", "dnsPolicy", "schedulerName", "securityContext")
SERVICE_FIELDS = ("type", "sessionAffinity", "ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy", "ports")


def rendered_lab(cluster, tmp_path) -> list[dict]:
    """One student's objects as deploy.yml renders them (render mode, no cluster touched)."""
    inventory = cluster.inventory.parent / "one.yml"
    inventory.write_text("cohort:\n  hosts:\n    user01:\n")
    proc, _seconds = cluster.playbook(
        "deploy",
        "-e",
        "mlopslab_apply=false",
        "-e",
        f"mlopslab_render_dir={tmp_path / 'manifests'}",
        inventory=inventory,
        cohort=f"{cluster.cohort}-conformance",
        prefix=f"{cluster.prefix}conf-",
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    [student] = [p for p in (tmp_path / "manifests").iterdir() if p.is_dir()]
    return [o for f in sorted(student.glob("*.yaml")) for o in yaml.safe_load_all(f.read_text()) if o]


def path_of(obj: dict) -> str:
    group_version, kind = obj["apiVersion"], obj["kind"]
    plural = {"NetworkPolicy": "networkpolicies", "Ingress": "ingresses"}.get(kind, kind.lower() + "s")
    prefix = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
    namespace = obj["metadata"].get("namespace")
    collection = f"{prefix}/namespaces/{namespace}/{plural}" if namespace else f"{prefix}/{plural}"
    return f"{collection}/{obj['metadata']['name']}"


def send(api: client.ApiClient, method: str, path: str, query: list, obj: dict | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/apply-patch+yaml", "Accept": "application/json"}
    method, url, headers, body, _auth = api.param_serialize(
        method, path, query_params=query, header_params=headers, body=obj, auth_settings=["BearerToken"]
    )
    response = api.call_api(method, url, header_params=headers, body=body)
    response.read()
    return response.status, json.loads(response.data or b"{}")


def apply(api: client.ApiClient, obj: dict, dry_run: bool = False) -> dict:
    """Server-side apply, as the deploy pipeline sends it (field manager, force; dryRun=All in --check)."""
    query = [("fieldManager", MANAGER), ("force", "true")] + ([("dryRun", "All")] if dry_run else [])
    status, answer = send(api, "PATCH", path_of(obj), query, obj)
    assert status in (200, 201), (path_of(obj), status, str(answer)[:500])
    return answer


def ours(obj: dict) -> list[dict]:
    return [m for m in obj["metadata"].get("managedFields") or [] if m["manager"] == MANAGER]


def claimed(obj: dict) -> dict:
    """The fields GAP 7-10 claim to store as a real server does, allocations masked."""
    kind, spec = obj["kind"], obj.get("spec") or {}
    meta = obj["metadata"]
    out = {
        "metadata.generation": meta.get("generation"),
        "metadata.managedFields": sorted(
            (m["manager"], m["operation"], m.get("subresource")) for m in meta.get("managedFields") or []
        ),
        "metadata.uid set": bool(meta.get("uid")),
        "metadata.resourceVersion set": bool(meta.get("resourceVersion")),
    }
    if kind == "Secret":
        out.update({"type": obj.get("type"), "data": obj.get("data"), "stringData": obj.get("stringData")})
    elif kind == "Deployment":
        pod = spec["template"]["spec"]
        out.update(
            {
                "spec.replicas": spec.get("replicas"),
                "spec.strategy": spec.get("strategy"),
                "spec.revisionHistoryLimit": spec.get("revisionHistoryLimit"),
                "spec.progressDeadlineSeconds": spec.get("progressDeadlineSeconds"),
                **{f"template.{k}": pod.get(k) for k in TEMPLATE_FIELDS},
            }
        )
        for c in (pod.get("initContainers") or []) + pod["containers"]:
            for key in ("terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy", "ports"):
                out[f"container {c['name']}.{key}"] = c.get(key)
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                out[f"container {c['name']}.{probe}"] = c.get(probe)
    elif kind == "Service":
        out.update({f"spec.{k}": spec.get(k) for k in SERVICE_FIELDS})
        out["spec.clusterIP allocated"] = bool(spec.get("clusterIP")) and spec.get("clusterIPs") == [spec["clusterIP"]]
    elif kind == "Namespace":
        labels = meta.get("labels") or {}
        out.update(
            {
                "spec.finalizers": spec.get("finalizers"),
                "status.phase": (obj.get("status") or {}).get("phase"),
                "label kubernetes.io/metadata.name": labels.get("kubernetes.io/metadata.name"),
            }
        )
    return out


@pytest.fixture
def emulator(tmp_path):
    with EmulatedCluster(tmp_path / "emulator.kubeconfig") as emulated:
        yield config.new_client_from_config(config_file=str(emulated.kubeconfig))


def test_the_emulator_stores_the_lab_as_the_real_server_does(cluster, emulator, tmp_path):
    objects = rendered_lab(cluster, tmp_path)
    assert {o["kind"] for o in objects} >= {"Namespace", "Secret", "Deployment", "Service"}
    # The namespace first, as deploy.yml orders it; both servers get the very same requests.
    objects.sort(key=lambda o: o["kind"] != "Namespace")
    differences = []
    try:
        for obj in objects:
            real, emulated = apply(cluster.api, copy.deepcopy(obj)), apply(emulator, copy.deepcopy(obj))
            again_real, again_emulated = apply(cluster.api, copy.deepcopy(obj)), apply(emulator, copy.deepcopy(obj))
            name = f"{obj['kind']}/{obj['metadata']['name']}"
            # GAP 9: a no-op apply moves nothing, on either: not our manager's entry, and not the
            # resourceVersion of kinds whose status no controller writes (a ResourceQuota's and a
            # Deployment's do, on the real server, whenever their controllers catch up).
            for label, first, second in (("real", real, again_real), ("emulated", emulated, again_emulated)):
                assert ours(second) == ours(first), (label, name)
                if obj["kind"] not in ("ResourceQuota", "Deployment"):
                    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"], (label, name)
            want, got = claimed(real), claimed(emulated)
            differences += [f"{name} {field}: real {want[field]!r}, emulated {got.get(field)!r}"
                            for field in want if want[field] != got.get(field)]  # fmt: skip
    finally:
        namespace = next(o for o in objects if o["kind"] == "Namespace")["metadata"]["name"]
        cluster.core.delete_namespace(namespace)
    assert differences == [], "\n".join(differences)


def test_a_dry_run_answers_as_the_real_server_and_stores_nothing(cluster, emulator, tmp_path):
    """GAP 15: deploy --check's requests. An object in a namespace that does not exist is refused
    (404) by both; in one that exists, both answer with the object and store nothing."""
    objects = rendered_lab(cluster, tmp_path)
    # A namespace of its own: the test above deletes its namespace, which then terminates a while.
    namespace = copy.deepcopy(next(o for o in objects if o["kind"] == "Namespace"))
    namespace["metadata"]["name"] += "-dry"
    config_map = copy.deepcopy(next(o for o in objects if o["kind"] == "ConfigMap"))
    config_map["metadata"]["namespace"] = namespace["metadata"]["name"]
    query = [("fieldManager", MANAGER), ("force", "true"), ("dryRun", "All")]
    try:
        for api in (cluster.api, emulator):
            status, answer = send(api, "PATCH", path_of(config_map), query, copy.deepcopy(config_map))
            assert status == 404 and answer.get("reason") == "NotFound", (status, answer)
            apply(api, copy.deepcopy(namespace))
        statuses = [send(api, "PATCH", path_of(config_map), query, copy.deepcopy(config_map))[0]
                    for api in (cluster.api, emulator)]  # fmt: skip
        assert statuses == [201, 201], statuses  # would be created
        answers = [apply(api, copy.deepcopy(config_map), dry_run=True) for api in (cluster.api, emulator)]
        assert [ours(a) != [] for a in answers] == [True, True]
        assert answers[0]["data"] == answers[1]["data"] == config_map["data"]
        assert [send(api, "GET", path_of(config_map), [])[0] for api in (cluster.api, emulator)] == [404, 404]
    finally:
        cluster.core.delete_namespace(namespace["metadata"]["name"])


def test_a_list_answers_in_the_real_servers_shape(cluster, emulator, tmp_path):
    """GAP 5 and 16: a list carries its kind and apiVersion, its items neither (apply's --diff once
    read them from the items: right on the emulator, wrong on a real server)."""
    objects = rendered_lab(cluster, tmp_path)
    namespace = copy.deepcopy(next(o for o in objects if o["kind"] == "Namespace"))
    namespace["metadata"]["name"] += "-list"
    config_map = copy.deepcopy(next(o for o in objects if o["kind"] == "ConfigMap"))
    config_map["metadata"]["namespace"] = namespace["metadata"]["name"]
    shapes = []
    try:
        for api in (cluster.api, emulator):
            apply(api, copy.deepcopy(namespace))
            apply(api, copy.deepcopy(config_map))
            status, answer = send(api, "GET", path_of(config_map).rsplit("/", 1)[0], [])
            assert status == 200, (status, answer)
            shapes.append((answer["kind"], answer["apiVersion"], sorted({k for i in answer["items"] for k in i})))
    finally:
        cluster.core.delete_namespace(namespace["metadata"]["name"])
    real, emulated = shapes
    assert real[:2] == ("ConfigMapList", "v1") and "kind" not in real[2] and "apiVersion" not in real[2]
    assert emulated == real
