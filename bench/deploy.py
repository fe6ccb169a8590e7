"""deploy.yml benchmark: cohorts of 1, 10, 30 and 100 students, rendered to files and applied
to the kmock API emulator, with the module processes each run started.

Prints wall time, the apply task's own time, the cost per added student, and, as the floor the
apply is measured against, a raw sequential server-side apply of the same objects from one
Python process (kubernetes' dynamic client) to the same emulator.

    make bench      # or: .venv/bin/python bench/deploy.py [--sizes 1,10,30] [--render-only 100]
    .venv/bin/python bench/deploy.py --kubeconfig K --sizes 10,30,100    # a real API server

With --kubeconfig (e.g. the real-cluster tier's control plane: `python -m tests.support.controlplane
start --workdir build/controlplane/bench`) each size is rendered, applied, applied again, and
compared with a raw sequential server-side apply of a second copy of the same objects to the
same server; API requests are read from the server's own apiserver_request_total. Everything
the bench created there (cohort "bench") is deleted after each size.

--render-only sizes are rendered and not applied: 100 students take half an hour against
kmock (it scans every stored object on each request), but render in under half a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.support.kube_emulator import CLUSTER_FIXTURES, EmulatedCluster  # noqa: E402

PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")


def inventory(workdir: Path, students: int, cohort: str = "bench") -> Path:
    """user01..userNN of `cohort`, run on the controller with the playbook's own Python."""
    width = max(2, len(str(students)))
    hosts = "".join(f"    user{i:0{width}d}:\n" for i in range(1, students + 1))
    path = workdir / f"cohort-{students}.yml"
    path.write_text(
        f"cohort:\n  hosts:\n{hosts}  vars:\n    mlopslab_cohort: {cohort}\n    ansible_connection: local\n"
        "    ansible_python_interpreter: '{{ ansible_playbook_python }}'\n"
    )
    return path


def run_deploy(workdir: Path, students: int, *extra: str, env: dict | None = None) -> dict:
    timer_out = workdir / f"timer-{students}-{len(extra)}.json"
    environment = {
        **os.environ,
        **(env or {}),
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_CALLBACK_PLUGINS": str(REPO / "bench/callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "bench_timer",
        "BENCH_TIMER_OUT": str(timer_out),
    }
    began = time.monotonic()
    proc = subprocess.run(
        [
            PLAYBOOK,
            "playbooks/deploy.yml",
            "-i",
            str(inventory(workdir, students)),
            "-e",
            f"mlopslab_build_dir={workdir / 'build'}",
            *extra,
        ],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.monotonic() - began
    if proc.returncode != 0:
        raise SystemExit(f"deploy of {students} failed:\n{proc.stdout[-3000:]}")
    changed = sum(int(c) for c in re.findall(r"^\S+\s+: ok=\d+\s+changed=(\d+)", proc.stdout, re.M))
    timer = json.loads(timer_out.read_text())
    # The pipeline's task (deploy_cohort): everything from the settings to the access sheet.
    apply_time = next((t for name, t in timer["tasks"].items() if name.endswith("render every student's lab")), 0.0)
    validate = next(
        (t for name, t in timer["tasks"].items() if name.endswith("Check every setting of every student")), 0.0
    )
    return {
        "wall": wall,
        "apply": apply_time,
        "steps": timer.get("steps") or {},
        "tasks": timer["tasks"],
        "validate": validate,
        "modules": sum(timer["modules"].values()),
        "changed": changed,
    }


def raw_apply_seconds(kubeconfig: Path, manifests_dir: Path, workers: int = 8) -> tuple[float, int]:
    """The floor: a raw server-side apply of the same objects from one Python process, ``workers``
    at a time (Namespaces first, as the server needs them), with kubernetes' dynamic client."""
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    import kubernetes  # noqa: PLC0415  (only the floor measurement needs the client here)

    objects = [o for f in sorted(manifests_dir.glob("*/lab.yaml")) for o in yaml.safe_load_all(f.read_text())]
    client = kubernetes.dynamic.DynamicClient(kubernetes.config.new_client_from_config(config_file=str(kubeconfig)))
    kinds = {(o["apiVersion"], o["kind"]): client.resources.get(api_version=o["apiVersion"], kind=o["kind"])
             for o in objects}  # fmt: skip

    def apply(obj):
        kinds[(obj["apiVersion"], obj["kind"])].server_side_apply(
            body=obj, name=obj["metadata"]["name"], namespace=obj["metadata"].get("namespace"), field_manager="bench"
        )

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(apply, [o for o in objects if o["kind"] == "Namespace"]))
        list(pool.map(apply, [o for o in objects if o["kind"] != "Namespace"]))
    return time.monotonic() - began, len(objects)


def api_requests(kubeconfig: Path) -> float:
    """The server's own count of requests it served (apiserver_request_total, all verbs)."""
    import kubernetes  # noqa: PLC0415

    api = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
    method, url, headers, body, _auth = api.param_serialize("GET", "/metrics", auth_settings=["BearerToken"])
    response = api.call_api(method, url, header_params=headers, body=body)
    response.read()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in response.data.decode().splitlines()
        if line.startswith("apiserver_request_total{")
    )


def delete_bench_namespaces(kubeconfig: Path, prefixes: tuple[str, ...] = ()) -> None:
    """The bench's namespaces: cohort "bench" (and, by name, the floor's copies)."""
    import kubernetes  # noqa: PLC0415

    core = kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(config_file=str(kubeconfig)))
    selector = "app.kubernetes.io/managed-by=mlopslab,mlopslab.io/cohort=bench"

    def ours():
        return [n.metadata.name for n in core.list_namespace(label_selector=selector).items] + [
            n.metadata.name for n in core.list_namespace().items if prefixes and n.metadata.name.startswith(prefixes)
        ]

    for name in set(ours()):
        core.delete_namespace(name)
    deadline = time.monotonic() + 300
    while ours() and time.monotonic() < deadline:
        time.sleep(1)


def real_cluster(kubeconfig: Path, sizes: list[int]) -> None:
    print(
        f"{'students':>8} {'objects':>7} | {'deploy s':>8} {'task s':>6} {'apply s':>7} | {'rerun s':>7} "
        f"{'changed':>7} | {'raw SSA s':>9} {'task/raw':>8} {'apply/raw':>9} | {'API req/object':>14}"
    )
    env = {"K8S_AUTH_KUBECONFIG": str(kubeconfig)}
    rows = []
    for students in sizes:
        delete_bench_namespaces(kubeconfig)
        with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
            workdir, floor_dir = Path(tmp) / "lab", Path(tmp) / "floor"
            workdir.mkdir()
            floor_dir.mkdir()
            lab = (
                "-e",
                "mlopslab_namespace_prefix=b-",
                "-e",
                "mlopslab_wait=false",
                "-e",
                "mlopslab_capacity_check=warn",
            )
            before = api_requests(kubeconfig)
            applied = run_deploy(workdir, students, *lab, env=env)
            requests = api_requests(kubeconfig) - before
            rerun = run_deploy(workdir, students, *lab, env=env)
            # The floor: the same objects for other namespaces, new to the server as the first apply's were.
            run_deploy(floor_dir, students, "-e", "mlopslab_apply=false", "-e", "mlopslab_namespace_prefix=r-")
            floor, objects = raw_apply_seconds(kubeconfig, floor_dir / "build" / "manifests")
        delete_bench_namespaces(kubeconfig, prefixes=("b-", "r-"))
        step = applied["steps"].get("apply and prune", 0.0)
        rows.append((students, applied))
        print(
            f"{students:>8} {objects:>7} | {applied['wall']:>8.1f} {applied['apply']:>6.1f} {step:>7.2f} | "
            f"{rerun['wall']:>7.1f} {rerun['changed']:>7} | {floor:>9.2f} {applied['apply'] / floor:>8.2f} "
            f"{step / floor:>9.2f} | {requests / objects:>14.2f}"
        )
        print(
            "          pipeline steps, first deploy: " + ", ".join(f"{k} {v:.2f}" for k, v in applied["steps"].items())
        )
        print("          pipeline steps, rerun:        " + ", ".join(f"{k} {v:.2f}" for k, v in rerun["steps"].items()))
    if len(rows) > 1:
        (n0, a0), (n1, a1) = rows[-2], rows[-1]
        print(f"each added student ({n0} -> {n1}): deploy task {(a1['apply'] - a0['apply']) / (n1 - n0):.3f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="1,10,30", help="rendered, and applied to the emulator")
    parser.add_argument("--render-only", default="100", help="rendered only ('' for none)")
    parser.add_argument("--kubeconfig", type=Path, help="measure against this (real) API server instead")
    options = parser.parse_args()
    if options.kubeconfig:
        real_cluster(options.kubeconfig, [int(s) for s in options.sizes.split(",") if s])
        return 0
    sizes = [int(s) for s in options.sizes.split(",") if s]
    render_only = [int(s) for s in options.render_only.split(",") if s]
    rows = []
    for students in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
            workdir = Path(tmp)
            rendered = run_deploy(workdir, students, "-e", "mlopslab_apply=false")
            with EmulatedCluster(workdir / "kubeconfig", seed_files=[CLUSTER_FIXTURES / "nodes.yml"]) as cluster:
                env = {"K8S_AUTH_KUBECONFIG": str(cluster.kubeconfig)}
                # warn: the capacity check runs (its two list calls are part of the figure), but the
                # 3-node fixture cluster holds 25 students and the bench goes to 100.
                applied = run_deploy(
                    workdir, students, "-e", "mlopslab_wait=false", "-e", "mlopslab_capacity_check=warn", env=env
                )
                requests = cluster.requests_made()
            with EmulatedCluster(workdir / "kubeconfig-raw") as cluster:
                floor, objects = raw_apply_seconds(cluster.kubeconfig, workdir / "build" / "manifests")
            rows.append((students, objects, rendered, applied, requests, floor))

    print(
        f"{'students':>8} {'objects':>7} | {'render s':>8} {'modules':>7} | {'deploy s':>8} {'apply s':>7} "
        f"{'modules':>7} {'API req':>7} | {'raw SSA s':>9} {'apply/raw':>9}"
    )
    for students, objects, rendered, applied, requests, floor in rows:
        print(
            f"{students:>8} {objects:>7} | {rendered['wall']:>8.1f} {rendered['modules']:>7} | "
            f"{applied['wall']:>8.1f} {applied['apply']:>7.1f} {applied['modules']:>7} {requests:>7} | "
            f"{floor:>9.2f} {applied['apply'] / floor:>9.2f}"
        )
    for students in render_only:
        with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
            rendered = run_deploy(Path(tmp), students, "-e", "mlopslab_apply=false")
            files = sorted((Path(tmp) / "build" / "manifests").glob("*/lab.yaml"))
            objects = sum(1 for f in files for _obj in yaml.safe_load_all(f.read_text()))
        print(
            f"{students:>8} {objects:>7} | {rendered['wall']:>8.1f} {rendered['modules']:>7} | (render only; "
            f"the settings check of all {students} students: {rendered['validate']:.2f} s)"
        )
    if len(rows) > 1:
        (n0, *_cols0, r0, a0), (n1, *_cols1, r1, a1) = rows[-2][:-2], rows[-1][:-2]
        per = n1 - n0
        render_cost = (r1["wall"] - r0["wall"]) / per
        deploy_cost = (a1["wall"] - a0["wall"]) / per
        apply_cost = (a1["apply"] - a0["apply"]) / per
        print(
            f"\ncost per added student ({n0} -> {n1}): render {render_cost:.3f} s, deploy {deploy_cost:.3f} s, "
            f"apply {apply_cost:.3f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
