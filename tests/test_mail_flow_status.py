"""The account's status tells the truth about the mail flow, against the harness's real servers: a
refused sender (Postfix, ``reject_sender_login_mismatch``), mail fetched but not placed, a fetch that
fails (Dovecot) each make the account "Needs Attention", posted once, until the flow works again; the
linked stock servers belong to the account (their test buttons run its check, their settings are its)."""

import socket
import uuid
from unittest.mock import patch

from odoo import modules
from odoo.addons.base.models.ir_mail_server import IrMailServer as StockIrMailServer
from odoo.exceptions import AccessError, UserError
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from .common import run_migration
from .test_mail_fetching import MailFetchingCase


def closed_port():
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@tagged("post_install", "-at_install", "email_account_servers")
class TestFlowStatus(MailFetchingCase):
    def setUp(self):
        super().setUp()
        self.empty_mailbox(self.alice["email"])

    def checked(self, account):
        account.action_check_connection()
        self.assertEqual((account.check_state, account.state), ("ok", "ok"), account.last_check_message)
        return len(account.message_ids)

    def send(self, email_from, **values):
        mail = self.env["mail.mail"].create(
            {
                "email_from": email_from,
                "email_to": "carol@example.test",
                "subject": f"Flow {uuid.uuid4().hex}",
                "body_html": "<p>Hello</p>",
                **values,
            }
        )
        with patch.object(modules.module, "current_test", False), mute_logger("odoo.addons.mail.models.mail_mail"):
            mail.send()
        return mail

    def new_mail(self):
        """A message that answers nothing of Odoo's: new mail."""
        return self.reply(reply=False)

    def test_a_refused_sender_needs_attention_posted_once_until_a_send_works(self):
        account = self.env["email.account"].create(
            {
                "email": self.alice["email"],
                "password": self.alice["password"],
                "use_for_receiving": False,
                "smtp_host": self.hostname,
                "smtp_security": "starttls",
                "smtp_port": self.servers["postfix"]["submission"],
            }
        )
        posts = self.checked(account)
        # Odoo itself sends through an account only as its address (test_mail_flow): to have Postfix refuse a
        # sender here, as a provider that stops honouring the login's address would, that rewrite is off and
        # the mail names the account's server itself.
        stock_prepare = StockIrMailServer._prepare_email_message
        for _attempt in range(2):  # Postfix: "Sender address rejected: not owned by user"
            with patch.object(type(self.env["ir.mail_server"]), "_prepare_email_message", stock_prepare):
                mail = self.send(self.bob["email"], mail_server_id=account.mail_server_id.id)
            self.assertEqual(mail.state, "exception")
            self.assertEqual(account.state, "attention")
        self.assertEqual(account.check_state, "ok", "the check still passes: only the flow shows the trouble")
        self.assertEqual(account.send_failure_code, "sender_rejected")
        self.assertIn("not owned by user", account.last_send_error)
        self.assertIn("Use the address of this mailbox", account.last_send_error, "the fix is said too")
        self.assertEqual(len(account.message_ids), posts + 1, "two failures, one post")
        self.assertEqual(self.env["email.account"].search([("state", "=", "attention")]), account)

        account.action_check_connection()  # the check sends as the account's own address: proves nothing here
        self.assertEqual(account.state, "attention")

        self.assertEqual(self.send(self.alice["email"]).state, "sent")
        self.assertEqual(account.state, "ok")
        self.assertFalse(account.last_send_error)
        self.assertEqual(len(account.message_ids), posts + 2)
        self.assertIn("works again", account.message_ids[0].body)

    def test_new_mail_with_no_place_needs_attention_with_its_count(self):
        account = self.account()
        posts = self.checked(account)
        self.deliver(self.new_mail(), self.new_mail(), self.new_mail(), self.reply())
        for _run in range(2):
            self.fetch()
            self.assertEqual(self.imported(), 1, "the reply is placed in its thread")
            self.assertEqual(account.state, "attention")
            self.assertEqual(account.fetch_failure_code, "unplaced")
            self.assertIn("New messages with no place in Odoo: 3. Choose where new mail goes", account.last_fetch_error)
            self.assertIn("stay unread in the mailbox", account.last_fetch_error)
            self.assertEqual(self.on_server(self.alice["email"]), 4, "kept copies and the unplaced ones")
            self.assertEqual(self.unseen(self.alice["email"]), 4, "nothing marked read by the fetch")
        self.assertEqual(len(account.message_ids), posts + 1, "posted once, not at every fetch")
        self.env["res.lang"]._activate_lang("fr_FR")
        self.assertIn(  # stored as a code and a count: each reader reads it in their language
            "Nouveaux messages sans place dans Odoo : 3.", account.with_context(lang="fr_FR").last_fetch_error
        )
        account.action_check_connection()  # the mailbox is reachable: that is not where the trouble is
        self.assertEqual(account.state, "attention")

        account.fetchmail_server_id.object_id = self.env["ir.model"]._get("res.partner")
        self.fetch()
        self.assertEqual(account.state, "ok")
        self.assertEqual(account.imported_count, 4)
        self.assertEqual(len(account.message_ids), posts + 2)

    def test_mail_odoo_refuses_is_counted_with_its_error(self):
        account = self.account()
        self.checked(account)
        account.fetchmail_server_id.object_id = self.env["ir.model"]._get("res.country")  # takes no mail
        self.deliver(self.new_mail())
        self.fetch()
        self.assertEqual((account.state, account.fetch_failure_code), ("attention", "import_failed"))
        self.assertIn("Messages Odoo could not import: 1 (Mailbox unavailable", account.last_fetch_error)
        self.assertEqual(self.on_server(self.alice["email"]), 1, "it stays in the mailbox")

    def unseen(self, user):
        found = self.doveadm("search", "-u", user, "mailbox", "INBOX", "UNSEEN")
        return len(found.split("\n")) - 1

    def test_a_fetch_error_needs_attention_until_the_next_check_or_fetch(self):
        account = self.account()
        posts = self.checked(account)
        self.set_password(account, "Changed-At-The-Provider")
        for _run in range(2):
            self.fetch()
            self.assertEqual((account.state, account.fetch_failure_code), ("attention", "auth_failed"))
        self.assertIn("rejected the login", account.last_fetch_error)
        self.assertEqual(len(account.message_ids), posts + 1)

        self.set_password(account, self.alice["password"])
        account.action_check_connection()  # a login that works again is what the check proves
        self.assertEqual((account.state, account.fetch_failure_code), ("ok", False))
        self.assertEqual(len(account.message_ids), posts + 2)

        self.set_password(account, "Changed-Again")
        self.fetch()
        self.assertEqual(account.state, "attention")
        self.set_password(account, self.alice["password"])
        self.fetch()
        self.assertEqual(account.state, "ok")

    def set_password(self, account, password):
        """The password changed behind Odoo's back (at the provider, as Odoo sees it): no settings change."""
        self.env.cr.execute("UPDATE email_account SET password = %s WHERE id = %s", (password, account.id))
        account.invalidate_recordset(["password"])

    def test_a_settings_change_is_not_checked_until_it_is(self):
        account = self.account()
        self.checked(account)
        account.write({"incoming_port": account.incoming_port, "name": "Renamed"})  # no server setting changed
        self.assertEqual(account.state, "ok")
        account.incoming_port = closed_port()
        self.assertEqual((account.check_state, account.state), ("never", "never"))
        account.action_check_connection()
        self.assertEqual(account.state, "failed")
        self.assertIn("refused the connection", account.last_check_message)
        account.incoming_port = self.port("imaps")
        self.assertEqual(account.state, "failed", "nothing proves it works yet")


@tagged("post_install", "-at_install", "email_account_servers")
class TestLinkedServersBelongToTheAccount(MailFetchingCase):
    def setUp(self):
        super().setUp()
        self.account = self.env["email.account"].create(self.account_values())
        self.admin = self.env.ref("base.user_admin")

    def test_the_stock_servers_name_their_account(self):
        self.assertEqual(self.account.mail_server_id.email_account_id, self.account)
        self.assertEqual(self.account.fetchmail_server_id.email_account_id, self.account)
        stock = self.env["ir.mail_server"].create({"name": "Relay", "smtp_host": "relay.example.test"})
        self.assertFalse(stock.email_account_id)

    def test_test_buttons_run_the_accounts_check(self):
        port = closed_port()
        self.account.smtp_port = port
        buttons = (
            self.account.mail_server_id.with_user(self.admin).test_smtp_connection,
            self.account.fetchmail_server_id.with_user(self.admin).button_confirm_login,
        )
        for button in buttons:
            with self.subTest(button=button.__name__):
                self.account.invalidate_recordset(["check_state"])
                result = button()["params"]
                self.assertEqual(result["type"], "danger", "never 'Connection Test Successful!'")
                self.assertIn(f"refused the connection on port {port}", result["message"])
                self.assertIn(self.account.email, result["title"])
                self.assertEqual(self.account.check_state, "failed", "recorded as the account's check")
        self.account.smtp_port = self.port("submission")
        for button in buttons:
            with self.subTest(button=button.__name__):
                self.account.invalidate_recordset(["check_state"])
                result = button()
                self.assertEqual(result["params"]["type"], "success")
                self.assertIn("Logged in with", result["params"]["message"])
                self.assertEqual(self.account.check_state, "ok")
        self.assertEqual(self.account.fetchmail_server_id.state, "done")

    def test_test_buttons_check_the_callers_rights(self):
        other = self.env["res.company"].create({"name": "Elsewhere"})
        self.account.company_id = other  # admin is not in it: no rights on the account
        for button in (
            self.account.mail_server_id.with_user(self.admin).test_smtp_connection,
            self.account.fetchmail_server_id.with_user(self.admin).button_confirm_login,
        ):
            with self.subTest(button=button.__name__), self.assertRaises(AccessError):
                button()
            self.assertEqual(self.account.check_state, "never", "nothing was checked")

    def test_owned_settings_are_refused_over_rpc(self):
        port = closed_port()
        for server, values in (
            (self.account.mail_server_id, {"smtp_port": port}),
            (self.account.mail_server_id, {"from_filter": "admin@example.com"}),
            (self.account.mail_server_id, {"smtp_user": "bob"}),
            (self.account.fetchmail_server_id, {"port": port}),
            (self.account.fetchmail_server_id, {"is_ssl": False}),
        ):
            with self.subTest(values=values), self.assertRaisesRegex(UserError, "follows it"):
                server.with_user(self.admin).write(values)
        self.assertEqual(self.account.mail_server_id.smtp_port, self.port("submission"))


@tagged("post_install", "-at_install")
class TestFlowStatusUpgrade(TransactionCase):
    def test_a_failure_noted_before_codes_keeps_its_words(self):
        account = self.env["email.account"].create(
            {"email": "sales@example.test", "smtp_host": "smtp.example.test", "use_for_receiving": False}
        )
        # The stored column of 18.0.1.1.0, which the upgrade leaves in place.
        self.env.cr.execute(
            "ALTER TABLE email_account ADD COLUMN last_send_error text, ADD COLUMN last_fetch_error text"
        )
        words = "Sending through sales@example.test failed: the words of then"
        self.env.cr.execute(
            "UPDATE email_account SET send_failure_code = 'auth_failed', last_send_error = %s WHERE id = %s",
            (words, account.id),
        )
        run_migration(self.env, "18.0.1.3.0", "18.0.1.1.0")
        self.assertEqual(account.send_failure_params, {"text": words})
        self.assertEqual(account.last_send_error, words)
