"""What GNU Mailutils, Exim and Cyrus answered, replayed byte for byte by scripted servers: the replies
that Dovecot, aiosmtpd and Postfix do not give on demand."""

import ssl

import pytest

import faultservers
from mailcore import ServerSettings, check_account, check_server, open_session


def settings(protocol, server, security="none", **changes):
    values = {"host": "127.0.0.1", "login": "alice@example.test", "password": "Pässwörd-✓-1"}
    values.update(changes)
    return ServerSettings(protocol, port=server.port, security=security, sender="alice@example.test", **values)


@pytest.fixture
def tls_context(servers):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certs = servers["certs"]
    context.load_cert_chain(certs["good"], certs["good"].replace(".pem", ".key"))
    return context


def test_mailutils_pop3_refused_apop_falls_back_to_user(servers):
    received = []
    with faultservers.ScriptedServer(faultservers.mailutils_pop3(received=received)) as server:
        result = check_server(settings("pop3", server))
    assert result.ok, result.message
    assert result.facts["login_method"] == "USER"
    assert received[:4] == ["CAPA", "APOP", "USER", "PASS"]


def test_mailutils_pop3_over_tls_uses_what_capa_advertises(servers, tls_context):
    received = []
    with faultservers.ScriptedServer(faultservers.mailutils_pop3(tls_context, received)) as server:
        result = check_server(settings("pop3", server, "ssl", host="localhost", cafile=servers["ca_file"]))
    assert result.ok, result.message
    assert result.facts["login_method"] == "USER"
    assert "APOP" not in received


def test_mailutils_pop3_with_safe_logon_says_why(servers):
    with faultservers.ScriptedServer(faultservers.mailutils_pop3()) as server:
        result = check_server(settings("pop3", server, safe_logon=True))
    assert (result.code, result.stage) == ("apop_refused", "auth")
    assert result.params["reason"] == "-ERR [AUTH] Bad login"
    assert result.params["offered"] == "USER"
    assert "Safe logon" in result.message


def test_pop3_server_text_is_shown_as_text_not_bytes(servers):
    """Every POP3 refusal carried Python's repr of the line: (b'-ERR ...')."""
    with faultservers.ScriptedServer(faultservers.mailutils_pop3()) as server:
        result = check_server(settings("pop3", server, auth_mechanism="APOP"))
    assert result.code == "auth_failed"
    assert "(-ERR [AUTH] Bad login)" in result.message
    assert "b'" not in result.message


def test_mailutils_imap_bare_lf_after_authenticate(servers):
    with faultservers.ScriptedServer(faultservers.mailutils_imap) as server:
        result = check_server(settings("imap", server))
    assert result.ok, result.message
    assert result.facts["login_method"] == "PLAIN"


@pytest.mark.parametrize(
    ("rcpt_reply", "code"),
    [
        (b"550 Administrative prohibition\r\n", "auth_required_before_send"),
        (b"550 relay not permitted\r\n", "auth_required_before_send"),
        (b"550 Unrouteable address\r\n", "recipient_rejected"),
    ],
)
def test_exim_refusals_without_login(rcpt_reply, code):
    with faultservers.ScriptedServer(faultservers.exim_smtp(rcpt_reply)) as server:
        result = check_server(settings("smtp", server, login="", password=""))
    assert (result.code, result.stage) == (code, "sender")
    assert result.params["reason"] == rcpt_reply.decode().strip()


def sink(servers):
    return ServerSettings("smtp", "127.0.0.1", servers["smtp"]["sink"], "none", sender="alice@example.test")


def test_cyrus_login_delay_one_login_serves_both_sides(servers):
    """POP-before-SMTP against a POP3 server allowing one login a minute: the check logs in once."""
    cyrus = faultservers.CyrusPop3()
    with faultservers.ScriptedServer(cyrus) as server:
        for _ in range(3):
            cyrus.logins.clear()
            result = check_account(sink(servers), settings("pop3", server), login_before_send=True)
            assert result.ok, (result.outgoing.message, result.incoming.message)
            assert (len(cyrus.logins), cyrus.refused) == (1, 0)
            assert result.outgoing.facts["login_before_send"] == "pop3"


def test_cyrus_sending_right_after_a_check(servers):
    """The refused login before sending means the mailbox was logged in to a moment ago: the
    POP-before-SMTP window is open, so the session goes on."""
    cyrus = faultservers.CyrusPop3()
    with faultservers.ScriptedServer(cyrus) as server:
        assert check_server(settings("pop3", server)).ok
        client = open_session(sink(servers), timeout=5, login_first=settings("pop3", server))
        client.quit()
    assert (len(cyrus.logins), cyrus.refused) == (1, 1)


def test_cyrus_login_delay_is_explained(servers):
    cyrus = faultservers.CyrusPop3()
    with faultservers.ScriptedServer(cyrus) as server:
        assert check_server(settings("pop3", server)).ok
        result = check_server(settings("pop3", server))
    assert (result.code, result.stage) == ("login_delay", "auth")
    assert result.params["reason"] == "-ERR [LOGIN-DELAY] Minimum time between mailbox checks not reached"
    assert "a moment ago" in result.message


def test_failed_login_before_send_is_reported_for_the_outgoing_server(servers):
    """A wrong password on the incoming server: the outgoing result stays the SMTP server's own."""
    with faultservers.ScriptedServer(faultservers.mailutils_pop3()) as server:
        result = check_account(sink(servers), settings("pop3", server, safe_logon=True), login_before_send=True)
    assert result.incoming.code == result.outgoing.code == "apop_refused"
    assert (result.outgoing.protocol, result.outgoing.port) == ("smtp", servers["smtp"]["sink"])
    assert result.outgoing.stage == "auth"
