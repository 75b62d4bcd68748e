"""What a successful check learns about the server, and how long each stage took."""

import pytest

from accounts import settings_for
from mailcore import ServerSettings, check_server


@pytest.mark.parametrize("protocol", ["smtp", "imap", "pop3"])
def test_tls_and_certificate_facts(servers, protocol):
    result = check_server(settings_for(servers, protocol, "ssl"))
    assert result.ok, result.message
    facts = result.facts
    assert facts["tls_version"] in {"TLSv1.2", "TLSv1.3"}
    assert facts["tls_cipher"]
    certificate = facts["certificate"]
    assert certificate["subject"] == "localhost"
    assert certificate["issuer"] != certificate["subject"]
    assert certificate["not_before"] < certificate["not_after"]
    assert len(certificate["sha256"]) == 64
    assert "SCRAM-SHA-256" in facts["auth_mechanisms"]
    assert facts["banner"]
    for stage in ("resolve", "connect", "tls", "capabilities", "auth"):
        assert stage in result.timings
    assert set(result.timings) <= {"resolve", "connect", "tls", "greeting", "capabilities", "auth", "mailbox", "sender"}


def test_smtp_facts(servers):
    result = check_server(settings_for(servers, "smtp", "starttls"))
    assert result.ok, result.message
    assert "sender" in result.timings
    assert result.facts["size_limit"] is None  # Dovecot announces SIZE with no fixed limit
    assert "PIPELINING" in [name.upper() for name in result.facts["extensions"]]


def test_smtp_size_limit(servers):
    sink = ServerSettings("smtp", "127.0.0.1", servers["smtp"]["sink"], "none", sender="a@example.test")
    result = check_server(sink)
    assert result.ok, result.message
    assert result.facts["size_limit"] == 33554432


def test_imap_facts(servers, deliver, harness):
    deliver("bob", b"Subject: counted\r\n\r\nOne more.\r\n")  # bob's INBOX: the Odoo tier fetches alice's
    result = check_server(settings_for(servers, "imap", "starttls", user="bob"))
    assert result.ok, result.message
    assert {"IDLE", "MOVE", "UIDPLUS"} <= set(result.facts["capabilities"])
    assert "mailbox" in result.timings
    assert result.facts["messages"] == harness.mailbox_size(servers, "bob") > 0


def test_pop3_facts(servers, deliver, harness):
    deliver("bob", b"Subject: counted\r\n\r\nOne more.\r\n")  # bob's INBOX: the Odoo tier fetches alice's
    result = check_server(settings_for(servers, "pop3", "starttls", user="bob"))
    assert result.ok, result.message
    assert {"UIDL", "TOP"} <= set(result.facts["capabilities"])
    assert result.facts["messages"] == harness.mailbox_size(servers, "bob") > 0


@pytest.mark.parametrize("protocol", ["smtp", "imap", "pop3"])
def test_unencrypted_check_notes_that_starttls_was_on_offer(servers, protocol):
    result = check_server(settings_for(servers, protocol, "none"))
    assert result.ok, result.message
    assert result.facts["starttls_offered"] is True
    assert "tls_version" not in result.facts
