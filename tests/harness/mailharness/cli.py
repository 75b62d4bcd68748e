"""Throwaway mail servers on loopback for the email_account test suite.

Commands (run with the repository's ``.venv/bin/python``)::

    mailservers.py start  [--state-dir DIR] [--base-port N]   # background; prints servers.json path
    mailservers.py stop   [--state-dir DIR]                   # stops everything started from DIR
    mailservers.py run    [--state-dir DIR] [--base-port N]   # foreground; Ctrl-C stops
    mailservers.py status [--state-dir DIR]
    mailservers.py deliver [--state-dir DIR] [--instance main] --user alice@example.test [--mailbox INBOX] FILE...
    mailservers.py forget-pop-logins [--state-dir DIR]       # popbeforesmtp denies everyone again
    mailservers.py mail [--state-dir DIR] [--to ADDR] [--from ADDR] [--subject S] [--in-reply-to ID] [--body B]
    mailservers.py outbox [--state-dir DIR] [--full]          # what the servers were given to send

What ``start`` brings up (all on 127.0.0.1):

* Dovecot 2.3 instances (``main``, ``plainonly``, ``expired``, ``wronghost``,
  ``selfsigned``), each with imap/imaps/pop3/pop3s/submission/submissions ports,
  its own config, base_dir and log inside the state dir;
* one Python process running aiosmtpd servers: ``sink`` (records every message
  in ``sink.jsonl``), ``popbeforesmtp`` (relays only for IPs that logged in over
  POP3 on the ``main`` Dovecot within the last 300 s, found by tailing its log)
  and ``smtps_aiosmtpd`` (implicit TLS, AUTH PLAIN/LOGIN);
* one private Postfix 3.7 (its own config, queue and data directories, never the
  system one on port 25), a second SMTP implementation with a real submission
  server's policy: logins through the ``main`` Dovecot's auth service, relaying
  only for logged-in clients, ``smtpd_delay_reject`` and sender login maps with
  ``reject_sender_login_mismatch``; what it accepts goes to the ``sink``. Its
  services (``POSTFIX_SERVICES``) differ in what refuses a client that did not log in;
* a small OAuth 2 authorization server over HTTPS (``oauthserver.py``: authorize, token, refresh,
  introspection, revoke; behind Microsoft's and Google's paths) and a sixth Dovecot instance, ``oauth``,
  whose ``oauth2`` passdb checks XOAUTH2 / OAUTHBEARER access tokens by its introspection;
* a throwaway CA and certificates (good, expired, wrong host, self-signed).

Ports: see ``layout.py`` (base = ``--base-port`` / ``$HARNESS_BASE_PORT``, default 21000).

Every ``start`` stops what an earlier start left running (also after a crash) and
begins with empty mailboxes, an empty ``sink.jsonl`` and fresh logs (the previous
sink/logs are kept as ``*.1``); certificates are reused while valid.

Only the standard library is imported at module level (``cryptography`` and ``aiosmtpd`` when
used), so ``stop`` works without the venv; ``client.py`` (``deliver``, ``forget_pop_logins``) is
self-contained and loads from another interpreter such as Odoo's.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from .certs import cert_paths
from .client import HarnessError, deliver, forget_pop_logins
from .demo import DEFAULT_BODY, DEFAULT_SENDER, DEFAULT_SUBJECT, mail, outbox
from .layout import DEFAULT_STATE_DIR, DOVECOT_INSTANCES, HOST, OAUTH_USER, USERS, Layout
from .oauthserver import serve as oauth_serve
from .processes import harness_processes, log, port_open, stop
from .smtpservers import smtp_serve
from .start import start


def status(layout: Layout) -> int:
    """List the processes and the closed ports; 0 when everything is up."""
    procs = harness_processes(layout)
    for info in procs:
        sys.stdout.write(f"{info['pid']:>7} {' '.join(info['cmdline'])}\n")
    ports = layout.all_ports()
    closed = [f"{label} ({port})" for label, port in ports.items() if not port_open(port)]
    sys.stdout.write(f"{len(procs)} process(es); {len(ports) - len(closed)}/{len(ports)} ports open\n")
    if closed:
        sys.stdout.write("closed: " + ", ".join(closed) + "\n")
    return 0 if procs and not closed else 1


def run_foreground(layout: Layout) -> int:
    """``run``: start, then wait for Ctrl-C or SIGTERM/SIGHUP and stop."""
    path = start(layout)
    sys.stdout.write(f"{path}\n")
    sys.stdout.write(f"export EMAIL_ACCOUNT_TEST_SERVERS={path}\n")
    sys.stdout.flush()
    log("servers running; press Ctrl-C to stop")

    def terminate(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    finally:
        stop(layout)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--state-dir", default=os.environ.get("HARNESS_STATE_DIR", str(DEFAULT_STATE_DIR)))
        return p

    for name, help_text in (("start", "start in the background"), ("run", "start in the foreground")):
        add(name, help_text).add_argument("--base-port", type=int, default=None)
    add("stop", "stop everything started from the state dir")
    add("status", "list the harness processes and ports")
    add("smtp-serve", "internal: the aiosmtpd process")
    add("oauth-serve", "internal: the OAuth 2 authorization server process").add_argument("--base-port", type=int)
    add("forget-pop-logins", "make popbeforesmtp forget the POP3 logins seen so far")
    p = add("deliver", "store a message in a mailbox with doveadm save")
    p.add_argument("--instance", default="main", choices=list(DOVECOT_INSTANCES))
    p.add_argument("--user", required=True, help="login name, e.g. alice@example.test or bob")
    p.add_argument("--mailbox", default="INBOX")
    p.add_argument("files", nargs="+", help="RFC 5322 message files, '-' for stdin")
    p = add("mail", "drop a new message into a mailbox (make demo-mail)")
    p.add_argument("--to", default=None, help="the mailbox's address (default: the first user, alice)")
    p.add_argument("--from", dest="sender", default=DEFAULT_SENDER)
    p.add_argument("--subject", default=DEFAULT_SUBJECT)
    p.add_argument("--in-reply-to", default="", help="the Message-Id this message answers")
    p.add_argument("--body", default=DEFAULT_BODY)
    p = add("outbox", "print what the servers were given to send, from the sink (make demo-outbox)")
    p.add_argument("--full", action="store_true", help="each message whole")
    args = parser.parse_args(argv)

    layout = Layout(args.state_dir, getattr(args, "base_port", None))
    try:
        if args.command == "start":
            sys.stdout.write(f"{start(layout)}\n")
        elif args.command == "run":
            return run_foreground(layout)
        elif args.command == "stop":
            stop(layout)
        elif args.command == "status":
            return status(layout)
        elif args.command == "forget-pop-logins":
            forget_pop_logins(layout.servers_json)
        elif args.command == "smtp-serve":
            smtp_serve(layout)
        elif args.command == "oauth-serve":
            good = cert_paths(layout)["good"]
            user = USERS[OAUTH_USER]["login"]
            oauth_serve(HOST, layout.oauth_port(), layout.oauth_http_port(), good["cert"], good["key"], user)
        elif args.command == "mail":
            to = mail(layout.servers_json, args.to, args.sender, args.subject, args.body, args.in_reply_to)
            sys.stdout.write(f"Delivered to the INBOX of {to}: {args.subject}\n")
        elif args.command == "outbox":
            sys.stdout.write("".join(f"{line}\n" for line in outbox(layout.sink_file, args.full)))
        elif args.command == "deliver":
            for name in args.files:
                data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
                deliver(layout.servers_json, args.user, data, args.instance, args.mailbox)
    except HarnessError as exc:
        log(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
