"""Whole-account checks: both directions at once, POP-before-SMTP, and one deadline for all."""

import time

import faultservers
from accounts import settings_for
from mailcore import ServerSettings, check_account


def test_outgoing_and_incoming_together(servers):
    result = check_account(settings_for(servers, "smtp", "starttls"), settings_for(servers, "imap", "ssl"))
    assert result.ok
    assert result.outgoing.ok and result.incoming.ok
    assert result.outgoing.protocol == "smtp" and result.incoming.protocol == "imap"


def test_one_side_only(servers):
    result = check_account(incoming=settings_for(servers, "pop3", "ssl"))
    assert result.ok and result.outgoing is None


def test_a_failing_side_fails_the_account(servers):
    result = check_account(
        settings_for(servers, "smtp", "ssl", password="wrong"), settings_for(servers, "pop3", "ssl")
    )
    assert not result.ok
    assert result.outgoing.code == "auth_failed"
    assert result.incoming.ok


def test_both_sides_share_one_deadline():
    with faultservers.ScriptedServer(faultservers.tarpit) as smtp, faultservers.ScriptedServer(
        faultservers.tarpit
    ) as imap:
        started = time.monotonic()
        result = check_account(
            ServerSettings("smtp", "127.0.0.1", smtp.port, "starttls"),
            ServerSettings("imap", "127.0.0.1", imap.port, "starttls"),
            timeout=2,
        )
        elapsed = time.monotonic() - started
    assert result.outgoing.code == result.incoming.code == "timeout"
    assert elapsed < 2 + faultservers.SLACK


def popbeforesmtp(servers):
    alice = servers["users"]["alice"]
    return ServerSettings("smtp", "127.0.0.1", servers["smtp"]["popbeforesmtp"], "none", sender=alice["email"])


def test_pop_before_smtp(servers, forget_pop_logins):
    refused = check_account(popbeforesmtp(servers))
    assert refused.outgoing.code == "auth_required_before_send"
    assert "Log In to Incoming Server First" in refused.outgoing.message  # the option, by its label

    result = check_account(popbeforesmtp(servers), settings_for(servers, "pop3", "ssl"), login_before_send=True)
    assert result.ok, result.outgoing.message
    assert result.outgoing.facts["login_method"] is None


def test_pop_before_smtp_reports_the_incoming_failure(servers, forget_pop_logins):
    result = check_account(
        popbeforesmtp(servers), settings_for(servers, "pop3", "ssl", password="wrong"), login_before_send=True
    )
    assert result.outgoing.code == result.incoming.code == "auth_failed"
    # The outgoing result is the SMTP server's; its message names the incoming server that refused.
    assert (result.outgoing.protocol, result.outgoing.host) == ("smtp", "127.0.0.1")
    assert result.outgoing.message.startswith("localhost rejected the login")


def pop3_logins(servers):
    with open(servers["dovecot"]["main"]["log"], encoding="utf-8") as log:
        return sum("pop3-login: Info: Login: user=<alice@example.test>" in line for line in log)


def test_pop_before_smtp_logs_in_once_for_both_sides(servers, forget_pop_logins):
    """The incoming check is the login before sending: servers allowing one login a minute refuse a second."""
    before = pop3_logins(servers)
    result = check_account(popbeforesmtp(servers), settings_for(servers, "pop3", "ssl"), login_before_send=True)
    assert result.ok, (result.outgoing.message, result.incoming.message)
    deadline = time.monotonic() + 2  # Dovecot's log process writes a moment after the client saw +OK
    while pop3_logins(servers) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    assert pop3_logins(servers) - before == 1
