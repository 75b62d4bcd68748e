"""A hostile mail server against Odoo's checks, health-check cron, mail queue and fetch cron: it hurts
only its own account (issue #13, findings 5, 7, 8, 9). The good accounts use the harness's real
servers; the hostile ones are scripted (tests/core/faultservers.py), for bytes no real server sends.
"""

import re
import uuid
from unittest.mock import patch

from odoo import modules
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import EmailAccountCase
from .core import faultservers

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # line breaks are ours; any other is the server's


PASSWORD = "hostile  echo-secret-77"
EHLO = b"250-fault.test\r\n250 AUTH PLAIN\r\n"
SMTP_BASICS = {b"EHLO": EHLO, b"MAIL": b"250 ok\r\n", b"RCPT": b"250 ok\r\n", b"QUIT": b"221 bye\r\n"}
ECHO = b"\x00 bad\x00credentials for " + PASSWORD.encode() + b"\r\n"


@tagged("post_install", "-at_install", "email_account_servers")
class TestHostileServers(EmailAccountCase):
    def serve(self, handler):
        server = self.enterContext(faultservers.ScriptedServer(handler))
        return server.port

    def hostile_account(self, name, port, sending=True, **values):
        side = (
            {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none", "use_for_receiving": False}
            if sending
            else {"incoming_host": "127.0.0.1", "incoming_port": port, "incoming_security": "none"}
        )
        return self.env["email.account"].create(
            {"email": f"{name}@example.test", "password": PASSWORD, "timeout": 2, "use_for_sending": sending, **side}
        )

    def assertClean(self, *texts):
        for text in texts:
            self.assertFalse(CONTROL.search(text or ""), repr(text))
            for secret in (PASSWORD, " ".join(PASSWORD.split()), "echo-secret"):
                self.assertNotIn(secret, text or "")

    # -- finding 5 and 7: checks and the health-check cron --------------------------------------------

    def test_nul_in_a_reply_neither_breaks_a_check_nor_the_health_check_of_others(self):
        port = self.serve(
            faultservers.dialogue(b"220 fault\x00.test\r\n", {**SMTP_BASICS, b"AUTH": b"535 5.7.8" + ECHO})
        )
        bad = self.hostile_account("nul", port)
        good = self.env["email.account"].create(self.account_values(use_for_sending=False))
        (bad | good).action_check_connection()
        self.env.flush_all()  # PostgreSQL refuses NUL: a field that held one would fail here
        self.assertEqual((bad.check_state, good.check_state), ("failed", "ok"))
        self.assertIn("bad credentials for ***", bad.last_check_message)
        self.assertClean(bad.last_check_message)
        (bad | good).last_check_date = False
        self.assertEqual(self.env["email.account"]._cron_check_accounts(), (2, 0))

    # -- finding 5 and 8: the mail queue ------------------------------------------------------------

    def test_a_hostile_server_fails_its_own_mail_only_and_shows_no_password(self):
        echo = self.hostile_account(
            "echo",
            self.serve(
                faultservers.dialogue(
                    b"220 fault.test\r\n",
                    {**SMTP_BASICS, b"AUTH": b"235 ok\r\n", b"DATA": faultservers.smtp_data(b"554 5.7.1" + ECHO)},
                )
            ),
        )
        dropped = self.hostile_account(
            "drop",
            self.serve(
                faultservers.dialogue(
                    b"220 fault.test\r\n", {**SMTP_BASICS, b"AUTH": b"235 ok\r\n", b"DATA": lambda *_args: False}
                )
            ),
        )
        good = self.env["email.account"].create(self.account_values(use_for_receiving=False))
        mails = self.env["mail.mail"].create(
            [
                {"email_from": account.email, "email_to": "carol@example.test", "subject": f"Queue {uuid.uuid4().hex}"}
                for account in (echo, dropped, good)
            ]
        )
        with (
            patch.object(modules.module, "current_test", False),
            mute_logger("odoo.addons.mail.models.mail_mail", "odoo.addons.base.models.ir_mail_server"),
        ):
            self.env["mail.mail"].process_email_queue(ids=mails.ids)
        self.env.flush_all()
        self.assertEqual(mails.mapped("state"), ["exception", "exception", "sent"], mails.mapped("failure_reason"))
        self.assertIn("bad credentials for ***", mails[0].failure_reason)
        chatter = echo.message_ids.mapped("body")
        self.assertClean(mails[0].failure_reason, mails[1].failure_reason, *chatter)

    def test_a_failed_session_gives_the_sender_no_password(self):
        port = self.serve(faultservers.dialogue(b"220 fault.test\r\n", {**SMTP_BASICS, b"AUTH": b"535 5.7.8" + ECHO}))
        account = self.hostile_account("sender", port)
        message = self.env["ir.mail_server"].build_email(account.email, ["carol@example.test"], "Hi", "Hello")
        with patch.object(modules.module, "current_test", False), self.assertRaises(UserError) as raised:
            self.env["ir.mail_server"].send_email(message)
        self.env.flush_all()
        self.assertIn("bad credentials for ***", str(raised.exception))
        self.assertClean(str(raised.exception), account.last_send_error, *account.message_ids.mapped("body"))

    # -- finding 5 and 8: the fetch cron ------------------------------------------------------------

    def test_a_hostile_mailbox_does_not_keep_the_fetch_cron_from_the_others(self):
        login = faultservers.imap_login(b"{tag} OK [CAPABILITY IMAP4rev1] in\r\n")
        port = self.serve(
            faultservers.dialogue(
                b"* OK [CAPABILITY IMAP4rev1] ready\r\n",
                {b"LOGIN": login, b"SELECT": b"{tag} NO [SERVERBUG]" + ECHO, b"LOGOUT": b"{tag} OK\r\n"},
                tagged=True,
            )
        )
        bad = self.hostile_account("mailbox", port, sending=False, incoming_protocol="imap")
        good = self.env["email.account"].create(self.account_values(use_for_sending=False))
        with patch.object(self.env.cr, "commit", self.env.cr.flush):  # the fetch commits after each message
            self.env["fetchmail.server"]._fetch_mails()
        self.env.flush_all()
        self.assertTrue(good.last_fetch_date, good.last_fetch_error)
        self.assertIn("for ***", bad.last_fetch_error)
        self.assertClean(bad.last_fetch_error, *bad.message_ids.mapped("body"))

    # -- finding 9: an unencrypted server only with the user's consent --------------------------------

    def test_unencrypted_settings_need_the_users_consent(self):
        wizard = self.start(email=self.alice["email"], password_input=self.alice["password"], manual=True)
        wizard.write(
            {
                "use_for_receiving": False,
                "smtp_host": self.servers["host"],
                "smtp_security": "none",
                "smtp_port": self.port("popbeforesmtp"),
                "state": "mail_use",
            }
        )
        with self.assertRaisesRegex(UserError, "Send the password unencrypted"):
            wizard.action_next()
        self.assertFalse(wizard.account_id)
