"""teardown's file work: the removed students' files archived, never over one there, and their
rows out of the access sheet (their passwords with them)."""

from __future__ import annotations

import os

from plugins.module_utils.access.sheet import csv_row, read_sheet
from plugins.module_utils.teardown.pipeline import archive_files, only_list, sheet_without

COLUMNS = ["student", "namespace", "grafana_password", "how_to_reach"]


def sheet(*rows: dict) -> str:
    return "".join(f"{csv_row(COLUMNS, row)}\n" for row in [None, *rows])


def test_the_sheet_loses_the_removed_students_rows_and_keeps_the_others_as_written():
    one = {"student": "user01", "namespace": "fall26-user01", "grafana_password": "p,1", "how_to_reach": 'a "b"\nc'}
    two = {"student": "user02", "namespace": "fall26-user02", "grafana_password": "p2", "how_to_reach": ""}
    kept = sheet_without(sheet(one, two), {"fall26-user01"})
    assert kept == sheet(two)
    assert "p,1" not in kept
    assert list(read_sheet(kept)) == ["fall26-user02"]
    assert sheet_without("", {"x"}) == ""


def test_files_are_archived_once_and_never_over_another(tmp_path):
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "user01-grafana-admin").write_text("new")
    (credentials / "user02-grafana-admin").write_text("two")
    archive = tmp_path / "archive" / "T"
    archive.mkdir(parents=True)
    (archive / "user01-grafana-admin").write_text("old")
    paths = [str(credentials / n) for n in ("user01-grafana-admin", "user02-grafana-admin", "absent")]
    moved = archive_files(paths, str(archive))
    assert moved == [str(archive / "user02-grafana-admin")]
    assert (archive / "user01-grafana-admin").read_text() == "old"  # not overwritten
    assert (credentials / "user01-grafana-admin").read_text() == "new"  # left where it was
    fresh = tmp_path / "archive" / "U"
    moved = archive_files([str(credentials / "user01-grafana-admin")], str(fresh))
    assert moved == [str(fresh / "user01-grafana-admin")]
    assert oct(os.stat(fresh).st_mode & 0o777) == "0o700"


def test_only_takes_a_list_or_the_command_lines_comma_separated_string():
    assert only_list("user07, user08,") == ["user07", "user08"]
    assert only_list(["user07", ""]) == ["user07"]
    assert only_list([]) == []
