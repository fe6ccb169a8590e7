# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What deploy.yml tells each student: which of their objects changed or failed, and which of
their Deployments did not become available.

The whole cohort is applied (or written) by one task, whose per-object results come back in
one list, students one after the other. These pure functions give each student back their
share, once for the play, so the per-student task that marks the play recap only reads a
ready answer (Jinja over the whole result list, per student, cost ~60 ms a student).
"""

from __future__ import annotations

from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.settings import compress
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.text import columns


def object_name(obj: dict) -> str:
    return f"{obj.get('kind', '?')}/{(obj.get('metadata') or {}).get('name', '?')}"


def deployment_ready(deployment: dict) -> bool:
    """kubernetes.core's own test (module_utils/k8s/waiter.py, what `k8s` with `wait: true`
    waits for): the controller has seen the current spec, and every replica it runs is available."""
    meta, spec, status = (deployment.get(k) or {} for k in ("metadata", "spec", "status"))
    return bool(
        status
        and spec.get("replicas", 1) == (status.get("replicas") or 0)
        and status.get("availableReplicas") == status.get("replicas")
        and status.get("observedGeneration") == meta.get("generation")
        and not status.get("unavailableReplicas")
    )


def unavailable(deployments: list[dict], namespaces) -> dict[str, list[str]]:
    """Per namespace (of those given), the names of its Deployments that are not ready yet."""
    wanted = set(namespaces)
    waiting: dict[str, set[str]] = {}
    for deployment in deployments:
        meta = deployment.get("metadata") or {}
        if meta.get("namespace") in wanted and not deployment_ready(deployment):
            waiting.setdefault(meta["namespace"], set()).add(meta.get("name", "?"))
    return {namespace: sorted(names) for namespace, names in waiting.items()}


def deploy_outcomes(
    students: dict[str, str],
    manifests: list[list[dict]],
    outcome: dict,
    deployments: list[dict] | None = None,
    wait_timeout: float | None = None,
    wait_error: str | None = None,
    removed: dict[str, list[dict]] | None = None,
) -> dict[str, dict]:
    """Each student's share of one apply (kubernetes.core.k8s with continue_on_error) or write.

    students: student name -> namespace, in the order their objects were given;
    manifests: each student's objects, same order; outcome: the registered result, with one
    entry per object under `result.results`, or without them when the module failed as a whole
    (then every object carries its `msg`); deployments: the cohort's Deployments after the
    wait, or None when there was no wait; wait_error: why the Deployments could not be listed
    (then nobody's can be said to be available, and every student fails with the reason);
    removed: student -> the objects of their set the render no longer contains ({name, error,
    diff?}), removed by the run (or, dry run, that would be).

    Returns student -> {objects, changed, errors, waiting, failed, message}.
    """
    if len(students) != len(manifests):
        raise ValueError(f"{len(students)} students but {len(manifests)} lists of objects")
    total = sum(len(objects) for objects in manifests)
    results = (outcome.get("result") or {}).get("results")
    if results is None:
        # No per-object results: the module failed as a whole (e.g. the API went away).
        message = outcome.get("msg") or "no answer from the module"
        results = [{"error": {"msg": message}}] * total
    elif len(results) != total:
        raise ValueError(f"{len(results)} results for {total} objects")
    waiting = unavailable(deployments, students.values()) if deployments is not None else {}

    answers, offset = {}, 0
    for (student, namespace), objects in zip(students.items(), manifests, strict=True):
        mine = results[offset : offset + len(objects)]
        offset += len(objects)
        pairs = list(zip((object_name(o) for o in objects), mine, strict=True))
        changed = [name for name, result in pairs if result.get("changed")]
        errors = [
            f"{name}: {(result.get('error') or {}).get('msg') or 'failed'}"
            for name, result in pairs
            if result.get("error") or result.get("failed")
        ]
        gone = (removed or {}).get(student) or []
        dropped = " (would be removed)" if outcome.get("dry_run") else " (removed)"
        changed += [f"{r['name']}{dropped}" for r in gone if not r.get("error")]
        errors += [f"{r['name']}: not removed: {r['error']}" for r in gone if r.get("error")]
        late = waiting.get(namespace, [])
        # --check: the server's dry run said what would change; nothing was applied.
        verb = (
            "would change (check mode: a server-side dry run, nothing applied)" if outcome.get("dry_run") else "changed"
        )
        counts = f"{student}: {len(objects)} objects, {len(changed)} {verb}"
        lines = [counts + (f": {', '.join(changed)}." if changed else ".")]
        if errors:
            lines.append(f"Failed: {'; '.join(errors)}. Rerun deploy.yml (--limit {student}) once fixed.")
        if wait_error:
            lines.append(
                f"{student}: could not check that the Deployments are available: {wait_error}."
                f" Run verify.yml --limit {student} once the API answers; rerun deploy.yml to heal."
            )
        if late:
            lines.append(
                f"{student}: {', '.join(late)} not available after {wait_timeout:g} s. Run verify.yml --limit {student}"
                " to see why (crash loop, OOM or liveness kill, image pull, quota); rerun deploy.yml to heal."
            )
        answers[student] = {
            "objects": len(objects),
            "changed": changed,
            "errors": errors,
            "waiting": late,
            "failed": bool(errors or late or wait_error),
            "dry_run": bool(outcome.get("dry_run")),
            "diffs": [r["diff"] for _obj, r in pairs if r.get("diff")] + [r["diff"] for r in gone if r.get("diff")],
            "removed": [r["name"] for r in gone if not r.get("error")],
            "message": "\n".join(lines),  # one line each: printed as a block, never folded
        }
    return answers


def summary_rows(
    students, records: dict, manifests: dict, accesses: dict, outcomes: dict, clusters: list[dict]
) -> list[list[str]]:
    """The deploy summary's table, its header first: every student of the run, one who failed
    too (marked FAILED, not left out, which would read as a smaller cohort that all went well),
    how many of their objects changed (or would, in check mode) and what became of their
    kubeconfig: the one place a cohort's run is read at the default verbosity (each student's
    object list is printed with -v). A cluster column when the run spans several clusters."""
    cluster_of = {s: c["name"] for c in clusters for s in c["students"]} if len(clusters) > 1 else {}
    rows = [["student", "namespace", *(["cluster"] * bool(cluster_of)), "objects", "result", "kubeconfig",
             "token expires", "Grafana"]]  # fmt: skip
    for student in sorted(students):
        record = records[student]
        issued = accesses.get(student) or {}
        outcome = outcomes.get(student) or {}
        failed = outcome.get("failed") or bool(issued.get("error"))
        action = issued.get("action") or "-"
        token = issued.get("token_expires") or ("NOT ISSUED" if action == "failed" else "-")
        reach = record["grafana_url"] if record.get("how_to_reach") == "browse to the URL" else record["how_to_reach"]
        cluster = [cluster_of.get(student, "")] * bool(cluster_of)
        changed = len(outcome.get("changed") or [])
        result = "FAILED" if failed else f"{changed} would change" if outcome.get("dry_run") else f"{changed} changed"
        objects = str(len(manifests[student]))
        rows.append([student, record["namespace"], *cluster, objects, result, action, token, reach])
    return rows


def clusters_deploy_outcomes(
    applied: list[dict], manifests: dict[str, list[dict]], waited: list[dict] | None = None, wait_timeout=None
) -> dict[str, dict]:
    """Each student's share of their cluster's apply and wait (outcomes.deploy_outcomes per
    cluster). ``applied``/``waited``: the apply's and the wait's loop results; ``waited`` None
    when there was no wait. A cluster whose apply or Deployment list failed as a whole fails
    its own students only, with its own message."""
    waits = {r["item"]["name"]: r for r in waited or []}
    answers: dict[str, dict] = {}
    for result in applied:
        cluster = result["item"]
        deployments, wait_error = None, None
        if waited is not None:
            wait = waits.get(cluster["name"]) or {}
            if wait.get("resources") is not None:
                deployments = wait["resources"]
            else:
                wait_error = wait.get("msg") or "no answer from the API"
        students = dict(zip(cluster["students"], cluster["namespaces"], strict=True))
        objects = [manifests[s] for s in cluster["students"]]
        removed = result.get("removed")
        answers.update(deploy_outcomes(students, objects, result, deployments, wait_timeout, wait_error, removed))
    return answers


def student_reports(outcomes: dict[str, dict], accesses: dict[str, dict]) -> dict[str, dict]:
    """What deploy says for each student, with the task's changed and failed: the objects' outcome
    (deploy_outcomes) and, beneath it, the kubeconfig's (student_access), decided together."""
    reports = {}
    for student, outcome in outcomes.items():
        access = accesses.get(student) or {}
        if access.get("why"):
            line = f"kubeconfig: {access['why']}."
        elif access.get("error"):
            line = f"kubeconfig not issued: {access['error']}."
        else:
            line = ""
        reports[student] = {
            "message": outcome["message"] + (f"\n{line}" if line else ""),
            "changed": bool(outcome["changed"]) or bool(access.get("changed")),
            "failed": bool(outcome["failed"]) or bool(access.get("error")),
        }
    return reports


def summary_text(params: dict, answers: dict, reports: dict, records: dict, manifests: dict, accesses: dict,
                 clusters: list[dict], restored: list[str]) -> list[str]:  # fmt: skip
    """The cohort's summary as printed after a deploy: the heading, the table (summary_rows), and
    what the instructor must know of the run's outputs. ``params``: the pipeline's (cohort, apply,
    check_mode, render_dir, cohort_dir, language, token ttls as given)."""
    failing = sorted(s for s, r in reports.items() if r["failed"])
    check = params["check_mode"]
    if params["apply"]:
        where = f"applied to {len(clusters)} clusters" if len(clusters) > 1 else "applied to the cluster"
    elif check:
        where = f"rendered (--check: not written to {params['render_dir']})"
    else:
        where = f"rendered to {params['render_dir']}"
    failed = f", {len(failing)} FAILED (their messages say why)" if failing else ""
    lines = [f"cohort {params['cohort']}: {len(answers)} students {where}{failed}"]
    rows = summary_rows(list(answers), records, manifests, accesses, answers, clusters if params["apply"] else [])
    lines += columns(rows).split("\n")
    removed: dict[str, list[str]] = {}
    for student, answer in sorted(answers.items()):
        if answer.get("removed"):
            removed.setdefault(", ".join(answer["removed"]), []).append(student)
    for what, students in removed.items():
        verb = "would remove" if check else "removed"
        lines.append(f"{compress(students)}: {verb} what the render no longer contains: {what}")
    if not params["apply"]:
        lines.append(
            "The API server's own check (a server-side dry run) was not made: render mode talks to no cluster. "
            f"kubectl apply --dry-run=server -R -f {params['render_dir']} makes it."
        )
    shortened = sorted(a["token_expires"] for a in accesses.values() if a.get("shortened"))
    if shortened:
        lines += [
            f"The API server granted shorter tokens than mlopslab_student_token_ttl ({params['token_ttl']}) asks for "
            f"(its --service-account-max-token-expiration): they expire from {shortened[0]}. Rerun deploy.yml before "
            "then; it renews tokens that expire within mlopslab_student_token_renew_before "
            f"({params['token_renew_before']}).",
        ]
    if restored:
        lines.append(
            f"{len(restored)} students' Grafana passwords were read back from their Secrets (the credentials folder "
            "did not have them: a new clone, another machine, an AWX job, or another run created them): the handouts "
            f"say what each Grafana holds. {', '.join(restored)}"
        )
    folder = params["cohort_dir"]
    if check:
        what = ", the handouts and the kubeconfigs" if params["apply"] else " and the handouts"
        lines.append(f"--check: nothing was written; without it the access sheet{what} go to {folder}")
    else:
        lines.append(f"access sheet: {folder}/access.csv (mode 0600; keep it out of chats and git)")
        kubeconfigs = f", kubeconfigs: {folder}/kubeconfigs/<student>.yaml" if params["apply"] else ""
        lines.append(f"handouts ({params['language']}): {folder}/handouts/<student>.md{kubeconfigs}")
    return lines
