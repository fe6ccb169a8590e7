# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done by the action plugin of the same name, on the controller; this file holds
# its documentation (as ansible.builtin.set_fact's module file does).

DOCUMENTATION = r"""
module: validate_settings
short_description: Check every setting of every role for every student at once (internal to the verb roles)
description:
  - Run once for the play (C(run_once)), before anything is rendered, written, generated or applied.
    Each student's settings are the roles' defaults overlaid with that student's inventory and extra
    variables, so per-student host and group variables are checked too.
  - "Values follow one rule per kind: Kubernetes quantities (the API's grammar; a request above its
    limit is refused), Prometheus durations and sizes, ports, image references, and the Grafana host
    built from C(mlopslab_ingress_domain) as a DNS name."
  - Types and choices follow the roles' C(meta/argument_specs.yml), said in words (a string where a dict
    is expected says how to pass a dict with C(-e)).
  - C(metrics_exporter_settings) is judged by the exporter's own option parser (C(exporter/) in this
    collection), so deploy refuses exactly what would make the exporter exit 2; unknown options are
    named with the closest valid one.
  - A variable with one of this collection's prefixes (C(mlopslab_), C(metrics_exporter_), C(prometheus_),
    C(grafana_), C(student_namespace_)) that no role declares is a problem, with the closest declared name;
    list your own such variables in C(mlopslab_own_variables).
  - Fails once, listing every problem with the students it applies to (ranges compressed, C(user01–user30)),
    the value, what is accepted and an example.
version_added: 1.0.0
author: mlopslab.monitoring contributors (@mlopslab)
options:
  students:
    description: The students to check; default the play's students (C(ansible_play_hosts), so C(--limit) is honoured).
    type: list
    elements: str
  clusters_only:
    description:
      - Only group the students by cluster (verify and teardown render nothing); the other checks are skipped.
    type: bool
    default: false
extends_documentation_fragment:
  - mlopslab.monitoring.controller
attributes:
  check_mode:
    support: full
    description: Reads only; the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
"""

EXAMPLES = r"""
- name: Check every setting of every student
  mlopslab.monitoring.validate_settings:
  run_once: true
"""

RETURN = r"""
clusters:
  description:
    - The students grouped by cluster (C(mlopslab_kubeconfig) and C(mlopslab_context)), in the order of each group's
      first student. Every cluster-side task of the playbooks loops over these groups, one module call per cluster.
    - Students of one cluster given different C(mlopslab_student_api_server) values are a settings problem.
  returned: success
  type: list
  elements: dict
  sample: [{"name": "course-a (/etc/course/a.yaml)", "kubeconfig": "/etc/course/a.yaml", "context": "course-a",
            "api_server": "", "students": ["user01", "user02"], "namespaces": ["user01", "user02"]}]
msg:
  description: On failure, one line per problem, the students sharing it compressed into ranges.
  returned: always
  type: str
  sample: |-
    1 problem in the settings; nothing was rendered, written or applied:
      - metrics_exporter_memory_limit = '96MB' (user01–user30): is not a Kubernetes quantity. Accepted: a
        Kubernetes quantity of memory: bytes with a suffix Ki, Mi, Gi (binary) or k, M, G; e.g. 256Mi
"""
