# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one per-student record the access sheet and the handouts are both written from (so they
can never disagree), the sheet itself and the handouts. Pure."""

from __future__ import annotations

import csv
import io

# The access sheet's columns, in order; one row per student.
COLUMNS = (
    "student",
    "namespace",
    "cluster",
    "kubeconfig",
    "token_expires",
    "grafana_url",
    "grafana_user",
    "grafana_password",
    "how_to_reach",
    "handout",
)


# ---------------------------------------------------------------- one record per student
def records(accesses: dict, results: list | None, folder: str, cohort: str) -> list[dict]:
    """The record of each student (student -> what deploy knows of their lab, in play order),
    with what student_access did (None: no cluster, so no kubeconfig): the sheet's row and the
    handout's values at once."""
    done = {r["student"]: r for r in results or ()}
    out = []
    for student, known in accesses.items():
        result = done.get(student) or {}
        out.append(
            {
                **{c: known.get(c, "") for c in COLUMNS},
                "student": student,
                "cohort": cohort,
                "cluster": result.get("cluster", ""),
                "kubeconfig": result.get("kubeconfig", ""),
                "token_expires": result.get("token_expires", "")
                or ("revoked" if result.get("action") == "revoked" else ""),
                "access": result.get("action", "not issued"),
                "handout": f"{folder}/handouts/{student}.md",
            }
        )
    return out


# ---------------------------------------------------------------- the access sheet
def sheet(records: list[dict], previous: str | None = None, keep: tuple = ()) -> str:
    """The access sheet as CSV (the csv module quotes what needs quoting). Rows of `previous`
    whose student is in `keep` (students of the inventory not in this run, e.g. --limit) stay."""
    rows = {}
    if previous:
        for row in csv.DictReader(io.StringIO(previous)):
            if row.get("student") in keep:
                rows[row["student"]] = {c: row.get(c, "") for c in COLUMNS}
    for record in records:
        rows[record["student"]] = {c: record.get(c, "") for c in COLUMNS}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for student in sorted(rows):
        writer.writerow(rows[student])
    return out.getvalue()


def read_sheet(text: str) -> dict[str, dict]:
    """The sheet's rows by namespace."""
    return {row["namespace"]: row for row in csv.DictReader(io.StringIO(text)) if row.get("namespace")}


# ---------------------------------------------------------------- the handout
_TEXT = {
    "ko": {
        "title": "{student} 모니터링 실습 안내",
        "intro": (
            "코호트 `{cohort}`, 네임스페이스 `{namespace}`. 이 문서에는 본인만 쓰는 토큰과 비밀번호가 들어 "
            "있습니다. 다른 사람에게 보내거나 채팅방, Git 저장소에 올리지 마세요."
        ),
        "access": "## 1. 클러스터 접속",
        "access_body": (
            "강사에게 받은 kubeconfig 파일(`{kubeconfig_name}`)을 작업 폴더에 저장하고 터미널에서 다음을 "
            "실행합니다. 기본 네임스페이스가 `{namespace}`로 잡혀 있어서 `-n` 옵션은 붙이지 않아도 됩니다."
        ),
        "no_kubeconfig": (
            "kubeconfig가 아직 발급되지 않았습니다(클러스터에 배포하지 않고 파일로만 만든 실습). 강사가 "
            "배포를 마치면 이 안내서가 다시 만들어집니다."
        ),
        "revoked": "이 계정의 클러스터 접근은 회수되었습니다. 다시 필요하면 강사에게 요청하세요.",
        "expires": (
            "토큰 만료: {token_expires}. 만료되면 `kubectl` 명령이 `Unauthorized`로 실패합니다. "
            "강사에게 재발급을 요청하세요."
        ),
        "rights": (
            "권한: 내 네임스페이스의 Pod, Deployment, ReplicaSet, Service, ConfigMap 조회·생성·수정·삭제, "
            "로그 보기, 포트 포워딩. NetworkPolicy, ResourceQuota, LimitRange, Role, RoleBinding은 조회만 "
            "됩니다(실습 환경을 보호하는 설정이라 바꿀 수 없습니다). Secret 조회와 `kubectl exec`는 막혀 있습니다."
        ),
        "open": "## 2. Prometheus와 Grafana 열기",
        "open_body": "터미널을 두 개 열어 각각 실행해 두고, 브라우저로 접속합니다(끝낼 때는 Ctrl+C).",
        "open_ingress": "Grafana는 브라우저에서 바로 열립니다. Prometheus는 포트 포워딩으로 엽니다(끝낼 때는 Ctrl+C).",
        "prometheus": "Prometheus: <http://localhost:9090> (메뉴 Status → Targets에서 수집 대상 확인)",
        "grafana": "Grafana: <{grafana_url}>, 사용자 `{grafana_user}`, 비밀번호 `{grafana_password}`",
        "dashboard": "대시보드: Dashboards → **Model A/B test** (v1.0과 v2.0의 MAE, RMSE, R², 요청 수)",
        "work": "## 3. 실습에서 쓰는 명령",
        "work_body": "exporter를 다시 띄우고, 로그와 상태를 살펴봅니다.",
        "work_lines": [
            ("kubectl get pods", "Pod 목록과 상태"),
            ("kubectl logs deploy/metrics-exporter", "exporter 로그"),
            ("kubectl describe pod -l app.kubernetes.io/name=metrics-exporter", "이벤트와 마지막 종료 사유"),
            ("kubectl delete pod -l app.kubernetes.io/name=metrics-exporter", "Pod 삭제(Deployment가 새로 만듭니다)"),
            ("kubectl rollout restart deploy/metrics-exporter", "exporter 재배포"),
            ("kubectl rollout status deploy/metrics-exporter", "재배포가 끝날 때까지 대기"),
        ],
        "check": "## 4. 마무리 체크리스트",
        "check_body": "실습을 마치기 전에 아래 다섯 가지를 확인합니다.",
        "checks": [
            ("모든 Pod가 Running", "kubectl get pods", "STATUS가 모두 `Running`, READY가 `1/1`"),
            (
                "exporter 재시작 0회",
                "kubectl get pods -l app.kubernetes.io/name=metrics-exporter",
                "RESTARTS가 `0`",
            ),
            (
                "수집 대상(target) UP",
                "curl -s 'http://localhost:9090/api/v1/query?query=up'",
                'Prometheus 포트 포워딩을 켠 상태에서, 결과에 나오는 모든 `"value"`의 마지막 값이 `"1"`',
            ),
            (
                "Grafana에 실시간 데이터",
                "curl -s -u {grafana_user}:{grafana_password} '{grafana_url}api/search?query=Model'",
                "결과에 `Model A/B test`가 있고, 대시보드 그래프가 최근 5분까지 끊기지 않고 이어짐",
            ),
            ("CI 통과", "", "내 실습 저장소의 최신 CI 실행이 초록색(성공)"),
        ],
        "trouble": (
            "문제가 생기면 `kubectl describe pod <Pod 이름>`의 Events와 Last State를 먼저 봅니다. "
            "exit code 137은 SIGKILL이라는 뜻일 뿐 OOM이라는 뜻은 아닙니다. Reason이 `OOMKilled`인지, "
            "Events에 `Liveness probe failed`가 있는지 확인하세요."
        ),
    },
    "en": {
        "title": "{student}: your monitoring lab",
        "intro": (
            "Cohort `{cohort}`, namespace `{namespace}`. This page holds a token and a password that are yours "
            "alone: do not forward it, post it in a chat or commit it to Git."
        ),
        "access": "## 1. Reach the cluster",
        "access_body": (
            "Save the kubeconfig your instructor gave you (`{kubeconfig_name}`) in your working folder and run the "
            "commands below. Its default namespace is `{namespace}`, so you need no `-n`."
        ),
        "no_kubeconfig": (
            "No kubeconfig has been issued yet (the lab was rendered to files, not deployed). This handout is "
            "rewritten once your instructor deploys."
        ),
        "revoked": "Your cluster access was revoked. Ask your instructor if you need it back.",
        "expires": (
            "Token expires: {token_expires}. After that `kubectl` answers `Unauthorized`: ask your instructor "
            "to renew it."
        ),
        "rights": (
            "You may: read, create, change and delete Pods, Deployments, ReplicaSets, Services and ConfigMaps in "
            "your namespace, read logs, port-forward. NetworkPolicies, ResourceQuota, LimitRange, Roles and "
            "RoleBindings are read-only (they protect the lab). Secrets and `kubectl exec` are not allowed."
        ),
        "open": "## 2. Open Prometheus and Grafana",
        "open_body": "Run each in a terminal of its own and keep it running, then browse (Ctrl+C ends it).",
        "open_ingress": "Grafana opens in your browser directly. Prometheus needs a port-forward (Ctrl+C ends it).",
        "prometheus": "Prometheus: <http://localhost:9090> (Status → Targets lists what it scrapes)",
        "grafana": "Grafana: <{grafana_url}>, user `{grafana_user}`, password `{grafana_password}`",
        "dashboard": "Dashboard: Dashboards → **Model A/B test** (MAE, RMSE, R² and requests of v1.0 and v2.0)",
        "work": "## 3. Commands for the exercises",
        "work_body": "Restart the exporter and look at its logs and state.",
        "work_lines": [
            ("kubectl get pods", "your pods and their state"),
            ("kubectl logs deploy/metrics-exporter", "the exporter's log"),
            ("kubectl describe pod -l app.kubernetes.io/name=metrics-exporter", "events and the last exit reason"),
            (
                "kubectl delete pod -l app.kubernetes.io/name=metrics-exporter",
                "delete the pod (its Deployment recreates it)",
            ),
            ("kubectl rollout restart deploy/metrics-exporter", "redeploy the exporter"),
            ("kubectl rollout status deploy/metrics-exporter", "wait until it is redeployed"),
        ],
        "check": "## 4. Checklist",
        "check_body": "Before you finish, check these five.",
        "checks": [
            ("All pods Running", "kubectl get pods", "every STATUS `Running`, READY `1/1`"),
            (
                "Exporter never restarted",
                "kubectl get pods -l app.kubernetes.io/name=metrics-exporter",
                "RESTARTS `0`",
            ),
            (
                "Targets UP",
                "curl -s 'http://localhost:9090/api/v1/query?query=up'",
                'with the Prometheus port-forward running: every `"value"` ends in `"1"`',
            ),
            (
                "Grafana shows live data",
                "curl -s -u {grafana_user}:{grafana_password} '{grafana_url}api/search?query=Model'",
                "the answer names `Model A/B test`, and the dashboard's graphs reach the last five minutes",
            ),
            ("CI green", "", "the newest CI run of your lab repository succeeded"),
        ],
        "trouble": (
            "When something breaks, read the Events and Last State of `kubectl describe pod <pod>` first. Exit "
            "code 137 only says SIGKILL, not OOM: check whether the reason is `OOMKilled` or the events say "
            "`Liveness probe failed`."
        ),
    },
}


LANGUAGES = tuple(_TEXT)


def handout(record: dict, language: str = "ko") -> str:
    """A student's handout in Markdown, from their access record."""
    text = _TEXT[language]
    values = dict(record)
    values["kubeconfig_name"] = (record.get("kubeconfig") or "").rsplit("/", 1)[-1] or f"{record['student']}.yaml"
    ingress = record.get("how_to_reach") == "browse to the URL"
    lines = [f"# {text['title'].format(**values)}", "", text["intro"].format(**values), "", text["access"], ""]
    if record.get("kubeconfig"):
        lines += [text["access_body"].format(**values), "", "```bash"]
        lines += [f"export KUBECONFIG=$PWD/{values['kubeconfig_name']}", "kubectl get pods", "```", ""]
        lines += [f"- {text['expires'].format(**values)}", f"- {text['rights']}", ""]
    else:
        lines += [text["revoked" if record.get("access") == "revoked" else "no_kubeconfig"], ""]
    lines += [text["open"], "", text["open_ingress"] if ingress else text["open_body"], "", "```bash"]
    lines += ["kubectl port-forward svc/prometheus 9090:9090"]
    if not ingress:
        lines += ["kubectl port-forward svc/grafana 3000:3000"]
    lines += ["```", "", f"- {text['prometheus']}", f"- {text['grafana'].format(**values)}"]
    lines += [f"- {text['dashboard']}", "", text["work"], "", text["work_body"], "", "```bash"]
    width = max(len(command) for command, _ in text["work_lines"])
    lines += [f"{command:<{width}}  # {why}" for command, why in text["work_lines"]]
    lines += ["```", "", text["check"], "", text["check_body"], ""]
    for number, (what, command, expect) in enumerate(text["checks"], 1):
        lines.append(f"{number}. **{what}**: {expect.format(**values)}")
        if command:
            lines += ["", "   ```bash", f"   {command.format(**values)}", "   ```"]
        lines.append("")
    lines += [text["trouble"], ""]
    return "\n".join(lines)


def issued(results: list[dict]) -> list[dict]:
    """student_access's answers over the clusters, one entry per student, each naming its cluster
    (the access sheet's column). A cluster whose call failed as a whole (its ServiceAccounts
    could not be listed) gives each of its students that failure as their own: a kubeconfig not
    issued is said per student, never left unsaid."""
    answers = []
    for result in results:
        cluster = result["item"]
        if result.get("students") is not None:
            answers += [{**answer, "cluster": cluster["name"]} for answer in result["students"]]
        elif not result.get("skipped"):
            why = f"{cluster['name']}: {result.get('msg') or 'no answer from student_access'}"
            answers += [
                {"student": student, "namespace": namespace, "cluster": cluster["name"], "kubeconfig": "",
                 "action": "failed", "why": "", "error": why, "changed": False, "token_expires": "", "shortened": False}
                for student, namespace in zip(cluster["students"], cluster["namespaces"], strict=True)
            ]  # fmt: skip
    return answers
