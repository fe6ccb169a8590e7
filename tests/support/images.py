"""Container images for the real node, assembled here from registry packages: no container
registry is reachable. Each is an OCI image archive (oci-layout, index.json, a config and one
layer, uncompressed) that `ctr images import` loads; cached under .cache/images/ by content.

- mlopslab.local/pause:1       Debian's busybox-static, sleeping (the pod sandbox).
- mlopslab.local/prometheus:v<debian version>
                               Debian's prometheus binary and the C library it links (Debian 12
                               serves 2.42; the role defaults to quay.io's v2.53.2).
- mlopslab.local/ab-exporter:1 Debian's python3.11 (interpreter, standard library and the
                               libraries it links) with the exporter's dependencies from PyPI
                               (exporter/requirements.txt, pip --only-binary): what
                               exporter/Containerfile describes, without a registry.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "images"
NOBODY = 65534
PASSWD = "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
GROUP = "root:x:0:\nnogroup:x:65534:\n"


def _libraries(binary: str) -> list[str]:
    """The shared libraries a binary links (ldd), the loader included."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=False).stdout
    found = []
    for line in out.splitlines():
        parts = line.split()
        path = parts[2] if "=>" in parts and len(parts) > 2 else parts[0] if parts and parts[0].startswith("/") else ""
        if path.startswith("/"):
            found.append(path)
    return found


def _add(layer: tarfile.TarFile, source: Path, target: str) -> None:
    """A file or a tree from this machine at `target` in the image (symlinks resolved)."""
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if "__pycache__" in path.parts or path.is_dir():
                continue
            _add(layer, path, target + "/" + str(path.relative_to(source)))
        return
    info = layer.gettarinfo(str(source.resolve()), arcname=target.lstrip("/"))
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0  # the same inputs give the same layer, so the cache key holds
    with open(source.resolve(), "rb") as handle:
        layer.addfile(info, handle)


def _add_text(layer: tarfile.TarFile, target: str, text: str, mode: int = 0o644) -> None:
    data = text.encode()
    info = tarfile.TarInfo(target.lstrip("/"))
    info.size, info.mode, info.mtime = len(data), mode, 0
    layer.addfile(info, io.BytesIO(data))


def _blob(directory: Path, data: bytes) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    (directory / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (directory / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def oci_archive(reference: str, files, config: dict, out: Path) -> Path:
    """Write an OCI image archive for `reference`; `files(layer)` fills the single layer."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as layer:
        files(layer)
    data = buffer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(data).hexdigest()
    with tempfile.TemporaryDirectory() as root:
        directory = Path(root)
        layer_desc = {"mediaType": "application/vnd.oci.image.layer.v1.tar", **_blob(directory, data)}
        image_config = {
            "architecture": "amd64",
            "os": "linux",
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created_by": "tests/support/images.py"}],
        }
        config_desc = {"mediaType": "application/vnd.oci.image.config.v1+json",
                       **_blob(directory, json.dumps(image_config).encode())}  # fmt: skip
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": config_desc, "layers": [layer_desc]}  # fmt: skip
        manifest_desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                         **_blob(directory, json.dumps(manifest).encode()),
                         "annotations": {"io.containerd.image.name": reference,
                                         "org.opencontainers.image.ref.name": reference.rsplit(":", 1)[1]}}  # fmt: skip
        (directory / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        (directory / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [manifest_desc]}))
        out.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(out, "w") as archive:
            for path in sorted(directory.rglob("*")):
                if path.is_file():
                    archive.add(path, arcname=str(path.relative_to(directory)))
    return out


def _base(layer: tarfile.TarFile) -> None:
    _add_text(layer, "/etc/passwd", PASSWD)
    _add_text(layer, "/etc/group", GROUP)
    for folder in ("tmp", "etc", "proc", "sys", "dev"):
        info = tarfile.TarInfo(folder)
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o1777 if folder == "tmp" else 0o755, 0
        layer.addfile(info)


def pause() -> Path:
    busybox = Path("/bin/busybox")

    def files(layer):
        _base(layer)
        _add(layer, busybox, "/bin/busybox")

    config = {"Entrypoint": ["/bin/busybox", "sleep", "2147483647"], "User": f"{NOBODY}:{NOBODY}"}
    return oci_archive("mlopslab.local/pause:1", files, config, CACHE / "pause.tar")


def prometheus_version() -> str:
    out = subprocess.run(["/usr/bin/prometheus", "--version"], capture_output=True, text=True, check=True)
    return "v" + (out.stdout + out.stderr).split()[2].split("+")[0]


def prometheus() -> Path:
    def files(layer):
        _base(layer)
        _add(layer, Path("/usr/bin/prometheus"), "/bin/prometheus")
        for lib in _libraries("/usr/bin/prometheus"):
            _add(layer, Path(lib), lib)

    config = {"Entrypoint": ["/bin/prometheus"], "Cmd": ["--config.file=/etc/prometheus/prometheus.yml"],
              "User": f"{NOBODY}:{NOBODY}", "ExposedPorts": {"9090/tcp": {}}}  # fmt: skip
    return oci_archive(f"mlopslab.local/prometheus:{prometheus_version()}", files, config, CACHE / "prometheus.tar")


PYTHON = "/usr/bin/python3.11"
STDLIB_SKIP = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "pydoc_data", "unittest"}


def exporter() -> Path:
    deps = CACHE / "exporter-deps"
    if not deps.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
             # This Python is 3.11 on this machine's glibc, as the image's Debian python3.11 is.
             "--only-binary=:all:", "--target", str(deps), "-r", str(REPO / "exporter" / "requirements.txt")],
            check=True,
        )  # fmt: skip
    stdlib = Path("/usr/lib/python3.11")

    def files(layer):
        _base(layer)
        _add(layer, Path(PYTHON), "/usr/bin/python3.11")
        _add_text(layer, "/usr/bin/python", "#!/bin/sh\n", 0o755)  # replaced by a symlink below
        # The interpreter's libraries and its extension modules' (ssl, zlib, ctypes, numpy's).
        modules = [PYTHON, *map(str, stdlib.glob("lib-dynload/*.so")), *map(str, deps.rglob("*.so"))]
        for lib in sorted({lib for module in modules for lib in _libraries(module)} - set(modules)):
            if not lib.startswith(str(deps)):
                _add(layer, Path(lib), lib)
        for path in sorted(stdlib.iterdir()):
            if path.name not in STDLIB_SKIP | {"site-packages", "dist-packages"}:
                _add(layer, path, f"/usr/lib/python3.11/{path.name}")
        _add(layer, deps, "/usr/lib/python3/dist-packages")
        # No copy of the exporter's code: the Deployment mounts it from its ConfigMap at /src.

    def with_link(layer):
        files(layer)
        link = tarfile.TarInfo("usr/bin/python")
        link.type, link.linkname, link.mtime = tarfile.SYMTYPE, "python3.11", 0
        layer.addfile(link)

    config = {
        "Entrypoint": ["python", "-m", "ab_exporter"],
        "Env": ["PATH=/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", "OPENBLAS_NUM_THREADS=1"],
        "User": "65532:65532",
        "ExposedPorts": {"8000/tcp": {}},
    }
    return oci_archive("mlopslab.local/ab-exporter:1", with_link, config, CACHE / "exporter.tar")


def build_all() -> list[Path]:
    return [pause(), prometheus(), exporter()]


if __name__ == "__main__":
    for archive in build_all():
        print(f"{archive}: {archive.stat().st_size / 2**20:.1f} MiB")
