"""A rerun renders only the students whose inputs changed (module_utils/deploy/render_cache.py):
what goes into a student's key, what keeps a student out of the cache, and the file."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import jinja2
import yaml
from jinja2 import meta

from plugins.module_utils.deploy import render_cache

ROOT = Path(__file__).parents[4]
# An expression of the collection's own (roles/_common/defaults/main.yml): the same text every run.
OURS = "{{ lookup('ansible.builtin.env', 'PWD', default=playbook_dir) }}/build"
STUDENT = {
    "inventory_hostname": "user01",
    "metrics_exporter_memory_limit": "96Mi",
    "mlopslab_build_dir": OURS,
    "_mlopslab_grafana_password": "s3cret",
    "groups": {"cohort": ["user01", "user02"]},
}


def key(variables, own=frozenset({OURS})):
    return render_cache.key("common", variables, own)


def test_the_same_inputs_give_the_same_key_and_any_change_another():
    assert key(STUDENT) is not None
    assert key(STUDENT) == key(dict(STUDENT))
    for name, value in (("metrics_exporter_memory_limit", "128Mi"), ("groups", {"cohort": ["user01"]}),
                        ("prometheus_retention", "2h")):  # fmt: skip
        assert key({**STUDENT, name: value}) != key(STUDENT), name
    assert render_cache.key("other common", STUDENT, frozenset({OURS})) != key(STUDENT)


def test_no_password_is_part_of_the_key():
    # Not even hashed: a weak given password could be guessed from it.
    for password in ({"_mlopslab_grafana_password": "other"}, {"grafana_admin_password": "given"}):
        assert key({**STUDENT, **password}) == key(STUDENT)


def test_what_changes_every_run_is_left_out():
    per_run = {"omit": "__omit_place_holder__1f3a", "role_uuid": "02fc0000-0001-98e4", "ansible_check_mode": True,
               "ansible_play_hosts": ["user01"], "hostvars": object()}  # fmt: skip
    assert key({**STUDENT, **per_run}) == key(STUDENT)


def test_a_users_expression_that_may_change_behind_its_text_is_never_remembered():
    for impure in ("{{ lookup('ansible.builtin.env', 'LAB_MEMORY') }}", "{{ query('ansible.builtin.file', 'x') }}",
                   "{{ now().year }}", "{{ 100 | random }}Mi", "{{ 'x' | password_hash }}",
                   "{{ ansible_play_hosts | length }}Mi", "{{ omit }}"):  # fmt: skip
        assert key({**STUDENT, "metrics_exporter_memory_limit": impure}) is None, impure
        assert key({**STUDENT, "nested": {"list": [impure]}}) is None, impure
    # The collection's own expression with a lookup, and a user's expression without one, are.
    assert key(STUDENT) is not None
    assert key({**STUDENT, "metrics_exporter_memory_limit": "{{ 48 * 2 }}Mi"}) is not None
    assert key(STUDENT, own=frozenset()) is None


def test_the_collections_digest_follows_every_file_it_holds(tmp_path):
    (tmp_path / "roles" / "lab" / "templates").mkdir(parents=True)
    (tmp_path / "exporter").mkdir()
    template = tmp_path / "roles" / "lab" / "templates" / "lab.yaml.j2"
    template.write_text("kind: ConfigMap\n")
    (tmp_path / "exporter" / "cli.py").write_text("print()\n")
    before = render_cache.collection_digest(str(tmp_path), "2.19.14")
    assert render_cache.collection_digest(str(tmp_path), "2.19.14") == before
    template.write_text("kind: Secret\n")
    assert render_cache.collection_digest(str(tmp_path), "2.19.14") != before
    template.write_text("kind: ConfigMap\n")
    (tmp_path / "exporter" / "config.py").write_text("")
    assert render_cache.collection_digest(str(tmp_path), "2.19.14") != before
    (tmp_path / "exporter" / "config.py").unlink()
    assert render_cache.collection_digest(str(tmp_path), "2.19.14") == before
    assert render_cache.collection_digest(str(tmp_path), "2.20.10") != before


def render(password: str) -> tuple[list[dict], dict]:
    """A student's render as render_cohort returns it: the password in the Secret (base64, as
    roles/grafana writes it) and in the access record."""
    encoded = base64.b64encode(password.encode()).decode()
    objects = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "user01"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "grafana-admin", "namespace": "user01"},
         "type": "Opaque", "data": {"admin-user": "YWRtaW4=", "admin-password": encoded}},
    ]  # fmt: skip
    return objects, {"student": "user01", "grafana_user": "admin", "grafana_password": password}


def test_no_password_is_remembered_and_the_runs_own_is_put_back():
    objects, record = render("Zq8pX2vT9mK4rW7yB3nL5cHd")
    kept = render_cache.entry("k1", objects, record, "Zq8pX2vT9mK4rW7yB3nL5cHd")
    text = json.dumps(kept)
    assert (
        kept["key"] == "k1"
        and "Zq8pX2vT9mK4rW7yB3nL5cHd" not in text
        and "WnE4cFgydlQ5bUs0clc3eUIzbkw1Y0hk" not in text
    )
    assert render_cache.recalled(kept, "Zq8pX2vT9mK4rW7yB3nL5cHd") == (objects, record)
    assert render_cache.recalled(kept, "another-password-of-24ch") == render("another-password-of-24ch")
    assert objects == render("Zq8pX2vT9mK4rW7yB3nL5cHd")[0]  # the render itself is left as it was


def test_a_render_that_shows_the_password_elsewhere_is_not_remembered():
    objects, record = render("Zq8pX2vT9mK4rW7yB3nL5cHd")
    objects.append(
        {"kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"ini": "password = Zq8pX2vT9mK4rW7yB3nL5cHd"}}
    )
    assert render_cache.entry("k1", objects, record, "Zq8pX2vT9mK4rW7yB3nL5cHd") is None
    # A given password that is also a word of the render (the Secret's admin-user, base64 "admin").
    assert render_cache.entry("k1", *render("admin"), "admin") is None


def test_the_file_is_private_and_a_foreign_or_broken_one_is_ignored(tmp_path):
    path = str(tmp_path / "credentials" / "fall26" / "render-cache.json")
    assert render_cache.load(path) == {}
    entries = {"user01": render_cache.entry("k1", *render("Zq8pX2vT9mK4rW7yB3nL5cHd"), "Zq8pX2vT9mK4rW7yB3nL5cHd"),
               "user02": {"key": "k2", "render": {"objects": [], "record": None}}}  # fmt: skip
    assert render_cache.save(path, entries) and not render_cache.save(path, entries)
    assert Path(path).stat().st_mode & 0o777 == 0o600
    assert render_cache.load(path) == entries
    assert render_cache.forget(path, ["user01", "user09"]) and render_cache.load(path) == {"user02": entries["user02"]}
    for text in ("not json", '{"format": 0, "students": {}}', "[]"):
        Path(path).write_text(text)
        assert render_cache.load(path) == {}


class _Any(dict):
    def get(self, name, default=None):
        return lambda value, *args, **kwargs: value


def _read_names(env: jinja2.Environment, text: str) -> set[str]:
    return meta.find_undeclared_variables(env.parse(text)) if "{" in text else set()


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_the_lab_roles_read_none_of_the_variables_left_out_of_the_key():
    """Every variable the four lab roles' templates, defaults and vars (and the access record)
    read, as Jinja parses them: none is one the key leaves out, but role_path, which only locates
    the collection's own files (the digest holds them)."""
    env = jinja2.Environment(extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"])
    env.filters, env.tests = _Any(), _Any()  # Ansible's filters and tests: only the names read matter here
    read: set[str] = set()
    for role in ("student_namespace", "metrics_exporter", "prometheus", "grafana"):
        for template in (ROOT / "roles" / role / "templates").glob("*.j2"):
            read |= _read_names(env, template.read_text())
        for part in (ROOT / "roles" / role).glob("*/main.yml"):
            if part.parent.name in ("defaults", "vars"):
                for text in _strings(yaml.safe_load(part.read_text()) or {}):
                    read |= _read_names(env, text)
    read |= _read_names(env, (ROOT / "roles" / "access" / "templates" / "record.yml.j2").read_text())
    assert {"mlopslab_labels", "metrics_exporter_port", "role_path"} <= read  # the parse found them
    assert read & render_cache.PER_RUN == {"role_path"}
