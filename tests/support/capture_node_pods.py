"""Capture pods and their events as a real node wrote them, for the unit tests' fixtures
(tests/unit/plugins/module_utils/fixtures/real-node.yml): the exporter pod of each namespace
named, its events (matched by involvedObject.uid), managedFields dropped, nothing else changed.

    python -m tests.support.capture_node_pods KUBECONFIG OUT namespace=cause[:certainty] ...
"""

from __future__ import annotations

import datetime
import sys

import yaml
from kubernetes import client, config


def capture(kubeconfig: str, wanted: dict[str, tuple[str, str | None]], out: str) -> None:
    api = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
    plain = api.api_client.sanitize_for_serialization
    version = client.VersionApi(api.api_client).get_code().git_version
    cases = []
    for namespace, (cause, certainty) in wanted.items():
        pods = api.list_namespaced_pod(namespace, label_selector="app.kubernetes.io/name=metrics-exporter").items
        # The newest pod: a rollout that cannot pull leaves the old one running beside it.
        pod = plain(max(pods, key=lambda p: p.metadata.creation_timestamp))
        pod["metadata"].pop("managedFields", None)
        events = [plain(e) for e in api.list_namespaced_event(namespace).items
                  if e.involved_object.uid == pod["metadata"]["uid"]]  # fmt: skip
        for event in events:
            event["metadata"].pop("managedFields", None)
        expect = {"status": "failing", "cause": cause, **({"certainty": certainty} if certainty else {})}
        cases.append({"id": f"real node: {namespace}", "expect": expect, "pod": pod, "events": events})
    header = (
        "# yamllint disable-file\n"
        f"# Pods and Events exactly as a real node wrote them (kubelet {version}, Debian's containerd and runc,\n"
        "# the real kernel), captured by tests/support/capture_node_pods.py on "
        f"{datetime.date.today().isoformat()} from the real-node tier\n"
        "# (make test-node): the course's failures staged through settings, not written by hand.\n"
    )
    with open(out, "w", encoding="utf-8") as handle:
        handle.write(header + yaml.safe_dump(cases, sort_keys=False, width=200))


if __name__ == "__main__":
    kubeconfig, out, *pairs = sys.argv[1:]
    wanted = {}
    for pair in pairs:
        namespace, _equals, expected = pair.partition("=")
        cause, _colon, certainty = expected.partition(":")
        wanted[namespace] = (cause, certainty or None)
    capture(kubeconfig, wanted, out)
