# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""access.yml's work, one pipeline in Python (the action access_cohort wires Ansible to it):

  settings -> the clusters' preflight -> the Grafana passwords the cluster holds -> each student's
  record (the access role's template) -> the hold -> passwords kept -> revoke or renew the
  kubeconfigs -> what the cluster holds, read back -> the handouts and the access sheet -> each
  student's line.

The steps are deploy's (module_utils/deploy/pipeline.py), with the rights of access.yml and no lab
rendered or applied: the labs stay untouched. --check asks the cluster and says what would be
done; nothing is written."""

from __future__ import annotations

from ansible_collections.mlopslab.monitoring.plugins.module_utils.access import sheet
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.text import shown
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy.pipeline import Deploy


def student_line(student: str, access: dict) -> dict:
    """What access.yml says of one student, with the recap's changed and failed."""
    expires = f", expires {access['token_expires']}" if access.get("token_expires") else ""
    message = access.get("error") or f"kubeconfig {access.get('why')}{expires}."
    return {
        "message": f"{student}: {message}",
        "changed": bool(access.get("changed")),
        "failed": bool(access.get("error")),
    }


class Access(Deploy):
    """One access run. ``params``: the action access_cohort's (state: revoked or renewed)."""

    VERB = "access"

    def right_settings(self) -> dict:
        return {}

    def run(self) -> dict:
        with self.step("settings"):
            settings = self.ctl.validate()
        self.namespaces = settings["namespaces"]
        with self.step("preflight"):
            self.preflight(settings["clusters"])
            on_cluster = self.held()
        with self.step("records"):
            rendered = self.ctl.render(on_cluster, settings, roles=())
        if self.p["check_mode"]:
            students = ", ".join(self.namespaces)
            return self.answer({}, [f"--check: the kubeconfigs of {students} would be {self.p['state']}; nothing was "
                                    "changed."])  # fmt: skip
        holds = self.holds
        try:
            with self.step("hold"):
                holds.extend(self.hold(skip_missing=True))
            with self.step("passwords"):
                kept = self.ctl.keep(rendered["credentials"])
            self.guard(holds, "changing the kubeconfigs")
            with self.step("kubeconfigs"):
                issued = self.issue(self.p["state"])
                self.read_back(rendered)
            records = sheet.records(rendered["records"], issued, self.p["cohort_dir"], self.p["cohort"])
            self.ctl.write_access(records)
        finally:
            with self.step("release"):
                for hold in holds:
                    hold.release()
        restored = sorted({*kept.get("restored", []), *self.corrected})
        said = [f"{len(restored)} students' Grafana passwords were read back from their Secrets: the handouts say "
                f"what each Grafana holds. {', '.join(restored)}"] if restored else []  # fmt: skip
        return self.answer({a["student"]: student_line(a["student"], a) for a in issued}, said)

    def answer(self, students: dict, summary: list[str]) -> dict:
        as_block = self.p["yaml_results"]
        return {
            "students": students,
            "notes": shown(self.notes, as_block) if self.notes else "",
            "summary": shown(summary, as_block) if summary else "",
            "failed_students": sorted(s for s, r in students.items() if r["failed"]),
            "timings": self.timings,
        }
