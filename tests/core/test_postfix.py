"""The harness's private Postfix 3.7: a second real SMTP implementation, with a submission server's
policy (logins through Dovecot, relaying only when logged in, sender login maps checked at RCPT time)."""

import json
import smtplib
import time
import uuid

import pytest

from mailcore import ServerSettings, check_server, open_session


def postfix(servers, service, security, user="alice", **changes):
    account = servers["users"][user]
    values = {
        "login": account["login"],
        "password": account["password"],
        "sender": account["email"],
        "cafile": servers["ca_file"],
    }
    values.update(changes)
    return ServerSettings("smtp", servers["hostname"], servers["postfix"][service], security, **values)


@pytest.mark.parametrize(("service", "security"), [("submission", "starttls"), ("submissions", "ssl")])
@pytest.mark.parametrize("user", ["alice", "bob"])
def test_logged_in_sender_passes(servers, service, security, user):
    result = check_server(postfix(servers, service, security, user))
    assert result.ok, result.message
    assert result.facts["login_method"] == "SCRAM-SHA-256"


def test_address_not_owned_by_the_login_is_the_sender_refused(servers):
    """Postfix refuses the sender at RCPT time (smtpd_delay_reject): the stage does not say whose."""
    result = check_server(postfix(servers, "submission", "starttls", sender="bob@example.test"))
    assert (result.code, result.stage) == ("sender_rejected", "sender")
    assert "not owned by user alice@example.test" in result.params["reason"]
    assert "bob@example.test as sender" in result.message


@pytest.mark.parametrize(
    ("service", "sender", "refusal"),
    [
        ("submission", "alice@example.test", "553 5.7.1 <alice@example.test>: Sender address rejected: not logged in"),
        ("submission", "carol@example.test", "Recipient address rejected: Access denied"),
        ("clientauth", "carol@example.test", "Client host rejected: Access denied"),
    ],
)
def test_refusals_of_a_client_that_did_not_log_in_ask_for_a_login(servers, service, sender, refusal):
    result = check_server(postfix(servers, service, "starttls", login="", password="", sender=sender))
    assert result.code == "auth_required_before_send", result.message
    assert refusal in result.params["reason"]
    assert result.facts["login_method"] is None


def test_password_given_but_login_offered_only_after_starttls_does_not_pass(servers):
    """Port 25 as an MX runs it: without STARTTLS no AUTH, and mail for its own domain is accepted
    from anyone, so MAIL FROM/RCPT TO to the own address would pass and real sending fail."""
    result = check_server(postfix(servers, "smtp", "none"))
    assert not result.ok
    assert (result.code, result.stage) == ("auth_mechanism_unavailable", "auth")
    assert "use SSL/STARTTLS" in result.message

    assert check_server(postfix(servers, "smtp", "starttls")).ok


def test_a_mechanism_the_core_does_not_speak_is_not_chosen(servers):
    """Dovecot's auth offers DIGEST-MD5 through Postfix, which the core does not implement."""
    result = check_server(postfix(servers, "submission", "starttls", auth_mechanism="DIGEST-MD5"))
    assert (result.code, result.stage) == ("auth_mechanism_unavailable", "auth")
    assert "DIGEST-MD5" in result.params["offered"]


def test_accepted_mail_reaches_the_sink(servers):
    """What Postfix accepts it relays to the harness's sink, where tests can read it."""
    client = open_session(postfix(servers, "submission", "starttls"), timeout=5)
    subject = uuid.uuid4().hex
    message = f"From: alice@example.test\r\nTo: carol@other.test\r\nSubject: {subject}\r\n\r\nHello\r\n"
    assert client.sendmail("alice@example.test", ["carol@other.test"], message) == {}
    client.quit()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open(servers["sink_file"], encoding="utf-8") as sink:
            entries = [json.loads(line) for line in sink]
        found = [entry for entry in entries if subject in entry["data"]]
        if found:
            assert (found[0]["server"], found[0]["rcpt_tos"]) == ("sink", ["carol@other.test"])
            return
        time.sleep(0.1)
    pytest.fail("the message Postfix accepted did not reach the sink")


def test_a_session_reads_a_refused_sender_as_the_check_does(servers):
    """Postfix refuses a sender the login does not own at RCPT time, for every recipient: the session
    names it the account's failure (sender_rejected), as the check does, not a recipient's."""
    client = open_session(postfix(servers, "submission", "starttls"), timeout=5)
    try:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail("bob@example.test", ["carol@other.test"], "Subject: refused\r\n\r\nHello\r\n")
        failure = client.send_failure(refused.value)
    finally:
        client.drop()
    assert failure.code == "sender_rejected"
    assert "not owned by user" in failure.params["reason"]
