# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options every verb's pipeline takes (deploy_cohort, access_cohort), said once, as their
actions define them once (plugins/action/deploy_cohort.py: PIPELINE_ARGS)."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  cohort:
    description: The cohort (C(mlopslab_cohort)).
    type: str
    required: true
  cohort_dir:
    description: The cohort's folder for the access sheet, the handouts and the kubeconfigs.
    type: path
    required: true
  outputs:
    description: The folders the run writes to, checked writable before anything is made (setting name to path).
    type: dict
    default: {}
  lock_takeover:
    description: Take over the hold of students another run holds (C(mlopslab_lock_takeover)).
    type: raw
    default: false
  token_ttl:
    description: C(mlopslab_student_token_ttl).
    type: raw
    default: 16w
  token_renew_before:
    description: C(mlopslab_student_token_renew_before).
    type: raw
    default: 7d
  language:
    description: The handouts' language (C(mlopslab_handout_language)).
    type: raw
    default: ko
  timezone:
    description: The time zone of the handouts' times (C(mlopslab_handout_timezone)); empty, the language's.
    type: raw
    default: ""
  inventory_students:
    description: Every student of the inventory (the access sheet keeps the rows of those not in this run).
    type: list
    elements: str
    default: []
  yaml_results:
    description: Whether tables are returned as one block (the YAML result format) or a list of lines.
    type: bool
    default: true
notes:
  - The settings' values are judged by the settings check (one message naming every problem) before the pipeline reads
    them, so they are taken as given here.
"""
