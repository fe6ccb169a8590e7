"""A quota count left above what exists: which refusals are the lab's own quota's, and when the
quota controller has counted again (module_utils/deploy/recount.py)."""

from plugins.module_utils.deploy import recount

# The API server's own words, as the real-cluster tier's CI run printed them.
SAID = ('Failed to apply object: services "grafana" is forbidden: exceeded quota: lab-quota, requested: services=1, '
        "used: services=5, limited: services=5")  # fmt: skip


def obj(kind, name, namespace="user01"):
    return {"kind": kind, "metadata": {"name": name, "namespace": namespace}}


def test_the_refusals_of_a_quota_are_found_per_namespace():
    objects = [obj("Service", "grafana"), obj("ConfigMap", "x"), obj("Service", "grafana", "user02")]
    results = [{"failed": True, "error": {"msg": SAID}}, {"failed": True, "error": {"msg": "Forbidden"}},
               {"changed": True}]  # fmt: skip
    found = recount.refusals(results, objects)
    assert found == {"user01": {"quota": "lab-quota", "resources": {"services"}, "indexes": [0]}}


def test_recounted_once_the_count_is_what_exists():
    quota = {"status": {"used": {"services": "5", "pods": "3"}}}
    assert not recount.recounted(quota, {"services"}, {"services": 2})
    quota["status"]["used"]["services"] = "2"
    assert recount.recounted(quota, {"services"}, {"services": 2})
    assert recount.recounted({"status": {}}, {"services"}, {"services": 0})
