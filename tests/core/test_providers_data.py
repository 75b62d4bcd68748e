"""The bundled provider data is the ISPDB snapshot plus the reviewed overlay, and nothing else.

The snapshot is ``../shared/ispdb`` beside the clone (CI has it there), or ``EMAIL_ACCOUNT_ISPDB``.
Without it these tests fail: a skipped consistency check would let hand edits through unseen.
"""

import os
import shutil

import pytest

from tools import build_providers

SNAPSHOT = os.environ.get("EMAIL_ACCOUNT_ISPDB") or build_providers.DEFAULT_SNAPSHOT


@pytest.fixture(scope="module")
def snapshot():
    if not os.path.isdir(SNAPSHOT):
        pytest.fail(
            f"The ISPDB snapshot is not at {os.path.abspath(SNAPSHOT)}: put the ispdb/ folder of "
            "thunderbird/autoconfig there (CI has it in ../shared/ispdb), or set EMAIL_ACCOUNT_ISPDB.",
            pytrace=False,
        )
    return SNAPSHOT


def _bundled():
    with open(build_providers.BUNDLED, "rb") as handle:
        return handle.read()


def test_the_bundled_file_is_exactly_a_rebuild_of_the_snapshot_and_overlay(snapshot):
    first, second = build_providers.build(snapshot), build_providers.build(snapshot)
    assert first == second  # the same snapshot gives the same bytes
    assert _bundled() == first, "mailcore/data/providers.xml differs: run tools/build_providers.py"


def test_every_snapshot_provider_and_domain_is_bundled_with_its_servers(snapshot):
    assert build_providers.disagreements(_bundled(), snapshot) == []
    providers, _version = build_providers.read_snapshot(snapshot)
    bundled = _bundled().decode()
    assert all(f"<domain>{domain}</domain>" in bundled for p in providers.values() for domain in p["domains"])


def test_a_hand_edit_without_an_overlay_reason_is_found(snapshot):
    """Ports, hosts, domains or whole providers changed in the bundled file alone are each named."""
    bundled = _bundled()
    edits = {
        b"<port>993</port>\n        <socketType>SSL</socketType>\n        <username>%EMAILADDRESS%</username>": (
            b"<port>143</port>\n        <socketType>SSL</socketType>\n        <username>%EMAILADDRESS%</username>"
        ),
        b"<hostname>in.alice.it</hostname>": b"<hostname>imap.virgilio.it</hostname>",
        b"<domain>alice.it</domain>": b"<domain>alice.example</domain>",
    }
    for old, new in edits.items():
        assert old in bundled
        problems = build_providers.disagreements(bundled.replace(old, new, 1), snapshot)
        assert problems, new
    dropped = bundled.replace(b'<emailProvider id="alice.it"', b'<emailProvider id="alice-it"')
    assert "alice.it: in the snapshot, missing from the bundled file" in build_providers.disagreements(
        dropped, snapshot
    )


def _overlay(tmp_path, entry):
    path = tmp_path / "overlay.xml"
    path.write_text(f"<overlay>{entry}</overlay>", encoding="utf-8")
    return str(path)


def test_an_overlay_entry_without_a_reason_is_refused(tmp_path, snapshot):
    for entry in (
        '<provider id="alice.it"><appPassword required="true" url="https://example.com"/></provider>',
        '<provider id="alice.it"><reason url="https://x.example/">  </reason><domain>a.example</domain></provider>',
        '<provider id="alice.it"><reason url="http://x.example/">why</reason><domain>a.example</domain></provider>',
        '<provider id="alice.it"><reason url="https://x.example/">why</reason></provider>',
        '<provider id="alice.it"><reason url="https://x.example/">why</reason><oauth provider="yahoo"/></provider>',
    ):
        with pytest.raises(build_providers.OverlayError):
            build_providers.read_overlay(_overlay(tmp_path, entry))
    assert build_providers.main([snapshot, "--overlay", _overlay(tmp_path, entry), "--check"]) == 2


def test_the_overlay_may_not_shadow_or_invent_providers_silently(tmp_path, snapshot):
    reason = '<reason url="https://x.example/">why</reason><domain>a.example</domain>'
    for entry in (
        f'<provider id="no-such-file">{reason}</provider>',
        f'<provider id="alice.it" new="true">{reason}</provider>',
    ):
        with pytest.raises(build_providers.OverlayError):
            build_providers.build(snapshot, _overlay(tmp_path, entry))


def test_every_overlay_entry_states_why_with_a_link():
    entries = build_providers.read_overlay()  # raises on the first entry without one
    assert entries and all(entry.find("reason").get("url").startswith("https://") for entry in entries)


def test_the_build_script_takes_the_snapshot_folder_and_a_missing_one_fails_loudly(tmp_path, snapshot):
    copy = tmp_path / "ispdb"
    shutil.copytree(snapshot, copy)
    output = tmp_path / "providers.xml"
    assert build_providers.main([str(copy), "--output", str(output)]) == 0
    assert output.read_bytes() == _bundled()
    assert build_providers.main([str(copy), "--output", str(output), "--check"]) == 0
    (copy / "alice.it.xml").unlink()
    assert build_providers.main([str(copy), "--output", str(output), "--check"]) == 1
    assert build_providers.main([str(tmp_path / "missing"), "--output", str(output)]) == 2


def test_the_licence_of_the_derived_data_is_stated():
    notice = os.path.join(os.path.dirname(build_providers.BUNDLED), "NOTICE")
    with open(notice, encoding="utf-8") as handle:
        assert "Mozilla Public License, version 2.0" in handle.read()
    assert b"https://mozilla.org/MPL/2.0/" in _bundled()[:2000]
