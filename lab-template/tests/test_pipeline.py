"""The pipeline compiles with the pinned kfp: what breaks first when pins conflict."""

import yaml
from kfp import compiler
from pipeline import pipeline


def test_pipeline_compiles(tmp_path):
    out = tmp_path / "pipeline.yaml"
    compiler.Compiler().compile(pipeline, str(out))
    workflow = yaml.safe_load(out.read_text())
    assert workflow["kind"] == "Workflow"
    assert any(t["name"] == "train" for t in workflow["spec"]["templates"])
