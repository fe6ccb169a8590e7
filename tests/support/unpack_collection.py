"""Unpack one collection out of the `ansible` wheel into a collections path.

Galaxy is unreachable on the course machines, but the `ansible` package on PyPI bundles the
collections. Installing all of it costs ~550 MB; this takes the one collection we need.

    python unpack_collection.py WHEEL kubernetes.core .collections/ansible_collections
"""

import shutil
import sys
import tempfile
import zipfile
from pathlib import Path


def unpack(wheel: Path, fqcn: str, dest: Path) -> Path:
    namespace, name = fqcn.split(".")
    prefix = f"ansible_collections/{namespace}/{name}/"
    target = dest / namespace / name
    with zipfile.ZipFile(wheel) as zf, tempfile.TemporaryDirectory(dir=dest) as tmp:
        members = [m for m in zf.namelist() if m.startswith(prefix)]
        if not members:
            raise SystemExit(f"{wheel}: holds no {fqcn}; pick an `ansible` release that bundles it")
        zf.extractall(tmp, members)
        # Swap in whole, so an interrupted run never leaves a half-unpacked collection behind.
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(Path(tmp) / prefix), target)
    return target


if __name__ == "__main__":
    wheel_path, collection, collections_dir = sys.argv[1:4]
    print(f"unpacked {unpack(Path(wheel_path), collection, Path(collections_dir))}")
