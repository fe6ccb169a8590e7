"""Loading students' kubeconfigs from several threads at once, as verify's access check does: each
client gets its cluster's CA, never an empty file (the kubernetes client's shared temporary CA file
is named before it is written: module_utils/common/lab_io.py)."""

from __future__ import annotations

import base64
import secrets
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from plugins.module_utils.common.lab_io import client_from_kubeconfig


def kubeconfig(path: Path, ca: str) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443",
                                               "certificate-authority-data": base64.b64encode(ca.encode()).decode()}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u", "namespace": "user01"}}],
    }))  # fmt: skip
    return path


def test_every_thread_gets_its_clusters_ca(tmp_path):
    # Threads switched as often as the interpreter can: the library's window shows within a few
    # rounds without the lock (measured: 3 runs of 3 failed), never with it.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        rounds(tmp_path)
    finally:
        sys.setswitchinterval(interval)


def rounds(tmp_path):
    for round_ in range(60):
        # A CA no earlier load has seen: the library writes a new temporary file for it.
        ca = f"-----BEGIN CERTIFICATE-----\n{secrets.token_hex(32)}\n-----END CERTIFICATE-----\n"
        paths = [kubeconfig(tmp_path / f"r{round_}-s{n}.yaml", ca) for n in range(8)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            # The CA as each thread's first request would read it: at once, in that thread.
            seen = list(pool.map(lambda p: Path(client_from_kubeconfig(str(p)).configuration.ssl_ca_cert).read_text(),
                                 paths))  # fmt: skip
        assert seen == [ca] * len(paths)
