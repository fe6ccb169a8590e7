# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The two libraries from outside the standard library that the modules use, imported once and
guarded, as modules import what a target may not have: a module whose library is missing says so
with Ansible's own message instead of a traceback at import.

- PyYAML comes with ansible-core, but a module runs under whatever Python the target has.
- kubernetes is what kubernetes.core needs too.

kubernetes.core's AnsibleK8SModule checks both when a module starts; `require` does the same for a
module built on the plain AnsibleModule."""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import missing_required_lib

__all__ = ["MISSING", "ApiException", "kube_config", "require", "yaml"]

MISSING: dict[str, str] = {}

try:
    import yaml
except ImportError:
    yaml = None
    MISSING["PyYAML"] = traceback.format_exc()

try:
    from kubernetes import config as kube_config
    from kubernetes.client.rest import ApiException
except ImportError:
    kube_config = None
    MISSING["kubernetes"] = traceback.format_exc()

    class ApiException(Exception):
        """Never raised: it keeps `except ApiException` valid where kubernetes is missing."""


def require(module, *libraries: str) -> None:
    """Fail the module with Ansible's message for the first of these libraries that is missing."""
    for library in libraries:
        if library in MISSING:
            module.fail_json(msg=missing_required_lib(library), exception=MISSING[library])
