# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One run at a time per student: a coordination.k8s.io Lease in each student's namespace, held
by the run that changes that student and renewed while it lives (the way kube-controller-manager
and kube-scheduler elect their leader). Pure: the Lease bodies and the decisions over them; the
requests are made by module_utils/deploy/cluster.py.

Why a Lease per student and not one per cohort: a run may hold part of the cohort (``--limit``,
AWX's job slicing runs disjoint slices of one inventory at once), and two runs over disjoint
students must not block each other, while two over one student must. Each student's namespace is
also the one place every run over that student can write (the instructor's rights are granted per
namespace) and teardown removes the hold with the namespace.

A crashed run's hold expires on its own: a Lease whose renewTime is older than its
leaseDurationSeconds belongs to nobody, as client-go's leaderelection reads it."""

from __future__ import annotations

import datetime

NAME = "mlopslab-run"
# A run renews every RENEW seconds; a hold not renewed for DURATION seconds has expired.
DURATION = 60
RENEW = 15
HOLDER = "mlopslab.io/holder"  # annotation: who, where, since when (for the refusal's words)
LEASES = "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"


def microtime(epoch: float) -> str:
    """A MicroTime as the API writes it (RFC 3339 with microseconds, UTC)."""
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str | None) -> float | None:
    """A MicroTime or Time of the API as epoch seconds; None when absent or unreadable."""
    if not text:
        return None
    for form in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.datetime.strptime(text, form).replace(tzinfo=datetime.UTC).timestamp()
        except ValueError:
            continue
    return None


def body(namespace: str, labels: dict, identity: str, who: str, now: float, acquired: float | None = None,
         resource_version: str | None = None) -> dict:  # fmt: skip
    """The Lease this run writes (to take, renew or take over a hold)."""
    meta = {"name": NAME, "namespace": namespace, "labels": dict(labels), "annotations": {HOLDER: who}}
    if resource_version:
        meta["resourceVersion"] = resource_version  # an update only wins over the version it read
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": meta,
        "spec": {
            "holderIdentity": identity,
            "leaseDurationSeconds": DURATION,
            "acquireTime": microtime(acquired if acquired is not None else now),
            "renewTime": microtime(now),
        },
    }


def state(lease: dict | None, identity: str, now: float) -> str:
    """free (no Lease, or one nobody holds), ours, expired (not renewed in time: its run is gone)
    or held (by another run that is alive)."""
    spec = (lease or {}).get("spec") or {}
    holder = spec.get("holderIdentity")
    if not holder:
        return "free"
    if holder == identity:
        return "ours"
    renewed = parse_time(spec.get("renewTime")) or parse_time(spec.get("acquireTime"))
    duration = spec.get("leaseDurationSeconds") or DURATION
    if renewed is None or now > renewed + duration:
        return "expired"
    return "held"


def delete_options(resource_version: str) -> dict:
    """A run that is done deletes its Lease, only over the version it last wrote: a hold another run
    has taken over (a new version) is refused the delete (409) and stays theirs."""
    return {"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"resourceVersion": resource_version}}


def holder_said(lease: dict, now: float) -> str:
    """Who holds a Lease, in a person's words: 'alice@laptop (pid 4242) since 2026-12-07 19:16 UTC,
    renewed 5 s ago'."""
    meta = lease.get("metadata") or {}
    spec = lease.get("spec") or {}
    who = (meta.get("annotations") or {}).get(HOLDER) or spec.get("holderIdentity") or "an unknown run"
    acquired = parse_time(spec.get("acquireTime"))
    renewed = parse_time(spec.get("renewTime"))
    since = f" since {datetime.datetime.fromtimestamp(acquired, datetime.UTC):%Y-%m-%d %H:%M} UTC" if acquired else ""
    ago = f", renewed {max(0, round(now - renewed))} s ago" if renewed else ""
    return f"{who}{since}{ago}"


def refusal(cohort: str, held: dict[str, dict], now: float, compress) -> str:
    """The one message for a run that finds students held by another live run.

    ``held``: student -> the Lease that holds them; ``compress``: names -> 'user[01:30]'."""
    by_holder: dict[str, list[str]] = {}
    for student, lease in held.items():
        by_holder.setdefault(holder_said(lease, now), []).append(student)
    lines = [f"{compress(sorted(students))}: held by {who}" for who, students in sorted(by_holder.items())]
    return (
        f"Another run is changing cohort {cohort} (Lease {NAME} in each student's namespace); nothing was written:"
        + "".join(f"\n  - {line}" for line in lines)
        + f"\nWait until it ends. A run that died lets go on its own {DURATION} s after its last renewal. "
        "To take the hold over now, when you know that run is gone: -e mlopslab_lock_takeover=true "
        "(a run that loses its hold stops before its next write)."
    )
