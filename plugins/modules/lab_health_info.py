# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: lab_health_info
short_description: Tell which students' monitoring labs are broken, and why
description:
  - Lists the pods and events of every checked namespace in two API calls (label-selected, not one
    call per pod) and diagnoses each pod from its status and events; an OOM kill is told apart from
    a liveness-probe kill (both exit 137).
  - Reads each student's Prometheus targets and checks the required series exist, and checks that
    Grafana answers C(/api/health), concurrently across students with a bounded number of workers
    and a timeout per request. A student whose Prometheus cannot be reached is C(failing) with that
    finding; one broken student never stops the others being checked.
  - Read-only; never fails on a timeout alone.
  - Fails closed. A pod is healthy only when every container of its spec is running and ready and
    every init container completed with 0; partial evidence (lost lastState, no state, expired
    events, events without fieldPath) gives an explicit code (C(crash_loop), C(pending),
    C(not_ready), C(unknown), ...) with lower C(certainty), and contradictory evidence (an
    C(OOMKilled) reason on a SIGTERM exit 143) is weighed, each finding saying which evidence
    decided and which disagreed.
  - What a pod says outright is believed before its containers' stale statuses. A pod in phase
    C(Failed) with a reason is C(rejected_by_node) (the kubelet refused to admit it - C(OutOfmemory),
    C(OutOfcpu), C(NodeAffinity), C(UnexpectedAdmissionError), C(Preempting)) or C(pod_failed)
    (C(DeadlineExceeded), a node shutdown). The kubelet's own events name a crash loop's cause when
    the last state does not - C(poststart_hook_failed) (C(FailedPostStartHook)), C(liveness_probe_kill)
    (a probe's C(Killing) event, whatever exit code the process then gave).
  - A pod ended by someone else is named for who ended it, whatever its phase and exit codes say
    (from 1.27 a pod whose containers exit 0 on the SIGTERM ends C(Succeeded)) - C(evicted) (the
    kubelet's C(Evicted) reason or event, or the C(DisruptionTarget) condition of a drain, a
    C(NoExecute) taint or the kubelet), C(preempted) (the scheduler's C(DisruptionTarget)).
  - An init container's termination is read like any other - one C(OOMKilled) with exit 0 is
    C(oom_killed), C(degraded) when the pod went on regardless. Exit codes are read per program -
    exit 2 is C(exporter_config) for the exporter (its configuration refused), C(misuse_of_shell_builtin)
    for a shell, and the program's own error (C(app_error)) for any other (a Go program exits 2 when
    it panics).
  - A container running and ready again after a restart whose last exit was abnormal (a kill, any
    non-zero code) is C(degraded) and names that exit; only restarts after a clean exit 0 are
    tolerated, up to O(max_restarts).
version_added: 1.0.0
author: mlopslab.monitoring contributors (@mlopslab)
extends_documentation_fragment:
  - mlopslab.monitoring.controller
  - kubernetes.core.k8s_auth_options
options:
  namespaces:
    description:
      - The students' namespaces to check.
      - When empty, every namespace matching O(label_selectors) is checked.
    type: list
    elements: str
    default: []
  label_selectors:
    description: Selects the cohort's pods (and, without O(namespaces), its namespaces).
    type: list
    elements: str
    default: [app.kubernetes.io/managed-by=mlopslab]
  prometheus_access:
    description:
      - V(proxy) reads each Prometheus through the API server's service proxy; V(url) through
        O(prometheus_url_template); V(none) skips the Prometheus checks.
    type: str
    choices: [proxy, url, none]
    default: proxy
  prometheus_url_template:
    description: URL of a student's Prometheus, with C({namespace}) filled in, e.g. C(http://{namespace}-prom.lab.example).
    type: str
  prometheus_urls:
    description: URL of a student's Prometheus by namespace; overrides O(prometheus_url_template) for those.
    type: dict
    default: {}
  grafana_access:
    description: As O(prometheus_access), for Grafana's C(/api/health).
    type: str
    choices: [proxy, url, none]
    default: proxy
  grafana_url_template:
    description: URL of a student's Grafana, with C({namespace}) filled in.
    type: str
  grafana_urls:
    description: URL of a student's Grafana by namespace; overrides O(grafana_url_template) for those.
    type: dict
    default: {}
  expected_jobs:
    description: Scrape jobs every student's Prometheus must have.
    type: list
    elements: str
    default: [metrics-exporter, prometheus]
  required_series:
    description: Series every student's Prometheus must hold.
    type: list
    elements: str
    default: [model_mae_score, model_r2_score, model_requests_total]
  max_restarts:
    description:
      - Restarts after a clean exit 0 a running, ready container may have before it counts as degraded.
      - A restart after any other exit counts at once.
    type: int
    default: 3
  workers:
    description: Students checked at once.
    type: int
    default: 8
  timeout:
    description: Seconds each HTTP request may take.
    type: float
    default: 5
  fail_on_unhealthy:
    description: Fail the task when any student is C(failing) (verify.yml sets it).
    type: bool
    default: false
  unanswered:
    description:
      - What a cluster that does not answer (no API client, the namespace or pod list refused or never
        answered) makes of the task. C(fail) fails it with why.
      - C(report) returns why as I(cluster_error), without I(students), and does not fail; verify.yml
        asks for it, so that its loop over the clusters says a silent cluster once, in its table,
        instead of printing the failed loop item with every student of that cluster.
      - With I(fail_on_unhealthy=true) the task fails either way, as the cluster's students are failing.
    type: str
    choices: [fail, report]
    default: fail
    version_added: 1.1.0
  access_sheet:
    description:
      - The access sheet deploy.yml wrote (C(build/<cohort>/access.csv)). When given, each student's
        kubeconfig and Grafana password from it are tried for real. As the student, listing its own
        pods must be allowed and a neighbour's refused; Grafana's C(/login) must accept the password
        (skipped with I(grafana_access=none) or when Grafana is unreachable). A failure is
        C(student_access_broken); a student without a row is C(student_access_unchecked).
    type: path
  renew_command:
    description: The command a C(student_access_broken) finding names to renew, with C({student}).
    type: str
    default: ansible-playbook access.yml -e mlopslab_access=renew --limit {student}
  check_objects:
    description:
      - Also list the cohort's Deployments, ReplicaSets, Services, EndpointSlices and ConfigMaps
        (one label-selected call per kind) and report what deploy.yml created that is missing or
        not converging, with the API's reason (C(object_missing), C(scaled_to_zero),
        C(quota_exceeded), C(pod_security_forbidden), C(replica_failure), C(rollout_stuck),
        C(pods_missing), C(no_endpoints)).
      - A kind that cannot be listed gives every student an C(objects_unchecked) warning, never healthy.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is no diff.
notes:
  - Through the service proxy, a CNI that applies NetworkPolicies to the API server's traffic may
    block the read; the student_namespace role's C(student_namespace_proxy_cidrs) lets it in.
  - Every code a finding can carry follows, with what it means and what to do in general (a finding's own C(hint)
    is more precise). A student's C(cause) is their most important finding's code.
  - C(evicted) - the kubelet, a drain or a taint evicted the pod (in any phase, Succeeded included). What to do -
    kubectl describe pod says why (node memory or disk pressure, a drain); the Deployment has made a new pod, and the
    evicted one can be deleted.
  - C(preempted) - the scheduler preempted the pod for one of higher priority. What to do - the Deployment makes a new
    pod when there is room; if it repeats, ask the cluster's administrator about priority classes.
  - C(rejected_by_node) - the node refused to admit the pod (OutOfmemory, OutOfcpu, NodeAffinity, ...). What to do - the
    pod's status message names what the node lacks; the Deployment makes a new pod, which may land on another node.
  - C(pod_failed) - the pod ended and will not restart (a deadline, a node shutdown). What to do - the pod's status
    message says why; delete the pod and its Deployment makes a new one.
  - C(node_lost) - the pod's node stopped reporting; its containers' state is unknown. What to do - kubectl get nodes
    shows the node NotReady; the cluster's administrator brings it back, and the pod moves once evicted.
  - C(unschedulable) - no node has room for the pod, or the quota is used up. What to do - kubectl describe pod names
    the shortage; lower the lab's requests, raise the quota or add a node (deploy's capacity table shows the room).
  - C(pending) - the pod waits for a node and nothing says why. What to do - kubectl describe pod and the namespace's
    events; run verify again a minute later.
  - C(terminating) - the pod is being deleted. What to do - wait; a pod that stays is held by a finalizer or a node that
    stopped reporting.
  - C(invalid_image) - the image reference is malformed. What to do - correct the image setting named in the message,
    then run deploy again.
  - C(image_pull) - the image cannot be pulled (name, tag, registry access). What to do - kubectl describe pod shows the
    pull error; check the image name and tag and that the nodes reach the registry.
  - C(config_error) - a ConfigMap, Secret or key the container needs is missing. What to do - run deploy again; it
    recreates the lab's ConfigMaps and Secrets.
  - C(mount_failed) - a volume cannot be mounted. What to do - kubectl describe pod names the volume; run deploy again
    to recreate the lab's ConfigMaps and Secrets.
  - C(create_container_error) - the runtime cannot create or start the container. What to do - kubectl describe pod
    shows the runtime's message (often a securityContext the image cannot meet).
  - C(oom_killed) - the kernel killed it for memory (OOMKilled), an init container's too. What to do - raise the memory
    limit the hint names (a role setting and its value), then run deploy again.
  - C(liveness_probe_kill) - the kubelet killed it after failed liveness or startup probes (exit 137, reason Error).
    What to do - the program answered its probe too late (as when it pip-installs at start); install in the image, or
    give the probe more time.
  - C(poststart_hook_failed) - its postStart hook failed, and the kubelet killed it. What to do - the hook's message
    says what failed; correct or remove lifecycle.postStart.
  - C(sigkill) - killed by SIGKILL (exit 137) without a probe or OOM kill to explain it. What to do - something outside
    the pod killed it (a kubectl delete, a node under pressure); the namespace's events say who.
  - C(sigterm) - stopped by SIGTERM (exit 143). What to do - it was asked to stop (a rollout, a drain); if it repeats,
    read kubectl logs --previous.
  - C(segfault) - crashed in native code (exit 139, SIGSEGV). What to do - read kubectl logs --previous; a native
    library of the image crashed.
  - C(command_not_found) - its command is not in the image (exit 127). What to do - correct the container's command, or
    use an image that has it.
  - C(not_executable) - its command cannot be executed (exit 126). What to do - make the command executable in the
    image, or run it through its interpreter.
  - C(exporter_config) - the exporter refused its configuration or port (its exit 2). What to do - kubectl logs
    --previous names the setting in one line; correct it in the inventory, then run deploy again.
  - C(misuse_of_shell_builtin) - a shell's usage or syntax error (a shell's exit 2). What to do - read kubectl logs
    --previous and correct the script.
  - C(app_error) - the program's own error (any other exit code). What to do - kubectl logs --previous shows the
    program's own message.
  - C(container_exited) - a server exited 0 and was restarted. What to do - a server should not exit; read kubectl logs
    --previous.
  - C(crash_loop) - restarting in a loop, its last exit not known. What to do - read kubectl logs --previous and kubectl
    describe pod.
  - C(unknown) - not running and ready, and nothing says why. What to do - kubectl describe pod and the namespace's
    events.
  - C(readiness_failing) - running, but its readiness probe fails. What to do - kubectl describe pod shows the probe's
    answer; read the container's logs.
  - C(not_ready) - every container ready, the pod's Ready condition False. What to do - kubectl describe pod shows which
    condition holds it (a readiness gate, the node).
  - C(restarts) - running again after more restarts than allowed, or after an abnormal exit. What to do - kubectl logs
    --previous says why it restarted; the count starts again with a new pod.
  - C(pods_missing) - a Deployment of the lab has no pods. What to do - the namespace's events say why the Deployment
    made no pod; run deploy again to recreate it.
  - C(object_missing) - an object of the lab is missing. What to do - run deploy again; it recreates the object.
  - C(objects_unchecked) - the lab's objects could not be read. What to do - check the instructor's rights
    (instructor_rights.yml) and that the API server answers.
  - C(scaled_to_zero) - a Deployment of the lab is scaled to 0. What to do - run deploy again; it sets the replicas
    back.
  - C(rollout_stuck) - a Deployment's rollout makes no progress. What to do - kubectl rollout status names the new pod;
    correct its cause, then run deploy again.
  - C(replica_failure) - the ReplicaSet cannot create pods. What to do - kubectl describe replicaset shows the refusal
    (quota, Pod Security); correct it, then run deploy again.
  - C(quota_exceeded) - the namespace's quota refuses a pod. What to do - raise the quota setting the message names, or
    remove what the student added, then run deploy again.
  - C(pod_security_forbidden) - Pod Security admission refuses a pod. What to do - the message names what the restricted
    profile refuses; remove it, then run deploy again.
  - C(no_endpoints) - a Service of the lab has no ready endpoints. What to do - the pods behind the Service are not
    ready; see their findings.
  - C(prometheus_unreachable) - the student's Prometheus does not answer. What to do - see the prometheus pod's
    findings.
  - C(target_down) - a scrape target of Prometheus is down. What to do - the exporter does not answer Prometheus; see
    its pod's findings.
  - C(target_missing) - a scrape target of the lab is not configured in Prometheus. What to do - run deploy again; it
    renders the static scrape config.
  - C(series_missing) - the A/B series are not in Prometheus. What to do - wait one scrape interval after the exporter
    starts, then read its /metrics.
  - C(grafana_unreachable) - the student's Grafana does not answer /api/health. What to do - see the grafana pod's
    findings.
  - C(student_access_broken) - the student's kubeconfig or Grafana password does not work. What to do - renew it (the
    hint gives the command) and hand out the new handout.
  - C(student_access_unchecked) - the student's access could not be checked. What to do - deploy writes the access files
    it needs; -e mlopslab_verify_student_access=false skips the check.
  - C(cluster_unreachable) - the student's cluster did not answer. What to do - check that mlopslab_kubeconfig and
    mlopslab_context reach the cluster, then run verify again; the other clusters are still checked.
"""

EXAMPLES = r"""
- name: Check the cohort
  mlopslab.monitoring.lab_health_info:
    namespaces: [user01, user02, user03]
    label_selectors:
      - app.kubernetes.io/managed-by=mlopslab
      - mlopslab.io/cohort=mlops-2026-spring
  register: __health

- name: Name the failing students and why
  ansible.builtin.debug:
    msg: "{{ __health.students | selectattr('status', 'eq', 'failing') | map(attribute='namespace')
      | zip(__health.students | selectattr('status', 'eq', 'failing') | map(attribute='cause')) | map('join', ': ') }}"

# Without namespaces, every namespace of the cohort's labels is checked: right whatever
# mlopslab_namespace_prefix makes of the students' names.
- name: Check through per-student URLs (an Ingress each), failing on a broken student
  mlopslab.monitoring.lab_health_info:
    label_selectors:
      - app.kubernetes.io/managed-by=mlopslab
      - mlopslab.io/cohort=mlops-2026-spring
    prometheus_access: url
    prometheus_url_template: "https://{namespace}-prometheus.lab.example"
    grafana_access: none
    fail_on_unhealthy: true
"""

RETURN = r"""
cluster_error:
  description: Why the cluster did not answer, with I(unanswered=report).
  returned: when the cluster did not answer and I(unanswered=report)
  type: str
  sample: "Could not create API client: Invalid kube-config file. No configuration found."
students:
  description: One entry per checked namespace.
  returned: when the cluster answered
  type: list
  elements: dict
  contains:
    namespace:
      description: The student's namespace.
      type: str
      sample: user02
    status:
      description: C(healthy), C(degraded) or C(failing).
      type: str
      sample: failing
    cause:
      description: Code of the most important finding, or null when healthy.
      type: str
      sample: oom_killed
    certainty:
      description:
        - How sure the cause is (C(high), C(medium), C(low)).
        - Lower when the evidence was partial or contradictory.
      type: str
      sample: high
    restarts:
      description: Container restarts over all the student's pods.
      type: int
      sample: 5
    pods:
      description: Per pod, its diagnosis.
      type: list
      elements: dict
      sample: [{"name": "metrics-exporter-7c9d8b6f5-9fzlm", "component": "metrics-exporter", "phase": "Running",
                "ready": false, "restarts": 5, "status": "failing", "cause": "oom_killed", "findings": []}]
    targets:
      description: The student's Prometheus targets.
      type: list
      elements: dict
      sample: [{"job": "metrics-exporter", "instance": "metrics-exporter:8000", "health": "up", "last_error": "",
                "last_scrape": "2026-11-20T09:21:14.331Z"}]
    series:
      description: Each required series, and whether it exists.
      type: dict
      sample: {"model_mae_score": true, "model_r2_score": true, "model_requests_total": true}
    grafana:
      description: Whether Grafana was checked and answered healthy.
      type: dict
      sample: {"checked": true, "ok": true, "version": "11.3.0"}
    access:
      description: Whether what was handed out was tried (I(access_sheet)), and what did not work.
      type: dict
      sample: {"checked": true, "problems": []}
    findings:
      description: Everything wrong, most important first, each with a concrete hint.
      type: list
      elements: dict
      sample: [{"code": "oom_killed", "severity": "error", "container": "exporter", "exit_code": 137,
                "pod": "metrics-exporter-7c9d8b6f5-9fzlm",
                "message": "container exporter exited 137 (OOMKilled)",
                "hint": "memory limit 96Mi was exceeded: raise metrics_exporter_memory_limit (now 96Mi)",
                "certainty": "high",
                "evidence": {"decided": ["reason OOMKilled", "exitCode 137 (SIGKILL)"],
                             "disagreed": [], "missing": []}}]
summary:
  description: Counts over the cohort.
  returned: always
  type: dict
  sample: {"students": 3, "healthy": 1, "degraded": 0, "failing": 2,
           "causes": {"oom_killed": 1, "liveness_probe_kill": 1}}
"""

import copy

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
from ansible_collections.mlopslab.monitoring.plugins.module_utils.common.lab_io import KubeApi
from ansible_collections.mlopslab.monitoring.plugins.module_utils.verify.lab_health import LabHealthError
from ansible_collections.mlopslab.monitoring.plugins.module_utils.verify.run import check_labs

ARGUMENT_SPEC = dict(
    copy.deepcopy(AUTH_ARG_SPEC),
    namespaces=dict(type="list", elements="str", default=[]),
    label_selectors=dict(type="list", elements="str", default=["app.kubernetes.io/managed-by=mlopslab"]),
    prometheus_access=dict(type="str", choices=["proxy", "url", "none"], default="proxy"),
    prometheus_url_template=dict(type="str"),
    prometheus_urls=dict(type="dict", default={}),
    grafana_access=dict(type="str", choices=["proxy", "url", "none"], default="proxy"),
    grafana_url_template=dict(type="str"),
    grafana_urls=dict(type="dict", default={}),
    expected_jobs=dict(type="list", elements="str", default=["metrics-exporter", "prometheus"]),
    required_series=dict(
        type="list", elements="str", default=["model_mae_score", "model_r2_score", "model_requests_total"]
    ),
    max_restarts=dict(type="int", default=3),
    workers=dict(type="int", default=8),
    timeout=dict(type="float", default=5),
    fail_on_unhealthy=dict(type="bool", default=False),
    unanswered=dict(type="str", choices=["fail", "report"], default="fail"),
    check_objects=dict(type="bool", default=True),
    access_sheet=dict(type="path"),
    renew_command=dict(type="str", default="ansible-playbook access.yml -e mlopslab_access=renew --limit {student}"),
)


def main():
    module = AnsibleK8SModule(
        argument_spec=ARGUMENT_SPEC,
        supports_check_mode=True,
        required_if=[
            ("prometheus_access", "url", ["prometheus_url_template", "prometheus_urls"], True),
            ("grafana_access", "url", ["grafana_url_template", "grafana_urls"], True),
        ],
    )
    params = module.params
    for what in ("prometheus", "grafana"):
        missing = [
            n
            for n in params["namespaces"]
            if params[f"{what}_access"] == "url"
            and not params[f"{what}_url_template"]
            and n not in params[f"{what}_urls"]
        ]
        if missing:
            module.fail_json(
                msg=f"{what}_access is url but {what}_urls has no URL for {', '.join(missing)} and "
                f"{what}_url_template is not set: give one or the other"
            )
    try:
        kube = KubeApi(get_api_client(module).client.client, params["timeout"])
        result = check_labs(params, kube, module.warn)
    except (CoreException, LabHealthError, OSError) as err:
        # fail_on_unhealthy wins: that cluster's students are failing (cluster_unreachable), and a
        # task asked to fail for a failing student must not pass because it could not look.
        if params["unanswered"] == "report" and not params["fail_on_unhealthy"]:
            module.exit_json(changed=False, cluster_error=str(err))
        module.fail_json(msg=str(err))
    failing = [s for s in result["students"] if s["status"] == "failing"]
    if params["fail_on_unhealthy"] and failing:
        module.fail_json(
            msg=f"{len(failing)} of {len(result['students'])} students failing: "
            + ", ".join(f"{s['namespace']} ({s['cause']})" for s in failing),
            changed=False,
            **result,
        )
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
