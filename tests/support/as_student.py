"""What the API answers a student: one list call with the kubeconfig deploy handed out."""

from __future__ import annotations

from pathlib import Path

from kubernetes import client, config
from kubernetes.client.rest import ApiException


def list_pods_status(kubeconfig: Path, namespace: str) -> int:
    """List pods in `namespace` with the student's kubeconfig: the HTTP status the API answers."""
    api = client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
    try:
        api.list_namespaced_pod(namespace, limit=1)
    except ApiException as err:
        return err.status
    return 200
