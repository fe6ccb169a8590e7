# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""deploy.yml's work, one pipeline in Python (the action deploy_cohort only wires Ansible to it):

  settings -> the clusters' preflight -> what the cluster holds -> render -> the programs' own
  checks -> capacity -> [render mode: write files] -> the server's dry run -> the hold (one run at
  a time) -> the passwords claimed -> files -> apply -> prune -> wait -> access -> each student's
  outcome and the tables.

One run is one transaction on a shared cluster: nothing is written (no file, no object) before
the server has dry-run what will be applied; each student is held by one run at a time (a Lease,
module_utils/deploy/lease.py); afterwards the cluster holds what was rendered and nothing else
(an ApplySet per student, module_utils/deploy/applyset.py); a Grafana password is created only
where none exists, and every handout says what the cluster holds after the run.

Every step that refuses the run raises Refused with the one message a person reads; nothing after
it runs. The controller's side (Ansible's templar and variables: settings, render, files) comes
in as ``controller``; the clusters' side is module_utils/deploy/cluster.py."""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import socket
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.mlopslab.monitoring.plugins.module_utils.access import held as held_secrets
from ansible_collections.mlopslab.monitoring.plugins.module_utils.access import sheet
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common import clusters as cluster_groups
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common import namespaces as ownership
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common import rights as rights_table
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.settings import compress
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.text import shown
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.waiter import wait
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy import (
    applyset,
    lease,
    outcomes,
    recount,
    shapes,
)
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy import capacity as fits
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy.apply import mine, object_diff
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy.cluster import WORKERS, Cluster, Hold
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy.errors import Refused, Unreachable

FIELD_MANAGER = "mlopslab"
MIN_KUBERNETES = (1, 25)  # Pod Security Admission, which enforces the namespaces' restricted profile
OPERATOR = "monitoring.coreos.com/v1"
NOTHING = "Nothing was changed."
TERMINATING_WAIT = 60  # seconds a namespace being deleted may take to go before deploy makes it anew


def _version(git_version: str) -> tuple[int, int] | None:
    digits = git_version.lstrip("v").split(".")
    try:
        return int(digits[0]), int("".join(ch for ch in digits[1] if ch.isdigit()))
    except (IndexError, ValueError):
        return None


def identity(stable: bool = False) -> tuple[str, str]:
    """(this run's holder identity, who it is in a person's words). ``stable``: the same for every
    task of one ansible-playbook run (its process), so one task takes a hold another lets go."""
    try:
        user = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # a uid with no name (a container's)
        user = os.environ.get("USER") or str(os.getuid())
    job = os.environ.get("JOB_ID")  # AWX and Automation Platform set it for a job's run
    # The task runs in a worker that ansible-playbook forked: its parent is the process a person
    # sees (and can stop); both end together.
    who = f"{user}@{socket.gethostname()} (pid {os.getppid()}{f', AWX job {job}' if job else ''})"
    return (who if stable else f"{who} run {secrets.token_hex(4)}"), who


class Deploy:
    """One deploy run. ``params``: the task's arguments (see the action deploy_cohort)."""

    def __init__(self, params: dict, controller, get_api_client, clock=time.time) -> None:
        self.p = params
        self.ctl = controller
        self.get_api_client = get_api_client
        self.clock = clock
        self.notes: list[str] = []  # printed before the summary: versions, warnings, capacity
        self.clusters: list[Cluster] = []
        self.namespaces: dict[str, str] = {}
        self.selector = f"{ownership.MANAGED_BY}={ownership.MANAGER},{ownership.COHORT}={params['cohort']}"
        self.capacity_readable = True
        self.existing: dict[str, set[str]] = {}  # cluster -> its namespaces' names
        self.terminating: dict[str, set[str]] = {}  # cluster -> its namespaces being deleted
        self.shapes: dict[str, list[str]] = {}  # dry-run representative -> the students of its shape
        self.created: list[str] = []  # namespaces this run created for the server's check
        self.adopted: list[str] = []  # students whose password another run created meanwhile
        self.corrected: list[str] = []  # students whose Secret changed during the run
        self.timings: dict[str, float] = {}  # step -> seconds (bench/deploy.py prints them)
        self.parent = os.getppid()  # ansible-playbook, whose worker runs this
        self.holds: list[Hold] = []  # this run's holds, one per cluster (let go when it ends)

    @contextlib.contextmanager
    def step(self, name: str):
        started = time.monotonic()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.monotonic() - started, 3)

    # ------------------------------------------------------------ the chain
    def run(self) -> dict:
        with self.step("settings"):
            settings = self.ctl.validate()
        self.namespaces = settings["namespaces"]
        self.inventory_namespaces = settings["inventory_namespaces"]
        apply = self.p["apply"]
        with self.step("preflight"):
            listed = self.preflight(settings["clusters"]) if apply else {}
            on_cluster = self.held() if apply else ({}, {})
        with self.step("render"):
            rendered = self.ctl.render(on_cluster, settings)
        manifests = rendered["manifests"]
        with self.step("program checks"):
            self.ctl.check(manifests)
        if apply and self.p["capacity_check"] != "skip" and self.capacity_readable:
            with self.step("capacity"):
                self.capacity(manifests)
        if not apply:
            with self.step("write"):
                return self.render_only(rendered)
        if self.p["check_mode"]:
            with self.step("dry run"):
                applied = self.applied(manifests, dry_run=True)
            return self.finish(rendered, applied, None, [], listed)
        holds = self.holds
        try:
            with self.step("server check"):
                self.server_check(manifests)
            with self.step("hold"):
                holds.extend(self.hold())
            with self.step("passwords"):
                self.claim(rendered)
                kept = self.ctl.keep(rendered["credentials"])
            self.guard(holds, "applying")
            with self.step("apply and prune"):
                applied = self.applied(manifests)
            with self.step("wait"):
                waited = self.waited() if self.p["wait"] else None
            self.guard(holds, "handing out access")
            with self.step("access"):
                issued = self.issue()
                self.read_back(rendered)
            return self.finish(rendered, applied, waited, issued, listed, kept)
        finally:
            with self.step("release"):
                for hold in holds:
                    hold.release()

    # ------------------------------------------------------------ the clusters' preflight
    def preflight(self, entries: list[dict]) -> dict[str, list[dict]]:
        """Connect to each cluster once; its version, the instructor's rights, whose namespaces
        exist. Refused at the first step any cluster fails, naming every cluster that did."""
        self.clusters = [Cluster(e) for e in entries]
        several = len(self.clusters) > 1
        unreachable, answers = [], {}
        for cluster in self.clusters:
            try:
                cluster.connect(self.get_api_client)
                answers[cluster.name] = cluster.version()
            except Unreachable as err:
                unreachable.append(self.unreachable(cluster, str(err)))
        if unreachable:
            raise Refused(
                "".join(unreachable) + "Point mlopslab_kubeconfig / mlopslab_context (or K8S_AUTH_KUBECONFIG) at the "
                f"course cluster, or render without a cluster: -e mlopslab_apply=false. {NOTHING}"
            )
        for cluster in self.clusters:
            git_version, apis = answers[cluster.name]
            which = f" {cluster.name}" if several else ""
            found = _version(git_version)
            if self.NEEDS_VERSION and (found is None or found < MIN_KUBERNETES):
                raise Refused(
                    f"The cluster{which} runs Kubernetes {git_version or 'of unknown version'}; mlopslab.monitoring "
                    f"needs {'.'.join(map(str, MIN_KUBERNETES))} or newer (Pod Security Admission, which enforces the "
                    f"namespaces' restricted profile). Upgrade the cluster or use another one. {NOTHING}"
                )
        self.rights()
        for cluster in self.clusters:
            git_version, apis = answers[cluster.name]
            operator = (
                "The ServiceMonitor CRD (Prometheus Operator) exists"
                if OPERATOR in apis
                else "No Prometheus Operator (no ServiceMonitor CRD)"
            )
            which = f"{cluster.name}: " if several else ""
            self.notes.append(
                f"{which}Kubernetes {git_version}. {operator}; each student's Prometheus uses a static scrape config "
                "either way."
            )
        return self.ownership()

    def unreachable(self, cluster: Cluster, why: str) -> str:
        default = os.environ.get("K8S_AUTH_KUBECONFIG") or "~/.kube/config"
        kubeconfig = cluster.entry.get("kubeconfig") or default
        context = cluster.entry.get("context") or "the current one"
        return f"Cannot reach the Kubernetes API (kubeconfig: {kubeconfig}, context: {context}): {why}.\n"

    VERB = "deploy"  # whose rights the preflight asks for
    NEEDS_VERSION = True  # refused below MIN_KUBERNETES

    def right_settings(self) -> dict:
        """The settings that change which rights the verb needs (rights.needed)."""
        return {"capacity": self.p["capacity_check"], "ingress": self.p["ingress"], "wait": self.p["wait"]}

    def rights(self) -> None:
        results = []
        for cluster in self.clusters:
            entry = {"item": cluster.entry}
            try:
                entry.update(cluster.rights(self.VERB, cluster.entry["namespaces"][0], **self.right_settings()))
            except Unreachable as err:
                entry["cluster_error"] = str(err)
            results.append(entry)
        verdict = rights_table.clusters_verdict(results, self.VERB)
        if verdict["refusal"]:
            raise Refused(verdict["refusal"])
        self.notes += [f"WARNING: {w}" for w in verdict["warnings"]]
        self.capacity_readable = verdict["capacity_readable"]

    def listed_namespaces(self) -> dict[str, list[dict]]:
        """Each cluster's namespaces (name, uid, labels, phase); refused when two groups of students
        reach one cluster."""
        listed = {}
        for cluster in self.clusters:
            try:
                listed[cluster.name] = cluster.namespaces()
            except Unreachable as err:
                raise Refused(self.unreachable(cluster, str(err)) + NOTHING) from err
        shared = cluster_groups.same_cluster_problems(
            [{"item": c.entry, "resources": listed[c.name]} for c in self.clusters]
        )
        if shared:
            raise Refused(f"{'. '.join(shared)}. {NOTHING}")
        return listed

    def ownership(self) -> dict[str, list[dict]]:
        """listed_namespaces, refused when a student's namespace is someone else's."""
        listed = self.listed_namespaces()
        refused = []
        several = len(self.clusters) > 1
        for cluster in self.clusters:
            targets = {ns: student for student, ns in cluster.students.items()}
            where = f" on {cluster.name}" if several else ""
            for r in ownership.namespace_plan(listed[cluster.name], self.p["cohort"], targets)["refuse"]:
                said = f"namespace {r['namespace']} already exists{where} and {r['why']}"
                refused.append(f"student {r['student']}: {said}. ")
        if refused:
            raise Refused(
                "".join(refused) + "mlopslab changes only what this cohort created: rename these students in the "
                f"inventory, or set mlopslab_namespace_prefix (e.g. {self.p['cohort']}-). {NOTHING}"
            )
        self.existing = {c.name: {n["metadata"]["name"] for n in listed[c.name]} for c in self.clusters}
        self.terminating = {
            c.name: {n["metadata"]["name"] for n in listed[c.name] if n["status"]["phase"] == "Terminating"}
            for c in self.clusters
        }
        return listed

    def held(self) -> tuple[dict, dict]:
        """The Grafana passwords the clusters hold (the source of truth), and the Secrets that give
        none; refused when one cannot be read (a new one would not be the one Grafana holds)."""
        results = []
        for cluster in self.clusters:
            try:
                passwords, errors, unusable = cluster.held(self.p["cohort"])
                results.append({"item": cluster.entry, "passwords": passwords, "errors": errors, "unusable": unusable})
            except Unreachable as err:
                results.append({"item": cluster.entry, "failed": True, "msg": str(err)})
        passwords, problems, unusable = held_secrets.combine(results)
        if problems:
            raise Refused(
                "Nothing was written or applied: Grafana passwords already on the cluster could not be read back, and "
                f"a new one would not be the one Grafana holds. {'; '.join(problems)}. The instructor needs get on "
                "secrets in the students' namespaces (the shipped ClusterRole mlopslab-instructor grants it)."
            )
        return passwords, unusable

    def capacity(self, manifests: dict) -> None:
        """The cohort's pods as rendered against what each cluster's schedulable nodes have free;
        only what the scheduler counts of other tenants' pods is read (capacity.pod_usage)."""
        nodes, pods = [], []
        for cluster in self.clusters:
            try:
                found_nodes, found_pods = cluster.capacity_inputs()
            except Unreachable as err:
                raise Refused(self.unreachable(cluster, str(err)) + NOTHING) from err
            nodes.append({"item": cluster.entry, "resources": found_nodes})
            pods.append({"item": cluster.entry, "resources": found_pods})
        report = fits.capacity(nodes, pods, manifests)
        self.notes += report["table"]
        if report["fits"]:
            return
        verdict = (
            f"{report['verdict']} Free capacity (another course's pods, a larger node pool) or lower the *_cpu_request "
            "/ *_memory_request settings, deploy fewer students (--limit), or set mlopslab_capacity_check=warn to go "
            f"on anyway. {NOTHING}"
        )
        if self.p["capacity_check"] == "fail":
            raise Refused(verdict)
        going_on = verdict.replace(f" {NOTHING}", " Going on: pods that do not fit stay Pending.")
        self.notes.append(f"WARNING (mlopslab_capacity_check=warn): {going_on}")

    # ------------------------------------------------------------ before anything is written
    def members(self, manifests: dict, student: str) -> list[dict]:
        return applyset.members(manifests[student], self.namespaces[student])

    def server_check(self, manifests: dict) -> None:
        """The server's dry run of what will be applied, one student per shape (shapes.py), before
        anything is written. A representative whose namespace does not exist yet has it created
        first (its Namespace dry-run before): the server dry-runs nothing in a namespace it does
        not have. Then every other new namespace is created, for the holds."""
        refused: dict[str, list[tuple[dict, str]]] = {}
        for cluster in self.clusters:
            mine = {s: manifests[s] for s in cluster.students}
            existing = self.existing[cluster.name]
            reps = shapes.representatives(mine, self.namespaces, prefer=lambda s, e=existing: self.namespaces[s] in e)
            self.shapes.update(reps)
            for student in reps:
                found = self.create_namespace(cluster, manifests[student])
                if not found:
                    rest = [o for o in self.members(manifests, student) if o.get("kind") != "Namespace"]
                    found = shapes.without_unborn_roles(cluster.dry_run(rest, FIELD_MANAGER), rest)
                    as_results = [{"failed": True, "error": {"msg": why}} for _obj, why in found]
                    if found and self.recounted(cluster, recount.refusals(as_results, [o for o, _w in found]), rest):
                        found = shapes.without_unborn_roles(cluster.dry_run(rest, FIELD_MANAGER), rest)
                if found:
                    refused[student] = found
        if refused:
            lines = shapes.refusal_lines(refused, self.shapes, compress)
            raise Refused(
                f"The API server refuses what deploy would apply (its dry run, dryRun=All); nothing was written or "
                f"applied{self.remove_created()}:" + "".join(f"\n  - {line}" for line in lines)
            )
        for cluster in self.clusters:
            with ThreadPoolExecutor(max_workers=WORKERS) as pool:
                made = pool.map(lambda s, c=cluster: (s, self.create_namespace(c, manifests[s])), cluster.students)
                for student, found in made:
                    if found:  # the dry run passed for its shape: this is the server refusing now
                        obj, why = found[0]
                        raise Refused(f"{student}: cannot create namespace {obj['metadata']['name']}: {why}. {NOTHING}")

    def create_namespace(self, cluster: Cluster, objects: list[dict]) -> list[tuple[dict, str]]:
        """Create the student's Namespace if it does not exist, its dry run first: the refusals."""
        namespace = next(o for o in objects if o.get("kind") == "Namespace")
        name = namespace["metadata"]["name"]
        if name in self.terminating.get(cluster.name, ()):
            # Being deleted (a teardown, or a check refused a moment ago): nothing can be created in
            # it until it is gone, and then it is made anew.
            if not cluster.gone(f"/api/v1/namespaces/{name}", TERMINATING_WAIT):
                return [(namespace, f"namespace {name} is still being deleted after {TERMINATING_WAIT} s")]
            self.terminating[cluster.name].discard(name)
            self.existing[cluster.name].discard(name)
        if name in self.existing[cluster.name]:
            return []
        for dry in (True, False):
            status, answer = cluster.create(namespace, dry_run=dry)
            if status >= 300 and status != 409:
                return [(namespace, answer.get("message") or f"HTTP {status}")]
        self.existing[cluster.name].add(name)
        self.created.append(name)
        return []

    def remove_created(self) -> str:
        """Delete the namespaces this run created for the server's check, now that it refused: the
        run leaves nothing behind. What could not be deleted is said."""
        left = []
        for cluster in self.clusters:
            for name in [n for n in self.created if n in cluster.students.values()]:
                namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
                try:
                    why = cluster.delete(namespace)
                except Unreachable as err:
                    why = str(err)
                if why:
                    left.append(f"{name} ({why})")
        return f" (the empty namespaces made for the check could not be removed: {', '.join(left)})" if left else ""

    def hold(self, skip_missing: bool = False, only: set[str] | None = None) -> list[Hold]:
        """Each student of this run held by this run alone (a Lease per student, in namespace
        order); refused, naming the holder, when another live run holds one. ``skip_missing``: a
        student whose namespace does not exist has nothing to hold (access, teardown); ``only``:
        these namespaces only (teardown: those it deletes)."""
        ident, who = identity()
        holds = []
        for cluster in self.clusters:
            labels = {ownership.MANAGED_BY: ownership.MANAGER, ownership.COHORT: self.p["cohort"]}
            hold = Hold(cluster, ident, who, lambda _ns, labels=labels: labels, clock=self.clock)
            try:
                refused = hold.take(self.p["lock_takeover"], skip_missing=skip_missing, only=only)
            except Unreachable as err:
                for taken in holds:
                    taken.release()
                raise Refused(f"{err}. {NOTHING}") from err
            if refused:
                for taken in holds:
                    taken.release()
                by_ns = {ns: s for s, ns in cluster.students.items()}
                holders = {by_ns[ns]: taken for ns, taken in refused.items()}
                raise Refused(lease.refusal(self.p["cohort"], holders, self.clock(), compress))
            hold.start()
            holds.append(hold)
        return holds

    def unreleased(self) -> list[str]:
        """Warnings for holds that could not be let go (they expire on their own), once the run ended."""
        found = {ns: why for hold in self.holds for ns, why in hold.unreleased.items()}
        if not found:
            return []
        named = "; ".join(f"{ns} ({why})" for ns, why in sorted(found.items()))
        return [f"could not let go of the hold on {named}: another run over these students is refused until it "
                f"expires, {lease.DURATION} s after this run's last renewal"]  # fmt: skip

    def guard(self, holds: list[Hold], step: str) -> None:
        """Stop before the next write when another run took a hold over (mlopslab_lock_takeover):
        each hold read now, not at the renewing thread's last round."""
        if os.getppid() != self.parent:
            # ansible-playbook was stopped (AWX cancels a job so; a terminal closed): its workers
            # live in sessions of their own and are not stopped with it. Nobody is waiting for
            # this run any more: it stops here, and lets its students go.
            raise Refused(f"ansible-playbook (pid {self.parent}) has ended; this run stopped before {step}.")
        for hold in holds:
            hold.check()
        lost = {ns: who for hold in holds for ns, who in hold.lost.items()}
        if lost:
            named = "; ".join(f"{ns} by {who}" for ns, who in sorted(lost.items()))
            raise Refused(f"This run's hold was taken over ({named}); it stopped before {step}. The run that took "
                          "it over does the rest.")  # fmt: skip

    def claim(self, rendered: dict) -> None:
        """A Grafana password is created only where none exists: a Secret for a new (or kept)
        password is created, never applied over another run's. When one appeared meanwhile, its
        password is the one handed out."""
        for cluster in self.clusters:
            new = [s for s in cluster.students if rendered["credentials"][s]["source"] in ("new", "kept")]

            def create(student, cluster=cluster):
                members = self.members(rendered["manifests"], student)
                return cluster.create(next(o for o in members if held_secrets.is_password(o)))

            with ThreadPoolExecutor(max_workers=WORKERS) as pool:
                created = dict(zip(new, pool.map(create, new), strict=True))
            for student, answered in created.items():
                status, answer = answered
                if status == 409:
                    status, answer = cluster.call("GET", f"/api/v1/namespaces/{self.namespaces[student]}/secrets/"
                                                  f"{held_secrets.SECRET}")  # fmt: skip
                    if status == 200:
                        # A Secret that gives no password (ValueError): the kept one is applied over it.
                        with contextlib.suppress(ValueError):
                            self.adopt(rendered, student, held_secrets.held_password(answer, self.p["cohort"]))
                        continue
                if status >= 300:
                    why = answer.get("message") or f"HTTP {status}"
                    raise Refused(f"{student}: cannot create Secret {held_secrets.SECRET}: {why}. {NOTHING}")

    def adopt(self, rendered: dict, student: str, password: str) -> None:
        """Hand out the password the cluster holds: the record, the credential and the Secret as
        applied all carry it."""
        credential = rendered["credentials"][student]
        if credential["password"] == password:
            return
        credential.update(password=password, source="cluster", in_file=False)
        held_secrets.with_password(rendered["manifests"][student], rendered["records"][student], password)
        self.adopted.append(student)

    # ------------------------------------------------------------ apply, prune, wait
    def parent_labels(self, objects: list[dict]) -> dict:
        namespace = next(o for o in objects if o.get("kind") == "Namespace")
        labels = (namespace.get("metadata") or {}).get("labels") or {}
        kept = {k: v for k, v in labels.items() if k.startswith(("app.kubernetes.io/", "mlopslab.io/"))}
        return {**kept, "app.kubernetes.io/component": "applyset"}

    def applied(self, manifests: dict, dry_run: bool = False) -> list[dict]:
        """Each cluster's apply (or, dry_run, the server's dry run of it): one label-selected list
        per kind of what the cohort has there (each set's members and parent among it); the
        students whose objects would not change left out (applyset.unchanged); the others' objects
        applied, then what the render no longer contains removed (or named), then each applied
        set's parent: the kinds it spans and, when the apply was complete, its digest. Results in
        the shape outcomes.clusters_deploy_outcomes reads."""
        answers = []
        for cluster in self.clusters:
            try:
                live, listed, errors = cluster.members(set(applyset.LAB_KINDS), self.selector)
                by_key = {applyset.key(o): o for o in live}
                parents = {
                    o["metadata"]["namespace"]: o
                    for o in live
                    if o["kind"] == "Secret" and applyset.ID_LABEL in (o["metadata"].get("labels") or {})
                }
                sent = {s: self.members(manifests, s) for s in cluster.students}
                same = {
                    s for s, objects in sent.items()
                    if applyset.unchanged(objects, by_key, parents.get(cluster.students[s]), self.owned)
                }  # fmt: skip
                definitions = [o for s in cluster.students if s not in same for o in sent[s]]
                applied = iter(cluster.apply(definitions, FIELD_MANAGER, [self.selector], dry_run, self.p["diff"],
                                             (live, listed)))  # fmt: skip
                results = [self.untouched(o) if s in same else next(applied) for s in cluster.students for o in sent[s]]
                if not dry_run:
                    results = self.recount(cluster, [o for s in cluster.students for o in sent[s]], results)
                removed, complete = self.prune(cluster, manifests, results, live, errors, dry_run)
                if not dry_run:
                    self.record(cluster, sent, same, parents, complete, (live, listed))
                answer = {"item": cluster.entry, "result": {"results": results}, "removed": removed}
            except Unreachable as err:
                answer = {"item": cluster.entry, "failed": True, "msg": str(err)}
            answers.append({**answer, "dry_run": dry_run})
        return answers

    RECOUNT_WAIT = 20  # seconds for the quota controller to count what exists

    def recount(self, cluster: Cluster, objects: list[dict], results: list[dict]) -> list[dict]:
        """Objects the lab's own quota refused as exceeded (recount.py): the quota's count
        corrected, then those objects applied once more. What still fails is said as before."""
        found = self.recounted(cluster, recount.refusals(results, objects), objects)
        if not found:
            return results
        again = sorted(i for entry in found.values() for i in entry["indexes"])
        retried = cluster.apply([objects[i] for i in again], FIELD_MANAGER, [self.selector], False, self.p["diff"])
        results = list(results)
        for index, result in zip(again, retried, strict=True):
            results[index] = result
        return results

    def recounted(self, cluster: Cluster, found: dict, objects: list[dict]) -> dict:
        """Each namespace whose own quota (the one rendered there) refused objects as exceeded:
        its count corrected. Returns those namespaces (none when the API did not answer: the
        refusals then stand, said as they are)."""
        mine = {o["metadata"]["namespace"]: o["metadata"]["name"] for o in objects if o.get("kind") == "ResourceQuota"}
        found = {ns: entry for ns, entry in found.items() if mine.get(ns) == entry["quota"]}
        try:
            for namespace, entry in found.items():
                self.recount_quota(cluster, namespace, entry["quota"], entry["resources"])
        except Unreachable:
            return {}
        if found:
            self.notes.append(
                f"The quota of {', '.join(sorted(found))} counted more than exists (requests cut off mid-way, as when "
                "a run is killed mid-apply): recounted, and what it refused tried again."
            )
        return found

    def recount_quota(self, cluster: Cluster, namespace: str, quota: str, resources: set[str]) -> None:
        """The quota controller made to count what exists: the quota's hard list changed (a key of
        this collection's set, then removed), waiting until its count is no more than exists."""
        path = f"/api/v1/namespaces/{namespace}/resourcequotas/{quota}"
        counted = {}
        for resource in resources:
            status, answer = cluster.call("GET", f"/api/v1/namespaces/{namespace}/{resource}")
            counted[resource] = len(answer.get("items") or []) if status < 300 else 0
        for value in ("1000000", None):  # set, then remove: each a change of the hard list
            patch = {"spec": {"hard": {recount.RECOUNT_KEY: value}}}
            cluster.call("PATCH", path, {"fieldManager": "mlopslab-recount"}, patch, "application/merge-patch+json")
            if value is None:
                return
            deadline = time.monotonic() + self.RECOUNT_WAIT
            while time.monotonic() < deadline and not recount.recounted(cluster.get(path), resources, counted):
                time.sleep(0.5)

    @staticmethod
    def owned(metadata: dict) -> bool:
        return mine(metadata, FIELD_MANAGER) is not None

    @staticmethod
    def untouched(obj: dict) -> dict:
        """An object left out of the apply: it holds what the render sets already."""
        meta = obj.get("metadata") or {}
        return {"kind": obj.get("kind"), "name": meta.get("name"), "namespace": meta.get("namespace"),
                "method": "unchanged", "changed": False}  # fmt: skip

    def record(self, cluster: Cluster, sent: dict, same: set, parents: dict, complete: set, listed) -> None:
        """Each applied student's set parent: the kinds its members span (with what it spanned
        before, unless pruned whole) and, after a complete apply and prune, the digest of what was
        sent (the next run leaves an unchanged student out)."""
        out = []
        for student, namespace in cluster.students.items():
            if student in same:
                continue
            whole = namespace in complete
            contains = applyset.kinds(sent[student], namespace)
            if not whole:
                contains |= applyset.recorded_kinds(parents.get(namespace))
            labels = self.parent_labels(sent[student])
            out.append(applyset.parent(namespace, labels, contains, applyset.digest(sent[student]) if whole else ""))
        cluster.apply(out, FIELD_MANAGER, [self.selector], False, False, listed)

    def prune(self, cluster: Cluster, manifests: dict, results: list[dict], live: list[dict], errors: list[str],
              dry_run: bool) -> tuple[dict[str, list[dict]], set[str]]:  # fmt: skip
        """Per student of this run whose objects all applied: the members of their set that the
        render no longer contains, removed (or, dry_run, named); and the namespaces whose set is
        now exactly what was rendered. Nobody else's set is touched."""
        failed, offset = set(), 0
        for student in cluster.students:
            count = len(manifests[student])
            if any(r.get("failed") for r in results[offset : offset + count]):
                failed.add(student)
            offset += count
        removed: dict[str, list[dict]] = {}
        complete: set[str] = set()
        for student, namespace in cluster.students.items():
            removed[student] = []
            if student in failed:
                continue  # a set half-applied keeps its members until a run applies it whole
            if errors:
                why = f"could not check what the render no longer contains ({'; '.join(errors)})"
                removed[student].append({"name": "objects", "error": why})
                continue
            for obj in applyset.to_prune(live, self.members(manifests, student), namespace, self.p["cohort"]):
                why = "" if dry_run else cluster.delete(obj)
                entry = {"name": outcomes.object_name(obj), "error": why}
                if self.p["diff"] and not why:
                    entry["diff"] = object_diff(obj, None)
                removed[student].append(entry)
            if not any(r["error"] for r in removed[student]):
                complete.add(namespace)
        return removed, complete

    def waited(self) -> list[dict]:
        """One deadline for every cluster, one label-selected list per cluster and round."""
        by_name = {c.name: c for c in self.clusters}
        query = {"labelSelector": self.selector}

        def list_objects(entry):
            return by_name[entry["name"]].list_json("/apis/apps/v1/deployments", query)

        def done(objects, namespaces):
            return not outcomes.unavailable(objects, namespaces)

        return wait([c.entry for c in self.clusters], list_objects, done, self.p["wait_timeout"], 5)["results"]

    # ------------------------------------------------------------ access
    def issue(self, state: str = "present") -> list[dict]:
        """Each student's kubeconfig (a TokenRequest, kept while valid), per cluster."""
        from ansible_collections.mlopslab.monitoring.plugins.module_utils.access.issue import (  # noqa: PLC0415
            issue_all,
        )

        answers = []
        for cluster in self.clusters:
            params = {
                "students": cluster.students,
                "dest": os.path.join(self.p["cohort_dir"], "kubeconfigs"),
                "token_seconds": self.p["token_seconds"],
                "renew_before_seconds": self.p["renew_before_seconds"],
                "api_server": cluster.entry.get("api_server") or "",
                "state": state,
                "service_account": "student",
            }
            try:
                answers.append({"item": cluster.entry, "students": issue_all(params, cluster.svc.client.client,
                                                                             cluster.kube)})  # fmt: skip
            except (OSError, Unreachable) as err:
                answers.append({"item": cluster.entry, "failed": True, "msg": str(err)})
        return sheet.issued(answers)

    def read_back(self, rendered: dict) -> None:
        """What the handouts say is what the cluster holds after the run: each Secret read back
        (another run may have written one meanwhile, if it took the hold over)."""
        for cluster in self.clusters:
            try:
                passwords, _errors, _unusable = cluster.held(self.p["cohort"])
            except Unreachable:
                continue  # said by the students' failed steps already
            for student, password in passwords.items():
                if rendered["credentials"][student]["password"] != password:
                    self.adopt(rendered, student, password)
                    self.corrected.append(student)
        if self.corrected:
            self.ctl.keep({s: rendered["credentials"][s] for s in self.corrected})

    # ------------------------------------------------------------ outcomes and tables
    def render_only(self, rendered: dict) -> dict:
        manifests = rendered["manifests"]
        kept = self.ctl.keep(rendered["credentials"])
        _changed, results = self.ctl.write_manifests(manifests)
        students = {s: self.namespaces[s] for s in manifests}
        written = {"result": {"results": results}, "dry_run": self.p["check_mode"]}
        answers = outcomes.deploy_outcomes(students, [manifests[s] for s in students], written)
        return self.said(rendered, answers, [], {}, kept)

    def finish(self, rendered: dict, applied: list[dict], waited, issued: list[dict], listed: dict,
               kept: dict | None = None) -> dict:  # fmt: skip
        answers = outcomes.clusters_deploy_outcomes(applied, rendered["manifests"], waited, self.p["wait_timeout"])
        return self.said(rendered, answers, issued, listed, kept or {})

    def said(self, rendered: dict, answers: dict, issued: list[dict], listed: dict, kept: dict) -> dict:
        """Write the handouts and the sheet, then everything the playbook prints."""
        records = sheet.records(rendered["records"], issued, self.p["cohort_dir"], self.p["cohort"])
        self.ctl.remember()
        self.ctl.write_access(records)
        accesses = {r["student"]: r for r in issued}
        reports = outcomes.student_reports(answers, accesses)
        summary = outcomes.summary_text(
            self.p, answers, reports, {r["student"]: r for r in records}, rendered["manifests"], accesses,
            [c.entry for c in self.clusters], restored=sorted({*kept.get("restored", []), *self.adopted}),
        )  # fmt: skip
        summary += self.orphans(listed)
        diff = "\n".join(d for a in answers.values() for d in a.get("diffs") or [])
        as_block = self.p["yaml_results"]
        return {
            "students": reports,
            "notes": shown(self.notes, as_block) if self.notes else "",
            "summary": shown(summary, as_block),
            "diff": shown(diff, as_block) if self.p["diff"] and diff else "",
            "failed_students": sorted(s for s, r in reports.items() if r["failed"]),
            # The students whose line the play prints at the default verbosity: a short list the
            # per-student task tests (a lookup into the whole result per student cost ~1 s of 100).
            "reported": sorted(s for s, r in reports.items() if r["changed"] or r["failed"]),
            "timings": self.timings,
        }

    def orphans(self, listed: dict) -> list[str]:
        """Deploy never deletes a namespace: a student removed from the inventory keeps theirs until
        the instructor tears it down. Say which, on which cluster, and how."""
        lines = []
        several = len(self.clusters) > 1
        for cluster in self.clusters:
            plan = ownership.namespace_plan(listed.get(cluster.name) or [], self.p["cohort"], {},
                                            self.inventory_namespaces)  # fmt: skip
            gone = [o["namespace"] for o in plan["orphans"]]
            if not gone:
                continue
            where = f" on {cluster.name}" if several else ""
            sources = " -i ".join(self.p["inventory_sources"])
            lines.append(
                f"{len(gone)} namespaces of cohort {self.p['cohort']}{where} belong to no student of the inventory any "
                f"more: {', '.join(gone)}. Deploy leaves them alone. To remove them: ansible-playbook -i {sources} "
                f"playbooks/teardown.yml -e mlopslab_teardown_only={','.join(gone)} "
                f"-e mlopslab_teardown_confirm={self.p['cohort']}"
            )
        return lines
