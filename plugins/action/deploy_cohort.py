# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""deploy.yml's work in one task: the pipeline of module_utils/deploy/pipeline.py, wired to
Ansible here (each student's variables, the roles' templates, the controller's files).

The cluster work runs in this process, on the controller, as every task of deploy.yml does
(connection local): one client per cluster for the whole run, where a module per step cost a
Python process each (1-1.5 s: the interpreter, the client's import, the API's discovery), and a
process that lives as long as the run, so the run's hold on its students (a Lease) is renewed
until the last write. The Python that runs ansible-playbook must have the kubernetes client: when
it has not, the task says so, naming that Python."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from typing import ClassVar

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible_collections.mlopslab.monitoring.plugins.action.keep_credentials import keep
from ansible_collections.mlopslab.monitoring.plugins.action.render_cohort import ActionModule as RenderCohort
from ansible_collections.mlopslab.monitoring.plugins.action.validate_settings import ActionModule as ValidateSettings
from ansible_collections.mlopslab.monitoring.plugins.action.write_access import LANGUAGES, write_access
from ansible_collections.mlopslab.monitoring.plugins.action.write_manifests import write_all
from ansible_collections.mlopslab.monitoring.plugins.module_utils.access import tokens
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common import layout
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.private_files import keep_out_of_git
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy import render_cache
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy.errors import Refused
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy.pipeline import Deploy
from ansible_collections.mlopslab.monitoring.plugins.module_utils.deploy.rendered_checks import check_manifests

# The four lab roles, in apply order, and what is handed out (the access role's template).
LAB_ROLES = (
    {"name": "student_namespace", "template": "namespace.yaml.j2"},
    {"name": "metrics_exporter", "template": "exporter.yaml.j2"},
    {"name": "prometheus", "template": "prometheus.yaml.j2"},
    {"name": "grafana", "template": "grafana.yaml.j2"},
)
RECORDS = "record.yml.j2"

# What every verb's pipeline takes (deploy's and access's): the cohort, its folder, and the settings'
# values as given: validate_settings judges them (one message for every problem) before the pipeline
# reads them (Controller.validate).
PIPELINE_ARGS = {
    "cohort": {"type": "str", "required": True},
    "cohort_dir": {"type": "path", "required": True},
    "outputs": {"type": "dict", "default": {}},
    "lock_takeover": {"type": "raw", "default": False},
    "token_ttl": {"type": "raw", "default": "16w"},
    "token_renew_before": {"type": "raw", "default": "7d"},
    "language": {"type": "raw", "default": "ko"},
    "timezone": {"type": "raw", "default": ""},
    "inventory_students": {"type": "list", "elements": "str", "default": []},
    "yaml_results": {"type": "bool", "default": True},
}
ARGUMENT_SPEC = {
    **PIPELINE_ARGS,
    "apply": {"type": "raw", "default": True},
    "render_dir": {"type": "path", "required": True},
    "capacity_check": {"type": "raw", "default": "fail"},
    "wait": {"type": "raw", "default": True},
    "wait_timeout": {"type": "raw", "default": 300},
    "ingress": {"type": "bool", "default": False},
    "inventory_sources": {"type": "list", "elements": "str", "default": []},
}
KUBERNETES_MISSING = (
    "The Python that runs ansible-playbook ({python}) has no kubernetes client, which deploy uses to reach the "
    "cluster: install it into that Python ({python} -m pip install kubernetes), or run ansible-playbook from the "
    "virtualenv that has it, or render without a cluster: -e mlopslab_apply=false. Nothing was changed."
)


def plain(data):
    """Ansible's tagged strings and containers as plain Python data (YAML and JSON dumpers refuse
    the tagged ones): the pipeline works on what the API and the files will receive."""
    return json.loads(json.dumps(data))


def api_client_factory(**auth):
    """kubernetes.core's client (its connection options and K8S_AUTH_* variables), imported when a
    cluster is first reached: a render-only run needs no kubernetes client."""
    if importlib.util.find_spec("kubernetes") is None:
        raise Refused(KUBERNETES_MISSING.format(python=sys.executable))
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client  # noqa: PLC0415

    return get_api_client(**auth)


class Controller:
    """The pipeline's controller side: Ansible's variables, templates and files."""

    def __init__(self, action: ActionModule, task_vars: dict, params: dict) -> None:
        self.action = action
        self.task_vars = task_vars
        self.p = params
        self.check_mode = bool(action._task.check_mode)
        self.remembered: dict = {}  # student -> the render read from the last run (render_cache)
        self.to_remember: dict = {}  # student -> the render to remember

    def _sibling(self, cls):
        """Another action of this collection, run inside this task (its own task's variables)."""
        a = self.action
        return cls(a._task, a._connection, a._play_context, a._loader, a._templar, a._shared_loader_obj)

    def validate(self) -> dict:
        """Every setting judged; then the pipeline's parameters read as their types."""
        outputs = dict(self.p["outputs"])
        if not boolean(self.p.get("apply", True), strict=False):  # render mode writes the manifests too
            outputs["mlopslab_render_dir"] = self.p["render_dir"]
        # teardown renders nothing: its students are only named and grouped by cluster.
        clusters_only = bool(self.p.get("clusters_only"))
        found = self._sibling(ValidateSettings).validate(self.task_vars, None, clusters_only, outputs)
        if found.get("failed"):
            raise Refused(found["msg"])
        if self.p["language"] not in LANGUAGES:  # the handout templates there are
            raise Refused(f"mlopslab_handout_language {self.p['language']!r} is not one of {', '.join(LANGUAGES)}")
        self.p.update(
            apply=boolean(self.p.get("apply", True)),
            wait=boolean(self.p.get("wait", False)),
            lock_takeover=boolean(self.p["lock_takeover"]),
            wait_timeout=int(self.p.get("wait_timeout", 0)),
            capacity_check=str(self.p.get("capacity_check", "skip")),
            token_seconds=tokens.seconds(self.p["token_ttl"]),
            renew_before_seconds=tokens.seconds(self.p["token_renew_before"]),
        )
        return plain(found)

    def cache_path(self) -> str:
        return layout.render_cache(os.path.join(self.p["outputs"]["mlopslab_credentials_dir"], self.p["cohort"]))

    def render(self, on_cluster: tuple[dict, dict], settings: dict, roles=LAB_ROLES) -> dict:
        """The lab roles' objects (none for access) and each student's record; a student whose
        inputs are those of the last run's render is not rendered again (render_cache)."""
        # The roles' variables read the settings' answer as validate_settings registers it.
        given = {"__mlopslab_settings": settings}
        remembered = render_cache.load(self.cache_path()) if roles else None
        found = self._sibling(RenderCohort).render(self.task_vars, list(roles), RECORDS, on_cluster=on_cluster,
                                                   given=given, remembered=remembered)  # fmt: skip
        if found.get("failed"):
            raise Refused(found["msg"])
        rendered = plain(found)
        self.remembered = remembered or {}
        # What to remember, made now: later steps may adopt a password into the objects.
        # A student of the inventory left out of this run (--limit) keeps what was remembered, and
        # so does one whose render was recalled (the same key: the entry is the one read).
        others = set(self.p["inventory_students"]) - set(rendered["keys"])
        self.to_remember = {s: entry for s, entry in self.remembered.items() if s in others}
        for student, key in rendered.pop("keys").items():
            if key and (self.remembered.get(student) or {}).get("key") == key:
                self.to_remember[student] = self.remembered[student]
                continue
            remembered_now = key and render_cache.entry(key, rendered["manifests"][student],
                                                        rendered["records"].get(student),
                                                        rendered["credentials"][student]["password"])  # fmt: skip
            if remembered_now:
                self.to_remember[student] = remembered_now
        return rendered

    def remember(self) -> None:
        """This run's renders, for the next run (not in check mode: --check writes nothing; nor
        when they are the ones read)."""
        if self.to_remember and self.to_remember != self.remembered and not self.check_mode:
            render_cache.save(self.cache_path(), self.to_remember)

    def check(self, manifests: dict) -> None:
        found = check_manifests(manifests)
        if found.get("failed"):
            raise Refused(found["msg"])
        self.warnings = found.get("warnings") or []

    def keep(self, credentials: dict) -> dict:
        """The Grafana passwords kept; first, every output folder keeps itself out of git."""
        if not self.check_mode:
            for folder in {*self.p["outputs"].values(), *([self.p["render_dir"]] if not self.p.get("apply") else [])}:
                if folder:
                    keep_out_of_git(str(folder))
        try:
            return keep(credentials, self.check_mode)
        except AnsibleActionFail as err:
            raise Refused(str(err.message)) from err

    def write_manifests(self, manifests: dict) -> tuple[bool, list[dict]]:
        try:
            return write_all(self.p["render_dir"], manifests, self.check_mode)
        except AnsibleActionFail as err:
            raise Refused(str(err.message)) from err

    def write_access(self, records: list[dict]) -> None:
        keep_rows = [s for s in self.p["inventory_students"] if s not in {r["student"] for r in records}]
        found = write_access(self.action._templar, self.p["cohort_dir"], records, keep_rows, self.p["language"],
                             self.check_mode, self.p.get("timezone") or "")  # fmt: skip
        if found.get("failed"):
            raise Refused(found["msg"])


class PipelineAction(ActionBase):
    """A verb's one task: its pipeline (PIPELINE) run over the task's arguments (ARGUMENT_SPEC),
    a refusal made the task's failure. Deploy's, access's and teardown's actions are this."""

    TRANSFERS_FILES = False
    _requires_connection = False
    ARGUMENT_SPEC: ClassVar[dict] = {}
    PIPELINE = None

    def params(self, args: dict, task_vars: dict) -> dict:
        """The pipeline's parameters: the arguments, and what the task itself says."""
        return {**args, "check_mode": bool(self._task.check_mode), "diff": bool(task_vars.get("ansible_diff_mode"))}

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        params = self.params(args, task_vars)
        controller = Controller(self, task_vars, params)
        pipeline = self.PIPELINE(params, controller, api_client_factory)
        try:
            said = pipeline.run()
        except Refused as refused:  # the one place a refusal becomes the task's failure
            return {**result, "failed": True, "changed": False, "msg": str(refused)}
        warnings = getattr(controller, "warnings", []) + pipeline.unreleased()
        result.update(changed=False, **said)
        if warnings:
            result["warnings"] = warnings
        # Messages, tables and per-student lines only: no password, no token, nothing of another
        # namespace (the pipeline keeps those inside), so the result may be registered and logged.
        result["_ansible_no_log"] = False
        return result


class ActionModule(PipelineAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    PIPELINE = Deploy
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)
