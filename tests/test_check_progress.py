"""While a check runs, its creator's browser sees which server, which stage and the time left, and
Cancel ends it within moments instead of at its budget. The "browser" is a thread that polls and
cancels through cursors of its own, as the poll and cancel requests of another worker would."""

import threading
import time

from odoo import api
from odoo.exceptions import AccessError, UserError
from odoo.tests import TransactionCase, new_test_user, tagged

from .core import faultservers

PROGRESS = "email.account.check.progress"
BUDGET = 10


@tagged("post_install", "-at_install")
class TestCheckProgress(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Every cursor on the test's transaction, as HttpCase does: the check's progress cursor, and
        # the "browser" thread's, see the users and records this test has not committed.
        cls.registry.enter_test_mode(cls.cr)
        cls.addClassCleanup(cls.registry.leave_test_mode)
        cls.env["ir.config_parameter"].sudo().set_param("email_account.allow_internal_hosts", "True")
        cls.manager = new_test_user(cls.env, "progress_manager", groups="email_account.group_email_account_manager")
        cls.other = new_test_user(cls.env, "progress_other", groups="email_account.group_email_account_manager")

    def setUp(self):
        super().setUp()
        self.connected = threading.Event()

        def tarpit(conn, stopping):
            self.connected.set()
            faultservers.tarpit(conn, stopping)

        self.tarpit = self.enterContext(faultservers.ScriptedServer(tarpit))

    def browser(self, res_model, res_id, seen, intruder=None):
        """Once the check has reached the server (so the test's thread is inside it and uses the
        database only through cursors like this one), poll until the check shows a server, note what
        it shows and cancel it. ``intruder``: another manager, who polls and cancels first, and fails."""

        def as_user(user, action):
            with self.registry.cursor() as cr:
                rows = api.Environment(cr, user.id, {})[PROGRESS]
                outcome = action(rows)
                rows.env.flush_all()  # as a request does before its commit
                return outcome

        def run():
            self.connected.wait(BUDGET)
            end = time.monotonic() + BUDGET
            while time.monotonic() < end:
                time.sleep(0.2)
                info = as_user(self.manager, lambda rows: rows.poll(res_model, res_id))
                if info and info["running"] and len(info["lines"]) >= 2:
                    break
            if intruder:
                seen["intruder_poll"] = as_user(intruder, lambda rows: rows.poll(res_model, res_id))
                try:
                    as_user(intruder, lambda rows: rows.browse(info["id"]).action_cancel())
                except AccessError:
                    seen["intruder_refused"] = True
            seen["info"], seen["cancelled_at"] = info, time.monotonic()
            as_user(self.manager, lambda rows: rows.browse(info["id"]).action_cancel())

        thread = threading.Thread(target=run, name="test-browser")
        thread.start()
        return thread

    def wizard(self):
        return (
            self.env["email.account.setup"]
            .with_user(self.manager)
            .create(
                {
                    "email": "progress@example.test",
                    "password_input": "secret",
                    "manual": True,
                    "use_for_receiving": False,
                    "smtp_host": "127.0.0.1",
                    "smtp_port": self.tarpit.port,
                    "smtp_security": "none",
                    "unencrypted_accepted": True,
                    "timeout": BUDGET,
                    "state": "mail_use",
                }
            )
        )

    def test_wizard_check_shows_progress_and_cancel_ends_it(self):
        wizard, seen = self.wizard(), {}
        browser = self.browser(wizard._name, wizard.id, seen)
        started = time.monotonic()
        try:
            wizard.action_next()
        except UserError as error:
            message = str(error)
        else:
            message = ""
        ended = time.monotonic()
        browser.join()
        self.assertIn("The check was cancelled", message)
        info = seen["info"]
        self.assertEqual(info["title"], "Checking the connection…")
        self.assertIn(f"SMTP 127.0.0.1:{self.tarpit.port}: waiting for the server to answer", info["lines"])
        self.assertRegex(info["lines"][-1], r"^At most \d+ s left\.$")
        # Ended at the next report after the cancel, not at the 10 s budget.
        self.assertLess(ended - seen["cancelled_at"], 0.5 + faultservers.SLACK)
        self.assertLess(ended - started, BUDGET)
        self.assertEqual(wizard.state, "mail_use", "nothing was changed")
        ended_row = self.env[PROGRESS].with_user(self.manager).poll(wizard._name, wizard.id)
        self.assertEqual((ended_row["id"], ended_row["running"]), (info["id"], False))

    def test_account_check_shows_progress_and_cancel_records_nothing(self):
        account = self.env["email.account"].create(
            {
                "email": "progress@example.test",
                "password": "secret",
                "use_for_receiving": False,
                "smtp_host": "127.0.0.1",
                "smtp_port": self.tarpit.port,
                "smtp_security": "none",
                "timeout": BUDGET,
            }
        )
        seen = {}
        browser = self.browser(account._name, account.id, seen)
        try:
            account.with_user(self.manager).action_check_connection()
        except UserError as error:
            message = str(error)
        else:
            message = ""
        browser.join()
        self.assertIn("The check was cancelled", message)
        self.assertIn(f"SMTP 127.0.0.1:{self.tarpit.port}: waiting for the server to answer", seen["info"]["lines"])
        self.assertEqual(account.check_state, "never")

    def test_only_the_creator_sees_or_cancels_a_check(self):
        wizard, seen = self.wizard(), {}
        browser = self.browser(wizard._name, wizard.id, seen, intruder=self.other)
        with self.assertRaises(UserError):
            wizard.action_next()
        browser.join()
        self.assertTrue(seen["info"]["running"])
        self.assertFalse(seen["intruder_poll"])
        self.assertTrue(seen.get("intruder_refused"))
