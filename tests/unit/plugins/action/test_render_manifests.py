"""What the render action accepts as a template's output: Kubernetes objects only."""

import pytest

from plugins.action.render_manifests import parse_objects


def test_documents_become_objects_and_empty_ones_are_dropped():
    text = "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: user01}\n---\n# only a comment\n---\n"
    assert parse_objects(text, "namespace.yaml.j2") == [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "user01"}}
    ]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("kind: ConfigMap\ndata: {a: [1, 2}\n", "exporter.yaml.j2 did not render to valid YAML"),
        ("kind: Namespace\n---\n- a list\n", "exporter.yaml.j2: document 2 is not a Kubernetes object"),
        ("apiVersion: v1\nmetadata: {name: x}\n", "exporter.yaml.j2: document 1 is not a Kubernetes object"),
    ],
)
def test_anything_else_is_refused_naming_the_template_and_document(text, why):
    with pytest.raises(ValueError, match=why):
        parse_objects(text, "exporter.yaml.j2")
