"""Checking many accounts at once: the Check connection server action and the scheduled health check."""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import EmailAccountCase


@tagged("post_install", "-at_install", "email_account_servers")
class TestHealthCheck(EmailAccountCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.closed_port = cls.port("imaps", "plainonly") + 100  # nothing listens there: refused at once

    @classmethod
    def make_accounts(cls, count, failing=(), prefix="box"):
        """Receiving-only accounts on the harness's IMAP server (all log in as alice); those whose index
        is in ``failing`` point at a closed port."""
        return cls.env["email.account"].create(
            [
                {
                    "email": f"{prefix}{index:03d}@example.test",
                    "name": f"{prefix} {index:03d}",
                    "login": cls.alice["login"],
                    "password": cls.alice["password"],
                    "use_for_sending": False,
                    "incoming_host": cls.hostname,
                    "incoming_port": cls.closed_port if index in failing else cls.port("imaps"),
                }
                for index in range(count)
            ]
        )

    def run_cron_call(self, batch_size):
        """One call of the cron's server action, as the cron runner makes it: with a progress record."""
        cron = self.env.ref("email_account.email_account_cron_health_check")
        cron, progress = cron._add_progress()
        self.env["email.account"].with_context(**cron.env.context)._cron_check_accounts(batch_size=batch_size)
        return progress

    def test_running_the_scheduled_action_checks_the_accounts(self):
        """The cron record as an administrator runs it (Run Manually): its code reaches every account."""
        accounts = self.make_accounts(2, failing={1})
        cron = self.env.ref("email_account.email_account_cron_health_check")
        cron.method_direct_trigger()
        self.assertEqual(accounts.mapped("check_state"), ["ok", "failed"])

    def test_server_action_over_fifty_accounts(self):
        failing = {3, 17, 31, 44}
        accounts = self.make_accounts(50, failing)
        action = self.env.ref("email_account.email_account_action_check_connection")
        self.assertEqual(action.binding_model_id.model, "email.account")
        notification = action.with_context(active_model="email.account", active_ids=accounts.ids).run()
        params = notification["params"]
        self.assertEqual(params["type"], "warning")
        self.assertIn("46 working, 4 failed.", params["message"])
        for index in failing:
            self.assertIn(f"box {index:03d}", params["message"])
        self.assertNotIn("box 000", params["message"])
        states = {account.name: account.check_state for account in accounts}
        self.assertEqual(
            {name for name, state in states.items() if state == "failed"}, {f"box {index:03d}" for index in failing}
        )
        self.assertTrue(all(accounts.mapped("last_check_date")))
        self.assertIn("refused", accounts.filtered(lambda a: a.check_state == "failed")[0].last_check_message)

    def test_cron_splits_the_accounts_across_calls(self):
        accounts = self.make_accounts(25, failing={7})
        progress = [self.run_cron_call(batch_size=10) for _call in range(3)]
        self.assertEqual([(p.done, p.remaining) for p in progress], [(10, 15), (10, 5), (5, 0)])
        self.assertEqual(accounts.filtered(lambda a: a.check_state == "failed").mapped("name"), ["box 007"])
        self.assertNotIn("never", accounts.mapped("check_state"))
        last = self.run_cron_call(batch_size=10)
        self.assertEqual((last.done, last.remaining), (0, 0), "a round checks each account once")

        # The next round (after a complete run an hour ago: lastcall) checks them all again, also those
        # checked in the very second that run completed (Odoo stores both datetimes to the second).
        cron = self.env.ref("email_account.email_account_cron_health_check")
        cron.lastcall = fields.Datetime.now() - timedelta(hours=1)
        accounts.write({"last_check_date": cron.lastcall})
        cron, progress = cron._add_progress()
        self.env["email.account"].with_context(**cron.env.context, lastcall=cron.lastcall)._cron_check_accounts(
            batch_size=30
        )
        self.assertEqual((progress.done, progress.remaining), (25, 0))

    def test_archived_accounts_are_not_checked(self):
        accounts = self.make_accounts(3)
        accounts[0].action_archive()
        progress = self.run_cron_call(batch_size=10)
        self.assertEqual((progress.done, progress.remaining), (2, 0))
        self.assertEqual(accounts[0].check_state, "never")

    def test_state_changes_are_posted_and_notify_followers(self):
        account = self.make_accounts(1)
        follower = self.env["res.partner"].create({"name": "Mailbox owner", "email": "owner@example.test"})
        account.message_subscribe(partner_ids=follower.ids)
        posted = account.message_ids

        account._run_checks_and_record(budget=30)
        self.assertEqual(account.check_state, "ok")
        self.assertEqual(account.message_ids, posted, "the first result is recorded, not posted")
        account._run_checks_and_record(budget=30)
        self.assertEqual(account.message_ids, posted, "no change, no post")

        account.incoming_port = self.closed_port
        posted = account.message_ids  # with the tracking of the port
        account._run_checks_and_record(budget=30)
        change = account.message_ids - posted
        self.assertEqual(len(change), 1)
        self.assertIn("stopped working", str(change.body))
        self.assertIn(follower, change.notification_ids.res_partner_id, "followers are notified")
        self.assertNotIn(self.alice["password"], str(change.body))

        account._run_checks_and_record(budget=30)
        self.assertEqual(len(account.message_ids - posted), 1, "still failing: nothing new")
        account.incoming_port = self.port("imaps")
        posted = account.message_ids
        account._run_checks_and_record(budget=30)
        self.assertIn("works again", str((account.message_ids - posted).body))
