"""The aiosmtpd servers, in one process of their own (``mailservers.py smtp-serve``): ``sink`` records every
message in ``sink.jsonl``, ``popbeforesmtp`` relays only for IPs that logged in over POP3 on the ``main``
Dovecot within the last 300 s (found by tailing its log), ``smtps_aiosmtpd`` is implicit TLS with AUTH.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time

from .client import HarnessError, read_json
from .layout import HOST, HOSTNAME, POP_BEFORE_SMTP_WINDOW, USERS, Layout
from .processes import write_json


class PopLoginTracker:
    """Tails the main Dovecot log for successful POP3 logins, like pop-before-smtp daemons.

    ``forget_pop_logins()`` writes the log's current size into the forget file: logins
    logged before that offset no longer count (the log's timestamps have 1 s resolution,
    byte offsets do not).
    """

    LOGIN = re.compile(
        r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) pop3-login: Info: Login: user=<(?P<user>[^>]*)>"
        r".*?\brip=(?P<rip>[0-9A-Fa-f.:]+)"
    )

    def __init__(self, path: str, window: int, forget_file: str | None = None):
        self.path = path
        self.window = window
        self.forget_file = forget_file
        self.offset = 0
        self.inode = None
        self.partial = b""
        self.last_login: dict[str, tuple[float, int]] = {}  # ip -> (log time, end offset of the line)

    def refresh(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return
        if st.st_ino != self.inode or st.st_size < self.offset:  # new or rotated/truncated log
            self.inode, self.offset, self.partial, self.last_login = st.st_ino, 0, b"", {}
        if st.st_size == self.offset:
            return
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            chunk = fh.read()
        line_end = self.offset - len(self.partial)
        self.offset += len(chunk)
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()
        for raw in lines:
            line_end += len(raw) + 1
            m = self.LOGIN.match(raw.decode("utf-8", "replace"))
            if m:
                when = time.mktime(time.strptime(m["ts"], "%Y-%m-%d %H:%M:%S"))
                self.last_login[m["rip"]] = (when, line_end)

    def _forgotten_before(self) -> int:
        if not self.forget_file:
            return 0
        try:
            with open(self.forget_file, encoding="ascii") as fh:
                return int(fh.read().strip() or 0)
        except (OSError, ValueError):
            return 0

    def allowed(self, ip: str) -> bool:
        self.refresh()
        login = self.last_login.get(ip)
        if login is None:
            return False
        when, end = login
        return end > self._forgotten_before() and time.time() - when <= self.window


def write_smtp_config(layout: Layout, certs: dict) -> None:
    """smtp.json: what the ``smtp-serve`` process reads at start."""
    config = {
        "host": HOST,
        "hostname": HOSTNAME,
        "ports": layout.smtp_ports(),
        "sink_file": str(layout.sink_file),
        "pop_log": str(layout.dovecot_log("main")),
        "pop_forget_file": str(layout.pop_forget_file),
        "pop_window": POP_BEFORE_SMTP_WINDOW,
        "users": USERS,
        "tls_cert": certs["good"]["cert"],
        "tls_key": certs["good"]["key"],
    }
    write_json(layout.smtp_json, config)


def smtp_serve(layout: Layout) -> None:
    """Serve sink, popbeforesmtp and smtps_aiosmtpd until SIGTERM/SIGINT (the ``smtp-serve`` command)."""
    import logging
    import ssl
    import warnings

    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")

    cfg = read_json(layout.smtp_json, None)
    if cfg is None:
        raise HarnessError(f"{layout.smtp_json} missing")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logger = logging.getLogger("harness.smtp")
    sink_file = cfg["sink_file"]
    tracker = PopLoginTracker(cfg["pop_log"], cfg["pop_window"], cfg.get("pop_forget_file"))

    def record(server_name: str, session, envelope) -> None:
        entry = {
            "server": server_name,
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "peer": list(session.peer) if isinstance(session.peer, tuple) else session.peer,
            "helo": session.host_name,
            "auth_login": (
                session.auth_data.login.decode("utf-8", "replace")
                if isinstance(session.auth_data, LoginPassword)
                else None
            ),
            "data": envelope.original_content.decode("utf-8", "surrogateescape"),
            "received_at": time.time(),
        }
        with open(sink_file, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=True) + "\n")
        logger.info("%s: stored message from %s to %s", server_name, envelope.mail_from, envelope.rcpt_tos)

    class Handler:
        def __init__(self, name: str):
            self.name = name

        async def handle_MAIL(self, server, session, envelope, address, mail_options):
            if address.rpartition("@")[2].lower() == "rejected.test":
                return f"550 5.1.0 <{address}>: Sender address rejected: Domain not found"
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
            return "250 2.1.0 Ok"

        async def handle_DATA(self, server, session, envelope):
            record(self.name, session, envelope)
            return "250 2.0.0 Ok: queued"

    class PopBeforeSmtpHandler(Handler):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            ip = session.peer[0]
            # The login line may reach the log a moment after the client saw +OK.
            for _ in range(6):
                if tracker.allowed(ip):
                    envelope.rcpt_tos.append(address)
                    envelope.rcpt_options.extend(rcpt_options)
                    return "250 2.1.5 Ok"
                await asyncio.sleep(0.1)
            return f"554 5.7.1 <{address}>: Relay access denied"

    users = {u["login"]: u["password"] for u in cfg["users"].values()}

    def authenticator(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace")
            password = auth_data.password.decode("utf-8", "replace")
            if login in users and users[login] == password:
                return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        host, ports = cfg["host"], cfg["ports"]
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(cfg["tls_cert"], cfg["tls_key"])
        servers = [
            await loop.create_server(
                lambda: SMTP(Handler("sink"), hostname=cfg["hostname"], enable_SMTPUTF8=True), host, ports["sink"]
            ),
            await loop.create_server(
                lambda: SMTP(PopBeforeSmtpHandler("popbeforesmtp"), hostname=cfg["hostname"], enable_SMTPUTF8=True),
                host,
                ports["popbeforesmtp"],
            ),
            await loop.create_server(
                lambda: SMTP(
                    Handler("smtps_aiosmtpd"),
                    hostname=cfg["hostname"],
                    enable_SMTPUTF8=True,
                    authenticator=authenticator,
                    auth_required=True,
                    auth_require_tls=False,  # implicit TLS: aiosmtpd only knows about STARTTLS
                ),
                host,
                ports["smtps_aiosmtpd"],
                ssl=tls,
            ),
        ]
        stop_event = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop_event.set)
        logger.info("listening on %s: %s", host, ports)
        await stop_event.wait()
        for srv in servers:
            srv.close()
        logger.info("stopped")

    asyncio.run(main())
