# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""teardown.yml's work, one pipeline in Python (the action teardown_cohort wires Ansible to it):

  the confirmation -> the clusters' names -> the clusters' preflight (reach, rights, one group of
  students per cluster) -> the plan (plan.teardown_plan) -> [a dry run or --check ends here] -> the
  hold -> delete -> each removed student's files archived and their row out of the access sheet ->
  wait until the namespaces are gone -> each student's line (report.py).

The steps are deploy's (module_utils/deploy/pipeline.py) where they are the same: the same
connection, rights and hold. Only a namespace carrying this cohort's labels is ever deleted;
another's is listed as refused, not a reason to stop (the plan says so)."""

from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.mlopslab.monitoring.plugins.module_utils.access import sheet
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common import layout
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.private_files import (
    make_private_dirs,
    read_text,
    write_if_changed,
)
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.text import shown
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.waiter import wait
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy import render_cache
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy.cluster import WORKERS, Cluster
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy.errors import Refused, Unreachable
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy.pipeline import Deploy
from ansible_collections.mlopslab.monitoring.plugins.module_utils.teardown import plan as plans
from ansible_collections.mlopslab.monitoring.plugins.module_utils.teardown import report


def only_list(only) -> list[str]:
    """mlopslab_teardown_only as names: a list, or one comma-separated string (-e on the command line)."""
    if isinstance(only, str):
        only = only.split(",")
    return [n.strip() for n in only or [] if n and n.strip()]


def archive_files(paths: list[str], archive: str) -> list[str]:
    """Move each file into ``archive`` (made 0700), never over one there: the files moved."""
    moved = []
    for path in paths:
        target = os.path.join(archive, os.path.basename(path))
        if not os.path.isfile(path) or os.path.exists(target):
            continue
        make_private_dirs(archive)
        shutil.move(path, target)
        moved.append(target)
    return moved


def sheet_without(text: str, namespaces: set[str]) -> str:
    """The access sheet with the rows of these namespaces left out (their passwords with them)."""
    rows = sheet.read_rows(text)
    if rows is None:
        return text
    columns, kept = rows[0], [r for r in rows[1] if r.get("namespace") not in namespaces]
    return "".join(f"{sheet.csv_row(columns, row)}\n" for row in [None, *kept])


class Teardown(Deploy):
    """One teardown run. ``params``: the action teardown_cohort's (confirm, only, timeout,
    credentials_dir, whole_cohort)."""

    VERB = "teardown"
    NEEDS_VERSION = False  # deleting an old cluster's labs needs nothing 1.25 brought

    def right_settings(self) -> dict:
        return {}

    def ownership(self) -> dict[str, list[dict]]:
        """Each cluster's namespaces: another's is refused in the plan, not a reason to stop."""
        return self.listed_namespaces()

    def run(self) -> dict:
        p = self.p
        cohort = p["cohort"]
        if p["confirm"] and p["confirm"] != cohort:
            raise Refused(
                f"mlopslab_teardown_confirm {json.dumps(p['confirm'])} is not this cohort's name {json.dumps(cohort)}: "
                f"nothing was deleted. To delete, confirm with -e mlopslab_teardown_confirm={cohort} (leave it out "
                "for a dry run)."
            )
        confirmed = p["confirm"] == cohort and not p["check_mode"]
        with self.step("settings"):
            settings = self.ctl.validate()
        self.namespaces = settings["namespaces"]
        with self.step("preflight"):
            listed = self.preflight(settings["clusters"])
        only = only_list(p["only"])
        whole = not only and p["whole_cohort"]
        results = [{"item": c.entry, "resources": listed[c.name]} for c in self.clusters]
        plan = plans.teardown_plan(results, cohort, only, settings["inventory_namespaces"], whole)
        self.notes.append(report.plan_text(plan, cohort, confirmed, p["check_mode"]))
        outcome, archive = None, ""
        if confirmed and plan["delete"]:
            holds = self.holds
            try:
                with self.step("hold"):
                    holds.extend(self.hold(skip_missing=True, only=self.holdable(plan, listed)))
                self.guard(holds, "deleting")
                with self.step("delete"):
                    errors = self.delete(plan)
                with self.step("files"):
                    archive = self.put_away(plan, errors)
                with self.step("wait"):
                    outcome = self.waited_gone(plan, errors)
            finally:
                with self.step("release"):
                    for hold in holds:
                        hold.release()
        students = dict(zip(p["play_students"], (self.namespaces[s] for s in p["play_students"]), strict=True))
        said = report.teardown_report(plan, outcome, students, cohort, confirmed, p["timeout"], archive,
                                      p["check_mode"])  # fmt: skip
        as_block = p["yaml_results"]
        return {
            "students": said["students"],
            "notes": shown(self.notes, as_block),
            "closing": said["closing"],
            "failed_students": sorted(s for s, r in said["students"].items() if r["failed"]),
            "timings": self.timings,
        }

    @staticmethod
    def holdable(plan: dict, listed: dict[str, list[dict]]) -> set[str]:
        """The namespaces to delete that are not being deleted already (nothing can be created in
        one that is, not even a Lease; deleting it again changes nothing)."""
        terminating = {(e["metadata"]["name"]) for found in listed.values() for e in found
                       if (e.get("status") or {}).get("phase") == "Terminating"}  # fmt: skip
        return {e["namespace"] for e in plan["delete"]} - terminating

    def delete(self, plan: dict) -> dict[str, str]:
        """Delete each planned namespace (the namespace controller deletes what is in it), 8 at a
        time per cluster: namespace -> why, for those not deleted."""
        by_name = {c.name: c for c in self.clusters}
        errors = {}
        for entry in plan["clusters"]:
            cluster: Cluster = by_name[entry["name"]]

            def one(obj, cluster=cluster):
                try:
                    return obj["metadata"]["name"], cluster.delete(obj)
                except Unreachable as err:
                    return obj["metadata"]["name"], str(err)

            with ThreadPoolExecutor(max_workers=WORKERS) as pool:
                errors.update({ns: why for ns, why in pool.map(one, entry["delete_objects"]) if why})
        return errors

    def put_away(self, plan: dict, errors: dict[str, str]) -> str:
        """The deleted students' files moved to an archive (a student deleted by mistake gets the
        same password back when the file is moved back before the next deploy), and their rows out
        of the access sheet. A student whose namespace was not deleted keeps everything."""
        gone = [e for e in plan["delete"] if e["namespace"] not in errors]
        if not gone:
            return ""
        credentials = self.p["credentials_dir"]
        archive = os.path.join(credentials, "archive", time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self.clock())))
        paths = layout.student_files([e["student"] for e in gone], credentials, self.p["cohort_dir"])
        moved = archive_files(paths, archive)
        render_cache.forget(layout.render_cache(credentials), [e["student"] for e in gone])
        path = layout.sheet(self.p["cohort_dir"])
        text = read_text(path)
        if text is not None:
            # The sheet holds passwords: rewritten as every secret file is (atomic, 0600).
            write_if_changed(path, sheet_without(text, {e["namespace"] for e in gone}))
        return archive if moved else ""

    def waited_gone(self, plan: dict, errors: dict[str, str]) -> dict:
        """One deadline for every cluster; then per namespace what the delete and the wait said."""
        by_name = {c.name: c for c in self.clusters}
        query = {"labelSelector": self.selector}
        waiting = [{**e, "namespaces": [n for n in e["namespaces"] if n not in errors]} for e in plan["clusters"]]
        waiting = [e for e in waiting if e["namespaces"]]

        def list_objects(entry):
            return by_name[entry["name"]].list_json("/api/v1/namespaces", query)

        def done(objects, namespaces):
            return not plans.terminating(objects, namespaces)

        found = wait(waiting, list_objects, done, self.p["timeout"], 2)["results"] if waiting else []
        return plans.outcome(errors, found)
