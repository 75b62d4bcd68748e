"""Long-lived sessions and one-message-at-a-time mailboxes, as Odoo's own send and fetch use them."""

import json
import time
import uuid

import pytest

from accounts import settings_for
from mailcore import CheckFailure, open_mailbox, open_session
from mailcore.deadline import Deadline

INSTANCE = "plainonly"  # a mailbox of its own, untouched by the other tests


def _message(subject):
    return f"From: x@example.test\r\nTo: bob@example.test\r\nSubject: {subject}\r\n\r\nHello\r\n".encode()


def fill_inbox(servers, deliver, count):
    """Empty Bob's INBOX on the plain-only instance, then deliver ``count`` fresh messages; their subjects."""
    mailbox = _open(servers, "imap", "ssl")
    for key in mailbox.keys():
        mailbox.delete(key)
    mailbox.close()
    subjects = [uuid.uuid4().hex for _ in range(count)]
    for subject in subjects:
        deliver("bob", _message(subject), instance=INSTANCE)
    return subjects


@pytest.fixture
def bob_inbox(servers, deliver, harness):
    """Bob's INBOX on the plain-only instance, holding two fresh messages."""
    return fill_inbox(servers, deliver, 2)


def _open(servers, protocol, security, **changes):
    settings = settings_for(servers, protocol, security, instance=INSTANCE, user="bob", **changes)
    return open_mailbox(open_session(settings, timeout=7))


@pytest.mark.parametrize(
    ("protocol", "security"), [("imap", "ssl"), ("imap", "starttls"), ("pop3", "ssl"), ("pop3", "starttls")]
)
def test_mailbox_reads_and_deletes_one_message_at_a_time(servers, bob_inbox, protocol, security):
    mailbox = _open(servers, protocol, security)
    assert mailbox.client.sock.gettimeout() == 7, "after login, the timeout bounds each read"
    keys = mailbox.keys()
    assert len(keys) == 2
    assert mailbox.uidvalidity.isdigit() if protocol == "imap" else mailbox.uidvalidity == "UIDL"
    first = mailbox.fetch(keys[0])
    assert f"Subject: {bob_inbox[0]}".encode() in first
    mailbox.delete(keys[0])
    mailbox.close()

    mailbox = _open(servers, protocol, security)
    assert mailbox.keys() == keys[1:], "keys are stable across sessions"
    mailbox.close()


def test_imap_fetch_leaves_messages_unseen(servers, bob_inbox):
    mailbox = _open(servers, "imap", "ssl")
    key = mailbox.keys()[0]
    mailbox.fetch(key)
    typ, data = mailbox.client.uid("FETCH", key, "(FLAGS)")
    assert typ == "OK" and b"\\Seen" not in data[0]
    mailbox.close()


def test_failed_session_raises_a_documented_failure(servers):
    settings = settings_for(servers, "imap", "ssl", instance="selfsigned")
    with pytest.raises(CheckFailure) as failure:
        open_session(settings, timeout=5)
    assert failure.value.code == "certificate_untrusted"


def test_pop_before_smtp_session_may_relay(servers, forget_pop_logins):
    smtp = settings_for(servers, "smtp", "none")
    smtp = smtp.replace(port=servers["smtp"]["popbeforesmtp"], login="")
    pop3 = settings_for(servers, "pop3", "ssl")
    client = open_session(smtp, timeout=5, login_first=pop3)
    subject = uuid.uuid4().hex
    refused = client.sendmail("alice@example.test", ["carol@example.test"], _message(subject))
    client.quit()
    assert refused == {}
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with open(servers["sink_file"], encoding="utf-8") as sink:
            if any(subject in json.loads(line)["data"] for line in sink):
                return
        time.sleep(0.1)
    pytest.fail("the relayed message did not reach the sink")



def test_a_deadline_handed_over_to_a_session_no_longer_judges_it():
    """Once logged in, reads are bounded one by one: a refusal an hour into a fetch is not a timeout."""
    handed_over, kept = Deadline(0.2), Deadline(0.2)
    handed_over.release(handed_over=True)
    kept.release()
    time.sleep(0.3)
    assert not handed_over.passed
    assert kept.passed
