"""What the Odoo-tier tests share: the harness's real mail servers, described by its servers.json."""

import contextlib
import importlib.util
import json
import os
import socket
import time
from unittest.mock import patch

from odoo.tests import Form, TransactionCase, common, new_test_user

from .core.loopback import TcpServer

SERVERS_ENV = "EMAIL_ACCOUNT_TEST_SERVERS"
MANAGER_GROUPS = "base.group_user,email_account.group_email_account_manager"


def load_servers():
    """The harness description; missing servers fail the tests, as a skipped check proves nothing."""
    path = os.environ.get(SERVERS_ENV)
    if not path:
        raise AssertionError(
            f"{SERVERS_ENV} is not set: start tests/harness/mailservers.py and export {SERVERS_ENV}="
            "<the servers.json path it prints>."
        )
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def run_migration(env, version, installed, script="post-migrate"):
    """Run the addon's ``script`` (post-migrate, pre-migrate) of ``version`` as an upgrade from ``installed`` would."""
    path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations", version, f"{script}.py")
    spec = importlib.util.spec_from_file_location(f"email_account_{script}_{version}".replace("-", "_"), path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.migrate(env.cr, installed)
    env.invalidate_all()


def sink_entry(servers, text, timeout=5.0):
    """The harness sink's record (envelope and data) of the first message containing ``text``, waiting
    briefly for the relay; None if none came."""
    end = time.monotonic() + timeout
    while True:
        with open(servers["sink_file"], encoding="utf-8") as sink:
            for line in sink:
                entry = json.loads(line)
                if text in entry["data"]:
                    return entry
        if time.monotonic() > end:
            return None
        time.sleep(0.1)


class MailServersMixin:
    """Harness access for TransactionCase and HttpCase alike."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.servers = load_servers()
        cls.env["ir.config_parameter"].set_param("email_account.ca_file", cls.servers["ca_file"])
        # The harness listens on loopback, which only administrators may reach unless this allows it.
        cls.env["ir.config_parameter"].set_param("email_account.allow_internal_hosts", "True")
        cls.alice = cls.servers["users"]["alice"]
        cls.bob = cls.servers["users"]["bob"]
        cls.hostname = cls.servers["hostname"]

    @classmethod
    def port(cls, service, instance="main"):
        if service in cls.servers["smtp"]:
            return cls.servers["smtp"][service]
        return cls.servers["dovecot"][instance][service]

    @classmethod
    def account_values(cls, user="alice", **values):
        """A harness user's account: SMTP with STARTTLS and IMAP over SSL on the main Dovecot."""
        return {
            "email": cls.servers["users"][user]["email"],
            "password": cls.servers["users"][user]["password"],
            "smtp_host": cls.hostname,
            "smtp_security": "starttls",
            "smtp_port": cls.port("submission"),
            "incoming_host": cls.hostname,
            "incoming_port": cls.port("imaps"),
            **values,
        }


def manager_of(env, login, company):
    """An Email Account Manager of ``company`` only (the user's password is its login)."""
    return new_test_user(
        env,
        login,
        groups=MANAGER_GROUPS,
        company_id=company.id,
        company_ids=[company.id],
        context={"no_reset_password": True},
    )


def tour_code(tour, setup_js="", url="/odoo"):
    """The JavaScript that sets a tour's values up (``setup_js``) and starts it at ``url``."""
    return setup_js + f"odoo.startTour({json.dumps(tour)}, {json.dumps({'stepDelay': 0, 'startUrl': url})})"


class TourMixin:
    """For HttpCase tours."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Odoo skips a tour whose browser has not opened its devtools port within 10 s; a first start
        # of Chromium on a busy 2-core machine (a fresh profile, fonts) has taken longer. Give it 60 s.
        cls.enterClassContext(patch.object(common, "CHECK_BROWSER_ITERATIONS", 600))


class EmailAccountCase(MailServersMixin, TransactionCase):
    def start(self, **values):
        """Fill the first step of a new setup wizard as a user would and press Next; on the automatic
        path, Next again on "How Odoo uses this mailbox" with its defaults, which finds and checks."""
        with Form(self.env["email.account.setup"]) as form:
            for name, value in values.items():
                setattr(form, name, value)
        wizard = form.record
        wizard.action_next()
        if wizard.state == "mail_use":
            wizard.action_next()
        return wizard


class PasswordTrap(TcpServer):
    """A hostile plain SMTP server on loopback: offers PLAIN and LOGIN, accepts any login, and keeps
    every byte a client sends, so a test can tell whether Odoo handed it a password (and, by
    ``connections``, whether anything connected at all)."""

    def __init__(self):
        super().__init__()
        self.received = b""

    def handle(self, conn):
        replies = {
            b"EHLO": b"250-trap\r\n250 AUTH PLAIN LOGIN\r\n",
            b"AUTH": b"235 2.7.0 ok\r\n",
            b"QUIT": b"221 bye\r\n",
        }
        conn.settimeout(10)
        conn.sendall(b"220 trap ESMTP\r\n")
        buffer = b""
        while data := conn.recv(4096):
            self.received += data
            buffer += data
            while b"\n" in buffer:
                line, _, buffer = buffer.partition(b"\n")
                conn.sendall(replies.get(line[:4].upper(), b"250 ok\r\n"))


class TcpRelay(TcpServer):
    """A port that refuses connections until started, then relays to a real server: a server coming back."""

    def __init__(self, target_port, host="127.0.0.1"):
        super().__init__(host, listen=False)
        self.target = (host, target_port)
        with socket.socket() as probe:
            probe.bind((host, 0))
            self.port = probe.getsockname()[1]

    def start(self):
        self.listen(self.port)
        return super().start()

    def handle(self, conn):
        upstream = socket.create_connection(self.target)
        self.connections.append(upstream)
        self._spawn(self._pump, upstream, conn)
        self._pump(conn, upstream)

    @staticmethod
    def _pump(source, sink):
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
