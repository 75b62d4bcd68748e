"""tests/harness/odoo_setup.py: an Odoo source is unpacked or cloned once, and half-done work is redone.

Small stand-ins for an Odoo source (a folder with an `odoo-bin` and a `requirements.txt`) keep these
fast; the real shared source is what `make test` itself sets up.
"""

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[1] / "harness"


@pytest.fixture
def setup(monkeypatch):
    monkeypatch.syspath_prepend(str(HARNESS))
    monkeypatch.delenv("ODOO_SOURCE", raising=False)
    import odoo_setup  # lives in tests/harness: importable once that is on the path

    return odoo_setup


def make_tarball(path, top="odoo-18.0", requirements=""):
    with tarfile.open(path, "w:gz") as tar:
        for name, text in ((f"{top}/odoo-bin", "#!/usr/bin/env python3\n"), (f"{top}/requirements.txt", requirements)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_a_tarball_is_unpacked_once_and_reused(setup, tmp_path):
    archive = make_tarball(tmp_path / "odoo.tar.gz")
    root = tmp_path / "checkout"
    first = setup.source_tree(root, str(archive))
    assert (first / "odoo-bin").is_file()
    assert first.is_relative_to(root / ".odoo" / "src")
    (first / "sentinel").write_text("kept")
    assert setup.source_tree(root, str(archive)) == first
    assert (first / "sentinel").read_text() == "kept", "the second run reused the unpacked source"


def test_a_changed_tarball_replaces_the_old_source(setup, tmp_path):
    root = tmp_path / "checkout"
    old = setup.source_tree(root, str(make_tarball(tmp_path / "a.tar.gz", requirements="old\n")))
    new = setup.source_tree(root, str(make_tarball(tmp_path / "b.tar.gz", requirements="new\n")))
    assert new != old and not old.exists()
    assert (new / "requirements.txt").read_text() == "new\n"


def test_a_truncated_tarball_is_one_clear_error_and_leaves_nothing(setup, tmp_path):
    whole = make_tarball(tmp_path / "whole.tar.gz").read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    root = tmp_path / "checkout"
    with pytest.raises(setup.SetupError, match=r"is not a complete \.tar\.gz .*fetch it again"):
        setup.source_tree(root, str(cut))
    assert list((root / ".odoo" / "src").iterdir()) == [], "no half-unpacked folder is left to be trusted"


def test_an_interrupted_unpack_is_redone(setup, tmp_path):
    archive = make_tarball(tmp_path / "odoo.tar.gz")
    root = tmp_path / "checkout"
    target = setup.source_tree(root, str(archive)).parent
    # As a killed run leaves it: a temporary folder, and the target without its odoo-bin.
    leftover = target.parent / f".{target.name}.interrupted"
    leftover.mkdir()
    (target / "odoo-18.0" / "odoo-bin").unlink()
    again = setup.source_tree(root, str(archive))
    assert (again / "odoo-bin").is_file()
    assert not leftover.exists()


@pytest.mark.parametrize(
    ("spec", "message"),
    [("missing.tar.gz", "does not exist"), ("folder", "has no odoo-bin")],
)
def test_a_source_that_is_no_odoo_says_so(setup, tmp_path, spec, message):
    (tmp_path / "folder").mkdir()
    with pytest.raises(setup.SetupError, match=message):
        setup.source_tree(tmp_path / "checkout", str(tmp_path / spec))


def test_a_folder_is_used_where_it_is(setup, tmp_path):
    source = tmp_path / "odoo"
    source.mkdir()
    (source / "odoo-bin").write_text("")
    assert setup.source_tree(tmp_path / "checkout", str(source)) == source
    assert not (tmp_path / "checkout" / ".odoo").exists()


def test_a_git_source_is_cloned_shallow_at_its_branch(setup, tmp_path):
    repo = tmp_path / "repo"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.test", "-C", str(repo)]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "requirements.txt").write_text("")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "main"], check=True)
    subprocess.run([*git, "checkout", "-qb", "18.0"], check=True)
    (repo / "odoo-bin").write_text("")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "18.0"], check=True)
    root = tmp_path / "checkout"
    tree = setup.source_tree(root, f"file://{repo}#18.0")
    assert (tree / "odoo-bin").is_file()
    with pytest.raises(setup.SetupError, match="git clone .* failed"):
        setup.source_tree(root, f"file://{repo}#17.0")


def test_the_default_source_is_the_shared_tarball_else_the_official_branch(setup, tmp_path):
    root = tmp_path / "checkout"
    assert setup.source_spec(root) == setup.OFFICIAL
    shared = tmp_path / "shared" / "odoo"
    shared.mkdir(parents=True)
    make_tarball(shared / "odoo-18.0.tar.gz")
    assert setup.source_spec(root) == str(shared / "odoo-18.0.tar.gz")


def test_a_half_built_environment_is_rebuilt_and_a_finished_one_reused(setup, tmp_path, monkeypatch):
    monkeypatch.setattr(setup, "EXTRA", [])  # nothing to download: an empty requirement list
    root, odoo = tmp_path / "checkout", tmp_path / "odoo"
    for folder in (root, odoo):
        folder.mkdir()
        (folder / "requirements.txt").write_text("")
    broken = root / ".odoo" / "venv" / "bin" / "python"
    broken.parent.mkdir(parents=True)
    broken.write_text("not a python")  # as an interrupted venv creation can leave it
    python = setup.environment(root, odoo)
    assert subprocess.run([python, "-c", "import sys; print(sys.prefix)"], capture_output=True, check=True).stdout
    log = root / ".odoo" / "pip.log"
    built = log.stat().st_mtime_ns
    os.utime(log, ns=(built - 10**9, built - 10**9))
    assert setup.environment(root, odoo) == python
    assert log.stat().st_mtime_ns == built - 10**9, "an unchanged environment is not reinstalled"
    (odoo / "requirements.txt").write_text("pip\n")  # a new requirement the fresh venv already meets
    setup.environment(root, odoo)
    assert log.stat().st_mtime_ns != built - 10**9, "changed requirements are installed again"
