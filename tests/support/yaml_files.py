"""Generated YAML files kept in git: several Kubernetes objects as one document, a v1 List (as
`kubectl get -o yaml` writes them; kubectl apply and kubernetes.core.k8s take its items, and
ansible-test's yamllint accepts one document a file), laid out as yamllint's defaults want."""

from __future__ import annotations

import yaml


class _Indented(yaml.SafeDumper):
    """Sequences indented under their key, as yamllint's default wants."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)

    def ignore_aliases(self, data):
        return True  # an object shared by two items is written out twice, never as &id001 / *id001


def object_list(header: str, items: list[dict]) -> str:
    """The file's text: its header comment, then the List."""
    document = {"apiVersion": "v1", "kind": "List", "items": items}
    return header + "---\n" + yaml.dump(document, Dumper=_Indented, sort_keys=False, default_flow_style=None, width=200)
