# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting for a cohort: one loop, one clock, one deadline for every cluster, and a predicate
per condition (as kubernetes.core's module_utils/k8s/waiter.py has one per kind).

Each round lists, per cluster not yet done, the cohort's objects of one kind (one request per
cluster, never one per object) and asks the predicate whether its namespaces are done. A list
that fails is retried like objects not ready yet, until the deadline. What each cluster last
said is returned in the shape of a loop's registered results (``item`` the cluster, then
``resources`` or, when its last list failed, ``failed`` and ``msg``), which deploy's and
teardown's outcomes already read. Pure apart from the injected list, clock and sleep."""

from __future__ import annotations

import time


def wait(clusters: list[dict], list_objects, done, timeout: float, interval: float,
         clock=time.monotonic, sleep=time.sleep) -> dict:  # fmt: skip
    """Poll until ``done(objects, cluster['namespaces'])`` holds on every cluster, or ``timeout``
    seconds have passed. ``list_objects(cluster)`` returns the objects or raises OSError."""
    deadline = clock() + timeout
    last: dict[str, dict] = {}
    pending = list(clusters)
    rounds = 0
    while True:
        rounds += 1
        still = []
        for cluster in pending:
            try:
                objects = list_objects(cluster)
            except OSError as err:
                last[cluster["name"]] = {"item": cluster, "failed": True, "msg": str(err)}
                still.append(cluster)
                continue
            last[cluster["name"]] = {"item": cluster, "resources": objects}
            if not done(objects, cluster["namespaces"]):
                still.append(cluster)
        pending = still
        if not pending or clock() >= deadline:
            break
        sleep(min(interval, max(0.0, deadline - clock())))
    return {
        "results": [last[c["name"]] for c in clusters],
        "done": not pending,
        "rounds": rounds,
    }
