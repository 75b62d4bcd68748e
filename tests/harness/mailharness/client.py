"""What tests do to the running servers: store or count messages, make popbeforesmtp forget POP3 logins.

Self-contained and standard library only, so it also loads from another interpreter (Odoo's): tests
import it by path from servers.json's ``"harness"`` entry. The rest of the package builds on the
error and the JSON reading defined here.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path


class HarnessError(RuntimeError):
    """A problem the user must fix; printed without a traceback."""


def read_json(path: Path, default):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return default


def _servers(servers: dict | str | os.PathLike) -> dict:
    """The parsed servers.json, given it or its path."""
    if isinstance(servers, dict):
        return servers
    parsed = read_json(Path(servers), None)
    if parsed is None:
        raise HarnessError("servers.json not found: are the harness servers running?")
    return parsed


def deliver(
    servers: dict | str | os.PathLike,
    user: str,
    message: bytes,
    instance: str = "main",
    mailbox: str = "INBOX",
) -> None:
    """Store ``message`` (raw RFC 5322 bytes) in ``user``'s ``mailbox`` on a Dovecot instance.

    ``servers`` is the parsed servers.json or its path.  Uses ``doveadm save``.
    """
    servers = _servers(servers)
    conf = servers["dovecot"][instance]["config"]
    result = subprocess.run(
        [servers["doveadm"], "-c", conf, "save", "-u", user, "-m", mailbox],
        input=message,
        capture_output=True,
        check=False,
    )
    if result.returncode:
        raise HarnessError(
            f"doveadm save for {user} into {mailbox} ({instance}) failed with {result.returncode}: "
            + result.stderr.decode("utf-8", "replace").strip()
        )


def mailbox_size(servers: dict | str | os.PathLike, user: str, instance: str = "main", mailbox: str = "INBOX") -> int:
    """How many messages ``user``'s ``mailbox`` holds on a Dovecot instance (``doveadm mailbox status``)."""
    servers = _servers(servers)
    conf = servers["dovecot"][instance]["config"]
    command = [servers["doveadm"], "-c", conf, "mailbox", "status", "-u", user, "messages", mailbox]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return int(output.strip().partition("=")[2])


def forget_pop_logins(servers: dict | str | os.PathLike) -> None:
    """Make the popbeforesmtp server forget every POP3 login seen so far (any client IP).

    Writes the main Dovecot log's current size into the forget file: the server counts only the
    logins logged after that offset.
    """
    servers = _servers(servers)
    try:
        size = os.path.getsize(servers["dovecot"]["main"]["log"])
    except FileNotFoundError:
        size = 0
    forget_file = Path(servers["pop_before_smtp_forget_file"])
    tmp = forget_file.with_name(forget_file.name + ".tmp")
    tmp.write_text(f"{size}\n", encoding="ascii")
    os.replace(tmp, forget_file)
