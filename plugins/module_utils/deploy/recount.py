# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A quota count left above what exists, corrected so a rerun heals.

The API server charges a namespace's ResourceQuota (status.used) when it admits a create, before
it writes the object; a request cut off in between (its client killed mid-apply) leaves the
charge without the object. The quota controller recounts what exists only on its periodic resync
(5 minutes by default) or when the quota's hard list changes: until then a rerun is refused
"exceeded quota" for objects that would fit. Deploy touches the hard list of the lab's own quota
(a key of its own, set and removed), which makes the controller count what exists, then applies
the refused objects once more.

Pure helpers; the pipeline (deploy/pipeline.py) does the requests."""

from __future__ import annotations

import re

# A hard entry of this collection's own: an object count of a resource no cluster has, so it
# limits nothing; setting and removing it changes the hard list, which is what the controller
# watches.
RECOUNT_KEY = "count/recounts.mlopslab.io"
# The API server's words: exceeded quota: lab-quota, requested: services=1, used: services=5, limited: services=5
EXCEEDED = re.compile(r"exceeded quota: (?P<quota>[^,\s]+), requested: (?P<requested>[^\s]+), used: (?P<used>[^\s]+),")


def refusals(results: list[dict], objects: list[dict]) -> dict[str, dict]:
    """The namespaces whose own quota refused an object as exceeded: namespace -> {quota, resources,
    indexes} (``results`` and ``objects`` side by side, as the apply answers them)."""
    found: dict[str, dict] = {}
    for index, (result, obj) in enumerate(zip(results, objects, strict=True)):
        match = EXCEEDED.search(((result or {}).get("error") or {}).get("msg") or "")
        if not (result or {}).get("failed") or not match:
            continue
        namespace = (obj.get("metadata") or {}).get("namespace")
        entry = found.setdefault(namespace, {"quota": match["quota"], "resources": set(), "indexes": []})
        entry["resources"] |= {part.split("=", 1)[0] for part in match["requested"].split(",")}
        entry["indexes"].append(index)
    return found


def recounted(quota: dict, resources: set[str], counted: dict[str, int]) -> bool:
    """Whether the quota's status now counts these resources as ``counted`` (what exists) or less."""
    used = (quota.get("status") or {}).get("used") or {}
    return all(str(used.get(r, "0")).isdigit() and int(used.get(r, "0")) <= counted.get(r, 0) for r in resources)
