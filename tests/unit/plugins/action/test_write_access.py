"""The access role's templates (the handouts and the access sheet) rendered as write_access renders
them: Ansible's templar, the collection's filters, one access record per student."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from plugins.action.write_access import LANGUAGES
from plugins.module_utils.access.sheet import handout_values, read_sheet, sheet_rows

REPO = Path(__file__).resolve().parents[4]


def render(*cases) -> list:
    """The templates rendered by Ansible's templar with the collection's filters (a fresh
    interpreter: see tests/support/render_access.py)."""
    done = subprocess.run([sys.executable, "-m", "tests.support.render_access"], input=json.dumps(cases), cwd=REPO,
                          capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    return json.loads(done.stdout)


def handout(record, language="ko"):
    [text] = render({"template": f"handout.{language}.md.j2", "variables": handout_values(record)})
    return text


def sheet(records, previous=None, keep=()):
    [text] = render({"template": "access.csv.j2", "variables": {"rows": sheet_rows(records, previous, tuple(keep))}})
    return text


def record(**changes):
    base = {"student": "user01", "namespace": "user01", "cohort": "c", "kubeconfig": "/b/c/kubeconfigs/user01.yaml",
            "token_expires": "2027-03-21 17:04 UTC", "grafana_url": "http://localhost:3000/", "grafana_user": "admin",
            "grafana_password": "S3cr3tPassw0rdxyz",
            "how_to_reach": "kubectl -n user01 port-forward svc/grafana 3000:3000", "access": "issued",
            "model_versions": "v1.0, v2.0"}  # fmt: skip
    return {**base, **changes}


def test_one_handout_template_per_language():
    assert LANGUAGES == ("en", "ko")


def test_the_sheet_quotes_what_needs_quoting_and_keeps_students_outside_the_run():
    previous = sheet([{"student": "user09", "namespace": "user09", "grafana_password": "old"}])
    one = {"student": "user01", "namespace": "user01", "grafana_password": 'a,b"c', "how_to_reach": "x, y"}
    text = sheet([one], previous, keep=("user09",))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["student"] for r in rows] == ["user01", "user09"]
    assert rows[0]["grafana_password"] == 'a,b"c' and rows[0]["how_to_reach"] == "x, y"
    assert read_sheet(text)["user01"]["grafana_password"] == 'a,b"c'
    assert text.endswith("\n") and text.count("\n") == 3
    # A student who left the inventory (not in keep) drops out.
    assert "user09" not in sheet([one], previous, keep=())


def test_the_handout_carries_the_same_values_as_the_sheet():
    text = handout(record(), "ko")
    for value in ("user01.yaml", "2027-03-21 17:04 UTC", "S3cr3tPassw0rdxyz", "port-forward svc/grafana 3000:3000",
                  "port-forward svc/prometheus 9090:9090", "RESTARTS"):  # fmt: skip
        assert value in text
    assert text.startswith("# user01 모니터링 실습 안내")
    assert "export KUBECONFIG=$PWD/user01.yaml" in text
    assert text.count("```") % 2 == 0
    row = read_sheet(sheet([record(handout="/b/c/handouts/user01.md")]))["user01"]
    assert row["grafana_password"] in text and row["token_expires"] in text


def test_the_handout_in_english_and_without_a_kubeconfig():
    english = handout(record(), "en")
    assert english.startswith("# user01: your monitoring lab") and "S3cr3tPassw0rdxyz" in english
    rendered = handout(record(kubeconfig="", token_expires="", access="not issued"), "ko")
    assert "export KUBECONFIG" not in rendered and "아직 발급되지 않았습니다" in rendered
    revoked = handout(record(kubeconfig="", token_expires="revoked", access="revoked"), "ko")
    assert "회수되었습니다" in revoked


def test_with_an_ingress_grafana_needs_no_port_forward():
    text = handout(record(grafana_url="http://user01.lab.example.com/", how_to_reach="browse to the URL"))
    assert "port-forward svc/grafana" not in text and "http://user01.lab.example.com/" in text


def test_the_exercise_commands_line_up():
    block = handout(record()).split("## 3.", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    marks = {line.index("  # ") for line in block.splitlines()}
    assert len(marks) == 1, block


def test_times_in_a_handout_are_the_courses_the_sheets_utc():
    from plugins.module_utils.access.sheet import local_time  # noqa: PLC0415

    assert local_time("2027-03-21 17:04 UTC", "Asia/Seoul") == "2027-03-22 02:04 KST (Asia/Seoul)"
    assert local_time("2027-03-21 17:04 UTC", "UTC") == "2027-03-21 17:04 UTC"
    assert local_time("", "Asia/Seoul") == ""
    [text] = render({"template": "handout.ko.md.j2", "variables": handout_values(record(), "Asia/Seoul")})
    assert "토큰 만료: 2027-03-22 02:04 KST (Asia/Seoul)" in text


@pytest.mark.parametrize("language", ["ko", "en"])
def test_every_command_has_its_powershell_form(language):
    """PowerShell cannot run here (no registry these machines reach ships pwsh), so its forms are
    held to the bash ones as text: section 1's block line for line (the variable set the PowerShell
    way, on the same file), section 2's first line, and curl named curl.exe for items 3 and 4."""
    text = handout(record(), language)
    [bash] = re.findall(r"```bash\n(.*?)```", text.split("## 2.", 1)[0], re.S)
    [powershell] = re.findall(r"```powershell\n(.*?)```", text, re.S)
    assert bash.splitlines()[0] == "export KUBECONFIG=$PWD/user01.yaml"
    assert powershell.splitlines() == ['$env:KUBECONFIG = "$PWD\\user01.yaml"', *bash.splitlines()[1:]]
    assert '`$env:KUBECONFIG = "$PWD\\user01.yaml"`' in text.split("## 2.", 1)[1].split("## 3.", 1)[0]
    checklist = text.split("## 4.", 1)[1]
    assert checklist.count("curl -s") == 2 and "`curl.exe`" in checklist
