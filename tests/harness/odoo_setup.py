"""Bring an Odoo 18 source and its Python environment into `.odoo/` of the checkout, once.

    odoo_setup.py ROOT     # prints "<odoo path>\\n<odoo python>", or one line on stderr and exit 1

`make test`, `make run` and `make bench` call this (through `find_odoo` in odoo_env.sh) when no
ODOO_PATH is given and no importable `odoo` is found. The source is ``$ODOO_SOURCE``: a `.tar.gz`, a
folder holding `odoo-bin`, or a git URL with an optional `#branch` (default 18.0). Unset, it is
``../shared/odoo/odoo-18.0.tar.gz`` beside the checkout if that exists, else a shallow clone of the
official repository's 18.0 branch.

Each step is finished or redone, never trusted half-done: a tarball is unpacked (or a repository
cloned) into a temporary folder that is renamed into place only when complete, and the virtual
environment carries a stamp of the requirements it was built from, written only after pip succeeded.
Only the standard library and `packaging` (from the project's .venv) are used.
"""

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import venv
import zlib
from pathlib import Path

from odoo_requirements import odoo_requirements

OFFICIAL = "https://github.com/odoo/odoo.git#18.0"
# Odoo's browser tests drive Chromium over its devtools websocket with this client.
EXTRA = ["websocket-client==1.8.0"]


class SetupError(Exception):
    """A step failed; the message is the one line the user sees (what failed, how to fix it)."""


def source_spec(root):
    spec = os.environ.get("ODOO_SOURCE", "").strip()
    if spec:
        return spec
    shared = root.parent / "shared" / "odoo" / "odoo-18.0.tar.gz"
    return str(shared) if shared.is_file() else OFFICIAL


def is_git(spec):
    return spec.endswith(".git") or "://" in spec.split("#")[0] or spec.startswith("git@") or ".git#" in spec


def odoo_dir(tree):
    """The folder of `tree` that holds odoo-bin (the tree itself or its single top folder)."""
    for candidate in (tree, *sorted(p for p in tree.iterdir() if p.is_dir())):
        if (candidate / "odoo-bin").is_file():
            return candidate
    return None


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def place(store, name, fill):
    """`store/name`, made by `fill(tmp)` in a temporary sibling and renamed when complete."""
    target = store / name
    if target.is_dir() and odoo_dir(target):
        return target
    store.mkdir(parents=True, exist_ok=True)
    for stale in store.iterdir():  # leftovers of an interrupted run and older sources
        if stale.name != name:
            shutil.rmtree(stale, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=store))
    try:
        fill(tmp)
        if not odoo_dir(tmp):
            raise SetupError("the Odoo source has no odoo-bin: set ODOO_SOURCE to an Odoo 18.0 source")
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def unpack(archive):
    def fill(tmp):
        say(f"unpacking {archive} into .odoo/src (once)")
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(tmp, filter="data")
        except (OSError, EOFError, tarfile.TarError, zlib.error) as e:
            raise SetupError(
                f"the Odoo source {archive} is not a complete .tar.gz ({e}): fetch it again, "
                "or point ODOO_SOURCE at another Odoo 18.0 source"
            ) from None

    return fill


def clone(url, branch):
    def fill(tmp):
        say(f"cloning {url} (branch {branch}, shallow, about 400 MB and a few minutes) into .odoo/src (once)")
        done = subprocess.run(
            ["git", "clone", "--quiet", "--depth", "1", "--branch", branch, url, str(tmp / "odoo")],
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if done.returncode:
            raise SetupError(
                f"git clone of {url} (branch {branch}) failed: check the network, or set ODOO_SOURCE to "
                "an Odoo 18.0 .tar.gz or folder"
            )

    return fill


def source_tree(root, spec):
    store = root / ".odoo" / "src"
    if is_git(spec):
        url, _, branch = spec.partition("#")
        name = "git-" + hashlib.sha256(f"{url}#{branch or '18.0'}".encode()).hexdigest()[:12]
        return odoo_dir(place(store, name, clone(url, branch or "18.0")))
    path = Path(spec).expanduser()
    if path.is_dir():
        found = odoo_dir(path)
        if not found:
            raise SetupError(f"ODOO_SOURCE={spec} has no odoo-bin: name the folder of an Odoo 18.0 source")
        return found
    if not path.is_file():
        raise SetupError(f"the Odoo source {spec} does not exist: set ODOO_SOURCE to an Odoo 18.0 .tar.gz or folder")
    return odoo_dir(place(store, "tar-" + sha256(path)[:12], unpack(path)))


def environment(root, odoo):
    """`.odoo/venv` with Odoo's requirements and the addon's; rebuilt only when those change."""
    wanted = odoo_requirements(odoo / "requirements.txt")
    wanted += (root / "requirements.txt").read_text(encoding="utf-8").splitlines() + EXTRA
    text = "\n".join(wanted) + "\n"
    stamp_text = f"{sys.version_info[:2]}\n{text}"
    home = root / ".odoo" / "venv"
    python = home / "bin" / "python"
    stamp = home / ".requirements"
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == stamp_text and runs(python):
        return python
    stamp.unlink(missing_ok=True)
    if not runs(python):
        say("creating Odoo's Python environment in .odoo/venv")
        shutil.rmtree(home, ignore_errors=True)
        venv.EnvBuilder(with_pip=True).create(home)
    requirements = root / ".odoo" / "requirements.txt"
    requirements.write_text(text, encoding="utf-8")
    log = root / ".odoo" / "pip.log"
    say(f"installing Odoo's Python requirements into .odoo/venv (about 2 minutes; log: {log})")
    with open(log, "w", encoding="utf-8") as out:
        done = subprocess.run(
            [python, "-m", "pip", "install", "--disable-pip-version-check", "--prefer-binary", "-r", requirements],
            check=False,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if done.returncode:
        raise SetupError(f"pip could not install Odoo's requirements into .odoo/venv: see {log}, then run make again")
    stamp.write_text(stamp_text, encoding="utf-8")
    return python


def runs(python):
    try:
        return subprocess.run([python, "-c", "pass"], check=False, capture_output=True).returncode == 0
    except OSError:  # missing, or not a program (an interrupted venv creation)
        return False


def say(text):
    sys.stderr.write(text + "\n")


def main(root):
    root = Path(root).resolve()
    (root / ".odoo").mkdir(exist_ok=True)
    try:
        # One set-up at a time per checkout (make test beside make run): the second waits, then reuses.
        with open(root / ".odoo" / ".lock", "w", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            odoo = source_tree(root, source_spec(root))
            python = environment(root, odoo)
    except SetupError as e:
        say(f"Odoo set-up failed: {e}")
        return 1
    sys.stdout.write(f"{odoo}\n{python}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
