"""Seed an emulated cluster with a student's lab as a real cluster holds it: the Deployments,
Services, ConfigMaps and EndpointSlices a real API server returned after deploy.yml
(fixtures/cluster/student-objects.yml), and the pods and events of the diagnosis fixtures
(Pods and Events as the API returns them), all moved into the student's namespace."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import yaml

FIXTURES = Path(__file__).resolve().parents[1] / "unit/plugins/module_utils/fixtures/pods.yml"
OBJECTS = Path(__file__).resolve().parents[1] / "fixtures/cluster/student-objects.yml"
_CASES = {c["id"]: c for c in yaml.safe_load(FIXTURES.read_text())}
_OBJECTS = yaml.safe_load(OBJECTS.read_text())
FIXTURE_NAMESPACE = "user02"

HEALTHY_EXPORTER = "healthy exporter, init container completed"
OOM_KILLED = "oom kill hidden behind CrashLoopBackOff"
LIVENESS_KILLED = "original lab: liveness kill during pip install, reason Error"


def _moved(obj: dict, namespace: str, cohort: str) -> dict:
    text = json.dumps(obj).replace(f'"{FIXTURE_NAMESPACE}"', f'"{namespace}"')
    text = text.replace(f"_{FIXTURE_NAMESPACE}(", f"_{namespace}(")
    moved = json.loads(text)
    labels = moved["metadata"].get("labels")
    if labels:
        labels["mlopslab.io/cohort"] = cohort
        labels["mlopslab.io/student"] = namespace
    return moved


def student_objects(
    namespace: str, exporter_case: str = HEALTHY_EXPORTER, cohort: str = "mlops-demo", without=()
) -> list[dict]:
    """A student's lab: its objects (but those named in `without`, e.g. "Deployment/grafana"), the
    three pods (exporter as in `exporter_case`) and the exporter's events."""
    healthy_prometheus = _CASES["healthy prometheus, no init container"]["pod"]
    grafana = copy.deepcopy(healthy_prometheus)
    grafana["metadata"].update(name="grafana-6d5c4b3a2-n4m5b", uid="a0b1c2d3-1111-4e5f-8a9b-0c1d2e3f4a5b")
    grafana["metadata"]["labels"]["app.kubernetes.io/name"] = "grafana"
    case = _CASES[exporter_case]
    objects = [o for o in _OBJECTS if f"{o['kind']}/{o['metadata']['name']}" not in without]
    return [_moved(o, namespace, cohort) for o in (*objects, case["pod"], healthy_prometheus, grafana, *case["events"])]
