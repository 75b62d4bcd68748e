"""`make demo-mail` and `make demo-outbox`: the harness commands behind them, run as the Makefile runs
them, against the running servers (the demo's are the same servers in another state directory)."""

import email
import email.utils
import imaplib
import os
import pathlib
import smtplib
import subprocess
import sys
import uuid

TIMEOUT = 10
CLI = pathlib.Path(__file__).resolve().parents[1] / "harness" / "mailservers.py"


def harness_command(servers, *args):
    state_dir = os.path.dirname(os.environ["EMAIL_ACCOUNT_TEST_SERVERS"])
    command = [sys.executable, str(CLI), args[0], "--state-dir", state_dir, *args[1:]]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=30).stdout


def test_demo_mail_drops_a_reply_into_the_mailbox(servers):
    bob = servers["users"]["bob"]
    subject = f"demo-mail {uuid.uuid4().hex}"
    output = harness_command(servers, "mail", "--to", bob["email"], "--subject", subject, "--in-reply-to", "abc@x.test")
    assert f"Delivered to the INBOX of {bob['email']}" in output
    conn = imaplib.IMAP4(servers["host"], servers["dovecot"]["main"]["imap"], timeout=TIMEOUT)
    try:
        conn.login(bob["login"], bob["password"])
        conn.select("INBOX")
        _, (found,) = conn.search(None, "SUBJECT", f'"{subject}"')
        (number,) = found.split()
        _, data = conn.fetch(number, "(RFC822)")
        message = email.message_from_bytes(data[0][1])
        conn.store(number, "+FLAGS", "\\Deleted")  # other tests count this mailbox
        conn.expunge()
    finally:
        conn.logout()
    assert message["In-Reply-To"] == message["References"] == "<abc@x.test>"
    assert message["From"] == "Demo Sender <sender@example.test>"
    assert message["Message-Id"]


def test_demo_outbox_lists_what_was_sent(servers):
    alice, bob = servers["users"]["alice"], servers["users"]["bob"]
    subject, msgid = f"demo-outbox {uuid.uuid4().hex}", email.utils.make_msgid(domain="example.test")
    text = f"From: {bob['email']}\r\nTo: {alice['email']}\r\nSubject: {subject}\r\nMessage-ID: {msgid}\r\n\r\nHi\r\n"
    with smtplib.SMTP(servers["host"], servers["dovecot"]["main"]["submission"], timeout=TIMEOUT) as conn:
        conn.login(bob["login"], bob["password"])
        conn.sendmail(bob["email"], [alice["email"]], text.encode())
    lines = harness_command(servers, "outbox").splitlines()
    index = lines.index(f"  Subject: {subject}")
    assert lines[index - 1].startswith(f"From {bob['email']} to {alice['email']} (via sink")
    assert lines[index + 1] == f"  Message-Id: {msgid}"
    assert "  | Hi" not in lines
    assert "  | Hi" in harness_command(servers, "outbox", "--full").splitlines()
