# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files that hold secrets (manifests with the Grafana Secret, kubeconfigs, handouts, the access
sheet): read as they stand, written atomically and mode 0600 from the start. One place for the
action plugins and the student_access module alike."""

from __future__ import annotations

import os
import tempfile


def read_text(path: str) -> str | None:
    """The file's text, or None when there is no such file."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def make_private_dirs(directory: str) -> None:
    """Every missing folder on the way made 0700 (os.makedirs gives its mode to the last only, so
    build/ and build/credentials/ came out 0755 on the way to a secret)."""
    missing = []
    while directory and not os.path.isdir(directory):
        missing.append(directory)
        directory = os.path.dirname(directory)
    for folder in reversed(missing):
        try:
            os.mkdir(folder, mode=0o700)
        except FileExistsError:
            if not os.path.isdir(folder):
                raise


def write_private(path: str, text: str) -> None:
    """Atomically (never a half-written file), mode 0600 from the start, in 0700 folders."""
    directory = os.path.dirname(path)
    make_private_dirs(directory)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_if_changed(path: str, text: str) -> bool:
    """write_private unless the file already holds exactly `text`; whether it wrote."""
    if read_text(path) == text:
        return False
    write_private(path, text)
    return True


GITIGNORE = "# Written by mlopslab.monitoring: this folder holds passwords, tokens and kubeconfigs.\n*\n"


def keep_out_of_git(folder: str) -> bool:
    """A .gitignore that ignores everything in ``folder`` (itself included), so the course folder's
    git never takes in a password, a token or a kubeconfig, wherever the outputs are written. Not
    in a repository's own root (.git there): that would hide the repository. True when written."""
    path = os.path.join(folder, ".gitignore")
    if os.path.exists(path) or os.path.exists(os.path.join(folder, ".git")):
        return False
    write_private(path, GITIGNORE)
    return True
