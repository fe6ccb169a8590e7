"""Write roles/_common/files/instructor-clusterroles.yaml from the rights table
(plugins/module_utils/common/rights.py): `python -m tests.support.instructor_roles`. A unit test fails
when the shipped file and the table drift apart."""

from __future__ import annotations

from plugins.module_utils.common import rights
from tests.support.processes import REPO
from tests.support.yaml_files import object_list

PATH = REPO / "roles" / "_common" / "files" / "instructor-clusterroles.yaml"
HEADER = """# The rights an instructor needs, as ClusterRoles (generated from plugins/module_utils/common/rights.py by
# `python -m tests.support.instructor_roles`; do not edit by hand). A cluster administrator applies
# this file and binds one role to the instructor, cluster-wide (the students' namespaces do not
# exist before deploy creates them, so no RoleBinding could be there first):
#   kubectl apply -f instructor-clusterroles.yaml
#   kubectl create clusterrolebinding mlopslab-instructor-<you> --clusterrole=mlopslab-instructor --user=<you>
# or: ansible-playbook mlopslab.monitoring.instructor_rights -e mlopslab_instructor=<you>
# mlopslab-instructor: deploy, access, verify, teardown. mlopslab-instructor-verify: verify alone.
"""


def text() -> str:
    return object_list(HEADER, rights.cluster_roles())


if __name__ == "__main__":
    PATH.write_text(text())
    print(f"wrote {PATH}")
