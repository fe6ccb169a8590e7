"""Explaining pip's resolver failures, on pip's real output (fixtures/pip/, captured from
`pip install --dry-run --ignore-installed --report` runs of pip 23.2 against PyPI)."""

from pathlib import Path

import pytest

from plugins.module_utils.verify.requirements import explain, resolved

PIP = Path(__file__).parent / "fixtures" / "pip"


@pytest.mark.parametrize(
    ("fixture", "lines", "sentence"),
    [
        (
            "pydantic-conflict.txt",
            ["kfp==1.8.22", "pydantic==2.5.2"],
            "kfp 1.8.22 requires pydantic<2,>=1.8.2, but requirements.txt (line 2) pins pydantic==2.5.2.",
        ),
        (
            "kubernetes-conflict.txt",
            ["# pipeline", "kfp==1.8.22", "", "Kubernetes==26.1.0  # the client"],
            "kfp 1.8.22 requires kubernetes<26,>=8.0.0, but requirements.txt (line 4) pins kubernetes==26.1.0.",
        ),
        (
            "range-conflict.txt",
            ["pydantic>=2", "kfp==1.8.22"],
            "kfp 1.8.22 requires pydantic<2,>=1.8.2, but requirements.txt (line 1) asks for pydantic>=2.",
        ),
        (
            "invalid-requirement.txt",
            ["kfp 1.8.22"],
            "requirements.txt line 1: 'kfp 1.8.22' is not a requirement (write name==version, e.g. kfp==1.8.22).",
        ),
        (
            "no-such-package.txt",
            ["kfp==1.8.22", "not-a-real-package-mlopslab==1.0"],
            "requirements.txt: no release on the package index matches not-a-real-package-mlopslab==1.0 "
            "(check the name and version).",
        ),
    ],
)
def test_explain_names_both_sides(fixture, lines, sentence):
    assert explain((PIP / fixture).read_text(), "requirements.txt", lines) == sentence


def test_an_unknown_failure_falls_back_to_pips_last_error():
    output = "Collecting kfp==1.8.22\nERROR: Could not install packages due to an OSError: [Errno 28] No space left"
    assert explain(output, "r.txt", []) == (
        "r.txt: Could not install packages due to an OSError: [Errno 28] No space left"
    )


def test_resolved_reads_pips_report():
    report = {
        "version": "1",
        "pip_version": "23.2.1",
        "install": [
            {
                "download_info": {},
                "is_direct": False,
                "requested": True,
                "metadata": {"name": "kfp", "version": "1.8.22"},
            },
            {
                "download_info": {},
                "is_direct": False,
                "requested": False,
                "metadata": {"name": "absl-py", "version": "1.4.0"},
            },
        ],
        "environment": {"python_version": "3.11"},
    }
    assert resolved(report) == [{"name": "absl-py", "version": "1.4.0"}, {"name": "kfp", "version": "1.8.22"}]
