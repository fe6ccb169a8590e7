# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A rerun renders only the students whose inputs changed.

Rendering the four lab roles costs ~40 ms a student in Ansible's templar (100 students: 4 of the
10 s a rerun may take). What a student's objects are follows from what goes into the render: the
collection's own files (templates, role defaults and vars, the exporter's source), the templar's
version, and that student's variables as Ansible merged them (inventory, play vars, -e, the
settings' answer, the Grafana password decided for this run). So the render of a student whose
inputs hash as they did last time is the one it made then, and is taken from there.

The key holds only what can be read as text. A value that may change while its text does not is
not cached: a user's expression with a lookup or query (a file, an environment variable), a random
or time value, or the run's own variables (the play's hosts, --limit, check mode); that student is
rendered anew every run. The collection's own expressions are the same text in every run, and
what their lookups read (the exporter's files, the dashboard) is in the collection's digest.

No password is remembered, nor anything made from one. The render carries the student's Grafana
password in two places, the Secret and the access record (a test renders two passwords and finds
no other difference): both are taken out before it is remembered and set from this run's password
when it is recalled, and a render that shows the password anywhere else is not remembered. Neither
the password nor a given grafana_admin_password is part of the key. The file is still kept as the
passwords are: one per cohort under the credentials folder (mode 0600, git-ignored); teardown
takes the removed students out of it.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import sys
from collections.abc import Mapping

from ansible_collections.mlopslab.monitoring.plugins.module_utils.access.held import with_password
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.private_files import read_text, write_private

# The render's own version: a change to what an entry holds, or to how a key is made, changes it.
FORMAT = 2

# Variables whose value changes from run to run, or with the run's options, whatever the inventory
# says: left out of the key. The lab roles' files read none of them (a unit test parses them);
# a user's value that names one is not cached (IMPURE).
PER_RUN = frozenset({
    "omit", "hostvars", "vars", "environment", "play_hosts", "ansible_play_hosts", "ansible_play_hosts_all",
    "ansible_play_batch", "ansible_play_name", "ansible_play_role_names", "ansible_role_names", "role_names",
    "ansible_dependent_role_names", "ansible_limit", "ansible_run_tags", "ansible_skip_tags", "ansible_verbosity",
    "ansible_check_mode", "ansible_diff_mode", "ansible_forks", "ansible_config_file", "ansible_facts",
    "ansible_local", "ansible_search_path", "ansible_loop_var", "ansible_index_var", "ansible_parent_role_names",
    "ansible_parent_role_paths", "ansible_collection_name", "role_uuid", "ansible_role_name", "role_path",
})  # fmt: skip
# The password: not in the key (it is put back into the render, never stored).
PASSWORD = frozenset({"_mlopslab_grafana_password", "grafana_admin_password"})
# In a user's expression, what may give another value with the same text.
IMPURE = ("lookup(", "query(", "q(", "now(", "random", "password_hash", *PER_RUN)


def collection_digest(root: str, core_version: str, folders=("roles", "exporter")) -> str:
    """The collection's files the render reads (every file under ``folders``), as one digest, with
    the Python and the ansible-core (``core_version``) that render them."""
    digest = hashlib.sha256(f"{FORMAT} {core_version} {sys.version}".encode())
    for folder in folders:
        for directory, subdirectories, files in os.walk(os.path.join(root, folder)):
            subdirectories.sort()
            for name in sorted(files):
                path = os.path.join(directory, name)
                digest.update(os.path.relpath(path, root).encode() + b"\0")
                with open(path, "rb") as handle:
                    digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


def own_texts(*sources: Mapping) -> frozenset[str]:
    """Every string of the collection's own role defaults and vars: those expressions are the
    same text in every run (their lookups read the collection's files, which the digest holds)."""
    found: set[str] = set()

    def walk(value):
        if isinstance(value, str):
            found.add(str(value))
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    for source in sources:
        walk(source)
    return frozenset(found)


def impure(value, own: frozenset[str]) -> bool:
    """Whether a value holds an expression of the user's that may give another value with the
    same text (a lookup, a random or time value, the run's own variables)."""
    if isinstance(value, str):
        return ("{{" in value or "{%" in value) and str(value) not in own and any(m in value for m in IMPURE)
    if isinstance(value, Mapping):
        return any(impure(k, own) or impure(v, own) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(impure(item, own) for item in value)
    return False


def key(common: str, variables: Mapping, own: frozenset[str]) -> str | None:
    """The digest of one student's inputs (``common``: the collection's and the run's, the same
    for every student), or None when one of them may change while its text does not."""
    kept = {name: value for name, value in variables.items() if name not in PER_RUN and name not in PASSWORD}
    if impure(kept, own):
        return None
    text = json.dumps(kept, sort_keys=True, ensure_ascii=False, default=repr)
    return hashlib.sha256(f"{common}\0{text}".encode()).hexdigest()


def entry(key_: str, objects: list[dict], record: dict | None, password: str) -> dict | None:
    """What is remembered of one student's render: the key, and the render with the password
    taken out of the Secret and the record; None when the password is found anywhere else in it
    (then that student is rendered every run: only those two places are put back)."""
    render = copy.deepcopy({"objects": objects, "record": record})
    with_password(render["objects"], render["record"], None)
    text = json.dumps(render, sort_keys=True, ensure_ascii=False)
    forms = (json.dumps(password)[1:-1], base64.b64encode(password.encode()).decode()) if password else ()
    if any(form in text for form in forms):
        return None
    return {"key": key_, "render": render}


def recalled(remembered: dict, password: str) -> tuple[list[dict], dict | None]:
    """The remembered render (objects, record), carrying this run's password."""
    render = copy.deepcopy(remembered["render"])
    with_password(render["objects"], render["record"], password)
    return render["objects"], render["record"]


def load(path: str) -> dict:
    """The remembered renders, student -> {key, render} (entry); none when the file is missing
    or not one this version wrote (a cache: it is made again)."""
    try:
        found = json.loads(read_text(path) or "{}")
    except ValueError:
        return {}
    if not isinstance(found, dict) or found.get("format") != FORMAT or not isinstance(found.get("students"), dict):
        return {}
    return found["students"]


def forget(path: str, students) -> bool:
    """These students' renders out of the file (teardown: their labs are gone, and with them what
    the renders name: namespaces, Secrets without their password)."""
    kept = load(path)
    if not set(students) & set(kept):
        return False
    return save(path, {s: entry for s, entry in kept.items() if s not in set(students)})


def save(path: str, students: dict) -> bool:
    """The renders to remember (those with a key), written 0600 when they differ from the file's."""
    text = json.dumps({"format": FORMAT, "students": students}, sort_keys=True, ensure_ascii=False)
    if read_text(path) == text:
        return False
    write_private(path, text)
    return True
