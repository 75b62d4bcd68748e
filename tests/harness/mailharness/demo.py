"""The demo's two mail commands: ``mail`` drops a new message into a mailbox (``make demo-mail``),
``outbox`` shows what the servers were given to send (``make demo-outbox``: the sink records it, as
nothing leaves this machine)."""

from __future__ import annotations

import email.policy
import json
from email.message import EmailMessage
from email.parser import Parser
from email.utils import formatdate, make_msgid
from pathlib import Path

from .client import HarnessError, deliver, read_json

DEFAULT_SENDER = "Demo Sender <sender@example.test>"
DEFAULT_SUBJECT = "A new message in the demo mailbox"
DEFAULT_BODY = "Sent with make demo-mail: Odoo imports it at its next fetch (or Fetch Now on the incoming server)."


def compose(to: str, sender: str, subject: str, body: str, in_reply_to: str = "") -> bytes:
    """An RFC 5322 message; ``in_reply_to`` (a Message-Id, angle brackets optional) makes it a reply,
    which Odoo files on the record that sent the original."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-Id"] = make_msgid(domain="demo.example.test")
    if in_reply_to:
        reference = in_reply_to if in_reply_to.startswith("<") else f"<{in_reply_to}>"
        message["In-Reply-To"] = reference
        message["References"] = reference
    message.set_content(body)
    return message.as_bytes()


def mail(servers_json: Path, to: str | None, sender: str, subject: str, body: str, in_reply_to: str = "") -> str:
    """Store a new message in ``to``'s INBOX (default: the first demo user); returns the address."""
    servers = read_json(servers_json, None)
    if servers is None:
        raise HarnessError("the demo's mail servers are not running: start them with make run")
    users = list(servers["users"].values())
    user = next((user for user in users if to in (user["email"], user["login"])), None) if to else users[0]
    if user is None:
        raise HarnessError(f"{to} is no mailbox of these servers: {', '.join(user['email'] for user in users)}")
    deliver(servers, user["login"], compose(user["email"], sender, subject, body, in_reply_to))
    return user["email"]


def outbox(sink_file: Path, full: bool = False) -> list[str]:
    """What the servers accepted to send, oldest first: envelope, subject and Message-Id of each, or
    each message whole with ``full``."""
    try:
        lines = sink_file.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    report = []
    for line in lines:
        entry = json.loads(line)
        headers = Parser().parsestr(entry["data"], headersonly=True)
        report.append(
            f"From {entry['mail_from']} to {', '.join(entry['rcpt_tos'])}"
            f" (via {entry['server']}{', login ' + entry['auth_login'] if entry.get('auth_login') else ''})"
        )
        report.append(f"  Subject: {headers.get('Subject', '')}")
        report.append(f"  Message-Id: {headers.get('Message-Id', '')}")
        if full:
            report.extend(f"  | {text}" for text in entry["data"].splitlines())
    return report or ["Nothing sent yet."]
