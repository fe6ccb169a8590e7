# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one per-student record the access sheet and the handouts are both written from (so they
can never disagree), the sheet itself and the handouts. Pure."""

from __future__ import annotations

import csv
import datetime
import io
import zoneinfo

from ansible_collections.mlopslab.monitoring.plugins.module_utils.common import layout

# The access sheet's columns, in order; one row per student.
COLUMNS = (
    "student",
    "namespace",
    "cluster",
    "kubeconfig",
    "token_expires",
    "grafana_url",
    "grafana_user",
    "grafana_password",
    "how_to_reach",
    "handout",
)


# ---------------------------------------------------------------- one record per student
def records(accesses: dict, results: list | None, folder: str, cohort: str) -> list[dict]:
    """The record of each student (student -> what deploy knows of their lab, in play order),
    with what student_access did (None: no cluster, so no kubeconfig): the sheet's row and the
    handout's values at once."""
    done = {r["student"]: r for r in results or ()}
    out = []
    for student, known in accesses.items():
        result = done.get(student) or {}
        out.append(
            {
                **{c: known.get(c, "") for c in COLUMNS},
                "student": student,
                "cohort": cohort,
                "cluster": result.get("cluster", ""),
                "kubeconfig": result.get("kubeconfig", ""),
                "token_expires": result.get("token_expires", "")
                or ("revoked" if result.get("action") == "revoked" else ""),
                "access": result.get("action", "not issued"),
                "handout": layout.handout(folder, student),
            }
        )
    return out


# ---------------------------------------------------------------- the access sheet
def sheet_rows(records: list[dict], previous: str | None = None, keep: tuple = ()) -> list[dict]:
    """The access sheet's rows, sorted by student: this run's records, and the rows of `previous`
    (the sheet on disk) whose student is in `keep` (students of the inventory not in this run,
    e.g. --limit), as they were."""
    rows = {}
    if previous:
        for row in csv.DictReader(io.StringIO(previous)):
            if row.get("student") in keep:
                rows[row["student"]] = dict(row)
    for record in records:
        rows[record["student"]] = {c: record.get(c, "") for c in COLUMNS}
    return [rows[student] for student in sorted(rows)]


def csv_row(columns: list[str], row: dict | None = None) -> str:
    """One CSV line (no line end): the column names, or `row`'s values in their order (a missing
    column empty). The csv module quotes what needs quoting."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(columns if row is None else [row.get(c, "") for c in columns])
    return out.getvalue()


def read_rows(text: str) -> tuple[list[str], list[dict]] | None:
    """(the sheet's columns, its rows), or None when it has no header."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        return None
    return list(reader.fieldnames), list(reader)


def read_sheet(text: str) -> dict[str, dict]:
    """The sheet's rows by namespace."""
    return {row["namespace"]: row for row in csv.DictReader(io.StringIO(text)) if row.get("namespace")}


# ---------------------------------------------------------------- the handout (templates/handout.<language>.md.j2)
def local_time(stamp: str, zone: str) -> str:
    """A time the sheet says in UTC ("2027-03-21 17:04 UTC"), in ``zone`` for a handout's reader:
    "2027-03-22 02:04 KST (Asia/Seoul)". Unparsable or empty: as it was."""
    try:
        moment = datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M UTC").replace(tzinfo=datetime.UTC)
    except (TypeError, ValueError):
        return stamp
    local = moment.astimezone(zoneinfo.ZoneInfo(zone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}" + ("" if zone == "UTC" else f" ({zone})")


def handout_values(record: dict, zone: str = "UTC") -> dict:
    """What a handout template reads: the student's access record (its times in ``zone``), the
    kubeconfig's file name, and whether Grafana is reached through an Ingress."""
    return {
        **record,
        "token_expires": local_time(record.get("token_expires") or "", zone),
        "kubeconfig_name": (record.get("kubeconfig") or "").rsplit("/", 1)[-1] or f"{record['student']}.yaml",
        "ingress": record.get("how_to_reach") == "browse to the URL",
        "model_versions": record.get("model_versions") or "",
    }


def issued(results: list[dict]) -> list[dict]:
    """student_access's answers over the clusters, one entry per student, each naming its cluster
    (the access sheet's column). A cluster whose call failed as a whole (its ServiceAccounts
    could not be listed) gives each of its students that failure as their own: a kubeconfig not
    issued is said per student, never left unsaid."""
    answers = []
    for result in results:
        cluster = result["item"]
        if result.get("students") is not None:
            answers += [{**answer, "cluster": cluster["name"]} for answer in result["students"]]
        elif not result.get("skipped"):
            why = f"{cluster['name']}: {result.get('msg') or 'no answer from student_access'}"
            answers += [
                {"student": student, "namespace": namespace, "cluster": cluster["name"], "kubeconfig": "",
                 "action": "failed", "why": "", "error": why, "changed": False, "token_expires": "", "shortened": False}
                for student, namespace in zip(cluster["students"], cluster["namespaces"], strict=True)
            ]  # fmt: skip
    return answers
