"""Odoo's own fetch cron reading an account's mailbox, against the harness's real Dovecot.

The fetch commits after each imported message, as stock fetchmail does; a test cursor may not, so
these tests let a commit do what it does to the ORM (flush, then forget the cache) without ending
the test's transaction.
"""

import datetime
import hashlib
import importlib.util
import ssl
import subprocess
import time
import uuid
from unittest.mock import patch

from odoo import fields
from odoo.addons.mail.models.fetchmail import FetchmailServer as StockFetchmailServer
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .. import mailcore
from .common import EmailAccountCase


def load_harness(servers):
    """The harness client (standard library only), for deliver and forget-pop-logins."""
    spec = importlib.util.spec_from_file_location("email_account_harness", servers["harness"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class MailFetchingCase(EmailAccountCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.harness = load_harness(cls.servers)
        cls.partner = cls.env["res.partner"].create({"name": "Customer"})
        cls.thread_message_id = cls.partner.message_post(body="Our offer", message_type="comment").message_id

    def setUp(self):
        super().setUp()
        self.startPatcher(patch.object(self.env.cr, "commit", self._commit))

    def _commit(self):
        self.env.cr.flush()
        self.env.invalidate_all()

    def doveadm(self, *args, instance="main"):
        command = [self.servers["doveadm"], "-c", self.servers["dovecot"][instance]["config"], *args]
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout

    def empty_mailbox(self, user, instance="main"):
        self.doveadm("expunge", "-u", user, "mailbox", "INBOX", "all", instance=instance)

    def on_server(self, user, instance="main"):
        """How many messages the user's INBOX holds."""
        return self.harness.mailbox_size(self.servers, user, instance)

    def imported_ago(self, account, **delta):
        """Date the account's imported messages ``delta`` back: the fetches stay real (no frozen clock under
        their deadlines) while the copies come due."""
        records = self.env["email.account.message"].search([("account_id", "=", account.id)])
        self.assertTrue(records, "the fetch remembers what it imported")
        records.imported_date = fields.Datetime.now() - datetime.timedelta(**delta)

    def reply(self, text="Thanks", reply=True):
        """A customer's reply to the partner's thread, as raw bytes."""
        headers = [
            "From: Customer <customer@example.test>",
            f"To: {self.alice['email']}",
            f"Subject: Re: offer {uuid.uuid4().hex[:8]}",
            f"Message-Id: <{uuid.uuid4().hex}@example.test>",
            "Date: Fri, 27 Nov 2026 10:00:00 +0000",
        ]
        if reply:
            headers.append(f"In-Reply-To: {self.thread_message_id}")
        return ("\r\n".join(headers) + f"\r\n\r\n{text}\r\n").encode()

    def deliver(self, *messages, user=None, instance="main"):
        for message in messages:
            self.harness.deliver(self.servers, user or self.alice["email"], message, instance)

    def fetch(self):
        """Odoo's fetch cron, as it runs."""
        self.env["fetchmail.server"]._fetch_mails()

    def imported(self):
        return self.env["mail.message"].search_count(
            [("model", "=", "res.partner"), ("res_id", "=", self.partner.id), ("message_type", "=", "email")]
        )

    def account(self, protocol="imap", security="ssl", instance="main", **values):
        return self.env["email.account"].create(
            {
                "email": self.alice["email"],
                "password": self.alice["password"],
                "use_for_sending": False,
                **self.incoming(protocol, security, instance),
                **values,
            }
        )

    def incoming(self, protocol, security, instance="main"):
        return {
            "incoming_host": self.hostname,
            "incoming_protocol": protocol,
            "incoming_security": security,
            "incoming_port": self.port(self.servers["services"][protocol][security], instance),
        }


@tagged("post_install", "-at_install", "email_account_servers")
class TestMailFetching(MailFetchingCase):
    def setUp(self):
        super().setUp()
        self.empty_mailbox(self.alice["email"])

    def test_every_protocol_and_security_imports_once(self):
        account = self.account(incoming_safe_logon=True)
        for protocol, security in [(p, s) for p in ("imap", "pop3") for s in self.servers["services"][p]]:
            with self.subTest(protocol=protocol, security=security):
                account.write(self.incoming(protocol, security))
                self.empty_mailbox(self.alice["email"])
                before, count_before = self.imported(), account.imported_count
                self.deliver(self.reply("one"), self.reply("two"))
                self.fetch()
                self.assertEqual(self.imported(), before + 2)
                self.assertEqual(account.imported_count, count_before + 2)
                self.assertFalse(account.last_fetch_error)
                self.assertTrue(account.last_fetch_date)
                self.assertEqual(self.on_server(self.alice["email"]), 2, "copies are kept by default")
                self.fetch()
                self.assertEqual(self.imported(), before + 2, "fetched twice, imported once")
                self.assertEqual(account.imported_count, count_before + 2)

    def test_copies_are_deleted_after_the_days_kept(self):
        for protocol in ("imap", "pop3"):
            with self.subTest(protocol=protocol):
                self.empty_mailbox(self.alice["email"])
                account = self.account(protocol, keep_copies=True, keep_copies_days=3)
                self.deliver(self.reply(), self.reply())
                self.fetch()
                self.imported_ago(account, days=2)
                self.fetch()
                self.assertEqual(self.on_server(self.alice["email"]), 2)
                self.imported_ago(account, days=3, minutes=1)
                self.fetch()
                self.assertEqual(self.on_server(self.alice["email"]), 0)
                self.assertEqual(account.imported_count, 2)
                self.fetch()
                self.assertFalse(
                    self.env["email.account.message"].search([("account_id", "=", account.id)]),
                    "messages gone from the server are forgotten",
                )
                account.unlink()

    def test_zero_days_keeps_copies_forever(self):
        account = self.account("pop3", keep_copies=True, keep_copies_days=0)
        self.deliver(self.reply())
        self.fetch()
        self.imported_ago(account, days=4000)
        self.fetch()
        self.assertEqual(self.on_server(self.alice["email"]), 1)
        self.assertEqual(self.imported(), 1)

    def test_without_copies_messages_leave_the_server_at_once(self):
        for protocol in ("imap", "pop3"):
            with self.subTest(protocol=protocol):
                account = self.account(protocol, "starttls", keep_copies=False)
                before = self.imported()
                self.deliver(self.reply(), self.reply(), self.reply())
                self.fetch()
                self.assertEqual(self.imported(), before + 3)
                self.assertEqual(self.on_server(self.alice["email"]), 0)
                account.unlink()

    def test_a_message_that_fails_to_import_stays_and_is_retried(self):
        account = self.account(keep_copies=False, new_mail_model_id=self.env["ir.model"]._get_id("res.partner"))
        posts = len(account.message_ids)
        # New mail makes a contact, which (here) Odoo refuses to create.
        self.deliver(self.reply(), self.reply(reply=False))
        refused = ValidationError("Contacts from this sender are refused.")
        for _run in range(2):
            with patch.object(type(self.env["res.partner"]), "message_new", side_effect=refused):
                self.fetch()
            self.assertEqual(self.imported(), 1)
            self.assertEqual(self.on_server(self.alice["email"]), 1, "the failed message is neither lost nor deleted")
        self.assertEqual(account.fetch_failure_code, "import_failed")
        self.assertIn("Messages Odoo could not import: 1", account.last_fetch_error)
        self.assertEqual(len(account.message_ids), posts + 1, "reported once, not at every run")

        self.fetch()
        self.assertEqual(self.on_server(self.alice["email"]), 0)
        self.assertFalse(account.fetch_failure_code)
        self.assertFalse(account.last_fetch_error)
        self.assertEqual(len(account.message_ids), posts + 2)
        self.assertEqual(account.imported_count, 2)

    def test_a_refusal_late_in_a_long_fetch_is_not_a_timeout(self):
        """After the login the deadline no longer judges: a mailbox refused after ``timeout`` seconds of
        fetching is reported as what it is."""
        account = self.account(timeout=1)
        self.deliver(self.reply())

        def refused_after_a_while(*args):
            time.sleep(1.3)
            raise mailcore.MailboxError("NO [SERVERBUG] Internal error occurred")

        with patch.object(type(self.env["fetchmail.server"]), "_import_message", refused_after_a_while):
            self.fetch()
        self.assertEqual(account.fetch_failure_code, "mailbox_unavailable")
        self.assertIn("[SERVERBUG]", account.last_fetch_error)

    def test_a_bug_in_the_fetch_is_raised_and_the_session_closed(self):
        account = self.account(timeout=1)
        self.deliver(self.reply())
        closed = []
        close = type(self.env["fetchmail.server"])._close

        def bug_after_a_while(*args):
            time.sleep(1.3)
            raise KeyError("a bug of ours")

        def recording_close(client, mailbox=None):
            closed.append(client)
            return close(client, mailbox)

        server_model = type(self.env["fetchmail.server"])
        with patch.object(server_model, "_import_message", bug_after_a_while), patch.object(
            server_model, "_close", staticmethod(recording_close)
        ):
            with self.assertRaises(KeyError):  # Fetch Now: the bug itself, not a made-up server failure
                account.fetchmail_server_id.fetch_mail(raise_exception=True)
            # The cron: logged with its traceback for whoever fixes it, and the next mailbox's turn comes.
            with self.assertLogs("odoo.addons.email_account.models.fetchmail_server", "ERROR") as logged:
                account.fetchmail_server_id.fetch_mail(raise_exception=False)
        self.assertIn("KeyError: 'a bug of ours'", logged.output[0])
        self.assertEqual(len(closed), 2, "the session is closed each time")
        self.assertFalse(account.fetch_failure_code, "a bug of ours is not reported as the server's failure")

    def test_connect_of_an_empty_recordset_is_stock(self):
        """Modules that patch stock connect (the OCA's fetchmail_attach_from_folder) call it so."""
        with patch.object(StockFetchmailServer, "connect", autospec=True, return_value="stock") as stock:
            self.assertEqual(self.env["fetchmail.server"].connect(), "stock")
        stock.assert_called_once()

    def test_untrusted_certificate_refused_unless_pinned(self):
        user = self.alice["email"]
        self.empty_mailbox(user, "selfsigned")
        account = self.account(instance="selfsigned", keep_copies=False)
        posts = len(account.message_ids)
        self.deliver(self.reply(), instance="selfsigned")
        self.fetch()
        self.fetch()
        self.assertEqual(self.imported(), 0)
        self.assertEqual(self.on_server(user, "selfsigned"), 1)
        self.assertEqual(account.fetch_failure_code, "certificate_untrusted")
        self.assertIn("not trusted", account.last_fetch_error)
        self.assertEqual(len(account.message_ids), posts + 1)

        with open(self.servers["certs"]["selfsigned"], encoding="ascii") as pem:
            fingerprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem.read())).hexdigest()
        account.write({"incoming_tls_policy": "pin", "incoming_pinned_fingerprint": fingerprint})
        self.fetch()
        self.assertEqual(self.imported(), 1)
        self.assertEqual(self.on_server(user, "selfsigned"), 0)
        self.assertIn("works again", account.message_ids[0].body)

    def test_unlinked_servers_are_fetched_as_stock_odoo_does(self):
        bob = self.bob["login"]
        self.empty_mailbox(bob)
        self.env["fetchmail.server"].create(
            {
                "name": "Stock IMAP",
                "server": self.hostname,
                "port": self.port("imaps"),
                "is_ssl": True,
                "server_type": "imap",
                "user": bob,
                "password": self.bob["password"],
                "state": "done",
            }
        )
        self.account()  # a linked server beside it changes nothing for the stock one
        self.deliver(self.reply(), user=bob)
        self.fetch()
        self.assertEqual(self.imported(), 1)
        self.assertEqual(self.on_server(bob), 1, "stock IMAP fetching marks messages read and leaves them")
        self.assertFalse(self.env["email.account.message"].search([]), "only linked servers track server keys")

    def test_connect_uses_the_account_settings(self):
        """The stock 'Test & Confirm' button goes through the account's settings too (STARTTLS here)."""
        account = self.account("pop3", "starttls", incoming_safe_logon=True)
        self.assertTrue(account.fetchmail_server_id.button_confirm_login())
        client = account.fetchmail_server_id.connect()
        self.assertEqual(client._probe.facts["login_method"], "SCRAM-SHA-256")
        self.assertTrue(client._probe.facts["tls_version"])
        client.quit()
