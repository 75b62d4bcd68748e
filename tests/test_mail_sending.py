"""Odoo's own outgoing mail through an account's server, against the harness's real SMTP servers.

Odoo sends nothing while tests run (``current_test``); these tests lift that for the one send they
make, so the mail really crosses the wire. Dovecot's submission service relays what it accepts to
the harness sink, which records the envelope.
"""

import hashlib
import ssl
import uuid
from unittest.mock import patch

from odoo import modules
from odoo.addons.base.models.ir_mail_server import SMTPConnection
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import EmailAccountCase, sink_entry
from .test_mail_fetching import load_harness

RECIPIENTS = ["carol@example.test", "dave@example.test"]


@tagged("post_install", "-at_install", "email_account_servers")
class TestMailSending(EmailAccountCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Mail = cls.env["mail.mail"]
        cls.harness = load_harness(cls.servers)

    def account(self, user="alice", **values):
        person = self.servers["users"][user]
        return self.env["email.account"].create(
            {
                "email": person["email"],
                "login": person["login"],
                "password": person["password"],
                "use_for_receiving": False,
                "smtp_host": self.hostname,
                "smtp_security": "ssl",
                "smtp_port": self.port("submissions"),
                "incoming_protocol": "pop3",
                "incoming_host": self.hostname,
                "incoming_port": self.port("pop3s"),
                **values,
            }
        )

    def send(self, email_from, **values):
        """Queue a mail.mail as Odoo's mail flow does and send it for real; its unique subject."""
        subject = f"Mail flow {uuid.uuid4().hex}"
        mail = self.Mail.create(
            {
                "email_from": email_from,
                "email_to": ", ".join(RECIPIENTS),
                "subject": subject,
                "body_html": "<p>Hello from Odoo</p>",
                **values,
            }
        )
        # A refused send is logged as an error by mail.mail; here refusals are what some tests expect.
        with patch.object(modules.module, "current_test", False), mute_logger("odoo.addons.mail.models.mail_mail"):
            mail.send()
        return mail, subject

    def received(self, subject, timeout=5.0):
        """The sink's record of the message with ``subject``, waiting briefly for the relay."""
        return sink_entry(self.servers, f"Subject: {subject}", timeout)

    def assertDelivered(self, mail, subject, email, server="sink"):
        self.assertEqual(mail.state, "sent", mail.failure_reason)
        entry = self.received(subject)
        self.assertTrue(entry, "the message did not reach the server")
        self.assertEqual(entry["server"], server)
        self.assertEqual(entry["mail_from"], email)
        self.assertEqual(sorted(entry["rcpt_tos"]), RECIPIENTS)

    def test_ssl_with_a_non_ascii_password(self):
        account = self.account()
        mail, subject = self.send(self.alice["email"])
        self.assertDelivered(mail, subject, self.alice["email"])
        self.assertTrue(account.last_send_date)
        self.assertFalse(account.last_send_error)

    def test_send_email_without_a_session(self):
        account = self.account()
        subject = f"Direct {uuid.uuid4().hex}"
        message = self.env["ir.mail_server"].build_email(self.alice["email"], RECIPIENTS, subject, "Hello")
        with patch.object(modules.module, "current_test", False):
            self.env["ir.mail_server"].send_email(message)
        entry = self.received(subject)
        self.assertEqual((entry["mail_from"], sorted(entry["rcpt_tos"])), (self.alice["email"], RECIPIENTS))
        self.assertTrue(account.last_send_date)

    def test_test_connection_button_uses_the_account_settings(self):
        server = self.account(smtp_port=self.port("submissions", "selfsigned")).mail_server_id
        with patch.object(modules.module, "current_test", False):
            result = server.test_smtp_connection()["params"]
            self.assertEqual(result["type"], "danger")
            self.assertIn("certificate of localhost is not trusted", result["message"])
            server.email_account_ids.smtp_port = self.port("submissions")
            self.assertEqual(server.test_smtp_connection()["params"]["type"], "success")

    def test_starttls_with_safe_logon(self):
        for user in ("alice", "bob"):
            with self.subTest(user=user):
                account = self.account(
                    user, smtp_security="starttls", smtp_port=self.port("submission"), smtp_safe_logon=True
                )
                email = account.email
                mail, subject = self.send(f'"{user.title()}" <{email}>')
                self.assertDelivered(mail, subject, email)

    def test_safe_logon_refused_where_only_plain_login_is_offered(self):
        account = self.account(smtp_port=self.port("submissions", "plainonly"), smtp_safe_logon=True)
        mail, subject = self.send(self.alice["email"])
        self.assertEqual(mail.state, "exception")
        self.assertIn("no login method allowed", mail.failure_reason)
        self.assertIsNone(self.received(subject, timeout=0.5))
        self.assertEqual(account.send_failure_code, "auth_mechanism_unavailable")

    def test_a_sender_the_login_does_not_own_is_the_accounts_failure(self):
        """Postfix judges the sender at RCPT time (smtpd_delay_reject): every recipient is refused,
        "Sender address rejected: not owned by user". That is the account's trouble, not the recipients'."""
        # Odoo itself never gives a login someone else's address (test_mail_flow): here the account's own
        # address is one its login does not own.
        account = self.account(
            smtp_security="starttls", smtp_port=self.servers["postfix"]["submission"], email=self.bob["email"]
        )
        mail, subject = self.send(self.bob["email"])
        self.assertEqual(mail.state, "exception")
        self.assertIn("not owned by user", mail.failure_reason)
        self.assertIsNone(self.received(subject, timeout=0.5))
        self.assertEqual(account.send_failure_code, "sender_rejected")
        account.email = self.alice["email"]
        mail, subject = self.send(self.alice["email"])  # the login's own address goes through
        self.assertDelivered(mail, subject, self.alice["email"])
        self.assertFalse(account.send_failure_code)

    def test_pop_before_smtp(self):
        account = self.account(smtp_security="none", smtp_port=self.port("popbeforesmtp"))
        self.forget_pop_logins()
        mail, subject = self.send(self.alice["email"])
        self.assertEqual(mail.state, "exception", "the server relays before any POP3 login")
        self.assertIn("Relay access denied", mail.failure_reason)
        self.assertEqual(account.send_failure_code, "auth_required_before_send")
        self.assertIn("Log In to Incoming Server First", account.last_send_error)

        account.smtp_login_before_send = True
        self.forget_pop_logins()
        mail, subject = self.send(self.alice["email"])
        self.assertDelivered(mail, subject, self.alice["email"], server="popbeforesmtp")
        self.assertFalse(account.send_failure_code)

    def forget_pop_logins(self):
        self.harness.forget_pop_logins(self.servers)

    def test_untrusted_certificate_refused_unless_pinned(self):
        account = self.account(smtp_port=self.port("submissions", "selfsigned"))
        messages_before = len(account.message_ids)
        for _attempt in range(2):
            mail, subject = self.send(self.alice["email"])
            self.assertEqual(mail.state, "exception")
            self.assertIsNone(self.received(subject, timeout=0.5))
        self.assertEqual(account.send_failure_code, "certificate_untrusted")
        self.assertIn("not trusted", account.last_send_error)
        self.assertEqual(len(account.message_ids), messages_before + 1, "a failure is posted once, not per send")

        with open(self.servers["certs"]["selfsigned"], encoding="ascii") as pem:
            fingerprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem.read())).hexdigest()
        account.write({"smtp_tls_policy": "pin", "smtp_pinned_fingerprint": fingerprint})
        mail, subject = self.send(self.alice["email"])
        self.assertDelivered(mail, subject, self.alice["email"])
        self.assertFalse(account.send_failure_code)
        self.assertEqual(len(account.message_ids), messages_before + 2, "the recovery is posted once")
        self.assertIn("works again", account.message_ids[0].body)

    def test_unlinked_servers_keep_stock_behaviour(self):
        stock = self.env["ir.mail_server"].create(
            {
                "name": "Stock relay",
                "smtp_host": "127.0.0.1",
                "smtp_port": self.port("sink"),
                "smtp_encryption": "none",
                "from_filter": "erin@example.test",
            }
        )
        self.account()  # a linked server beside it changes nothing for the stock one
        with patch.object(modules.module, "current_test", False):
            connection = self.env["ir.mail_server"].connect(mail_server_id=stock.id)
        self.assertIsInstance(connection, SMTPConnection)
        connection.quit()
        mail, subject = self.send("erin@example.test")
        self.assertDelivered(mail, subject, "erin@example.test")
        # In test mode Odoo connects nowhere, whether a server is linked or not.
        self.assertIsNone(self.env["ir.mail_server"].connect(mail_server_id=self.account("bob").mail_server_id.id))
