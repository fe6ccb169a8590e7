"""The cohort's wait: one clock and one deadline for every cluster, a failed list retried."""

from __future__ import annotations

from plugins.module_utils.common.waiter import wait
from plugins.module_utils.deploy.outcomes import unavailable

A = {"name": "a", "namespaces": ["user01"]}
B = {"name": "b", "namespaces": ["user02"]}


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def deployment(namespace, ready):
    return {"metadata": {"namespace": namespace, "name": "prometheus", "generation": 1},
            "spec": {"replicas": 1},
            "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
                       "availableReplicas": 1 if ready else 0, "readyReplicas": 1 if ready else 0,
                       "conditions": [{"type": "Available", "status": "True" if ready else "False"}]}}  # fmt: skip


def available(objects, namespaces):
    return not unavailable(objects, namespaces)


def test_each_cluster_is_listed_until_done_and_no_longer():
    clock, asked = Clock(), []
    ready_at = {"a": 0, "b": 10}

    def list_objects(cluster):
        asked.append((cluster["name"], clock.now))
        ns = cluster["namespaces"][0]
        return [deployment(ns, clock.now >= ready_at[cluster["name"]])]

    answer = wait([A, B], list_objects, available, 60, 5, clock=clock, sleep=clock.sleep)
    assert answer["done"] and answer["rounds"] == 3
    assert asked == [("a", 0), ("b", 0), ("b", 5), ("b", 10)]
    assert [r["item"]["name"] for r in answer["results"]] == ["a", "b"]


def test_one_deadline_for_all_clusters_and_the_last_answer_kept():
    clock = Clock()

    def list_objects(cluster):
        if cluster["name"] == "b":
            raise OSError("HTTP 503 from /apis/apps/v1/deployments")
        return [deployment("user01", False)]

    answer = wait([A, B], list_objects, available, 12, 5, clock=clock, sleep=clock.sleep)
    assert not answer["done"]
    assert clock.now == 12  # the last sleep is cut to the deadline
    a, b = answer["results"]
    assert a["resources"][0]["status"]["availableReplicas"] == 0
    assert b == {"item": B, "failed": True, "msg": "HTTP 503 from /apis/apps/v1/deployments"}


def test_a_list_that_fails_then_answers_is_judged_on_its_answer():
    clock, calls = Clock(), []

    def list_objects(cluster):
        calls.append(clock.now)
        if len(calls) == 1:
            raise OSError("connection refused")
        return [deployment("user01", True)]

    answer = wait([A], list_objects, available, 60, 2, clock=clock, sleep=clock.sleep)
    assert answer["done"] and answer["results"][0]["resources"]
    assert calls == [0, 2]
