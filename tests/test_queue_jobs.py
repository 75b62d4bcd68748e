"""Fetching and checks as OCA queue_job jobs (models/email_account_job.py), in a database where
queue_job is installed: the Odoo tier runs these in a second database (tag email_account_queue)."""

import threading
from unittest.mock import patch

from odoo.sql_db import db_connect
from odoo.tests import tagged
from odoo.tools.translate import code_translations

from ..mailcore import politeness
from ..models.email_account_job import CHANNEL, HOST_CONNECTIONS_PARAMETER, PAUSE_AFTER
from .core import faultservers
from .test_mail_fetching import MailFetchingCase


def busy_imap(conn, stopping):
    """An IMAP server turning every client away, as a provider does when one client opens too many."""
    conn.sendall(b"* BYE [UNAVAILABLE] Too many connections from your address\r\n")


@tagged("post_install", "-at_install", "email_account_servers", "email_account_queue")
class TestQueueJobs(MailFetchingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Imported here: Odoo imports these tests while it loads this addon, before queue_job's own
        # dependencies are loaded.
        from odoo.addons.queue_job.exception import RetryableJobError
        from odoo.addons.queue_job.job import Job

        cls.RetryableJobError, cls.Job = RetryableJobError, Job

    def setUp(self):
        super().setUp()
        self.empty_mailbox(self.alice["email"])
        # Another worker's database session, for the locks it holds.
        self.other = db_connect(self.env.cr.dbname).cursor()
        self.addCleanup(self.other.close)

    def jobs(self, account, kind):
        return self.env["queue.job"].search([("identity_key", "=", f"email_account.{kind}:{account.id}")])

    def run_job(self, account, kind="fetch"):
        """Queue and perform the account's job as a runner would; its result line."""
        account._queue_jobs(kind)
        record = self.jobs(account, kind).filtered(lambda job: job.state == "pending")
        self.assertEqual(len(record), 1)
        return self.Job.load(self.env, record.uuid).perform()

    def retried(self, account):
        """The retry the account's job asks for. Not assertRaises: Odoo's rolls back what the job wrote."""
        try:
            self.run_job(account)
        except self.RetryableJobError as error:
            return error
        return self.fail("the job asked for no retry")

    def hold(self, key):
        self.other.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
        self.assertTrue(self.other.fetchone()[0])

    def test_a_fetch_round_queues_each_mailbox_once(self):
        alice = self.account()
        bob = self.env["email.account"].create(
            {
                "email": self.bob["email"],
                "password": self.bob["password"],
                "use_for_sending": False,
                **self.incoming("imap", "ssl"),
            }
        )
        self.deliver(self.reply())
        for _round in range(2):
            self.fetch()
        for account in alice | bob:
            job = self.jobs(account, "fetch")
            self.assertEqual(len(job), 1, "a second round does not queue a waiting mailbox again")
            self.assertEqual(job.channel, CHANNEL)
        self.assertEqual(self.imported(), 0, "the cron only queues; the runners fetch")

        self.assertEqual(self.run_job(alice), "fetched")
        self.assertEqual(self.imported(), 1)
        self.deliver(self.reply())
        self.run_job(alice)
        self.assertEqual(self.imported(), 2, "the new message once, the old one not again")

    def test_the_health_check_cron_queues_one_job_per_account(self):
        account = self.env["email.account"].create(self.account_values())
        done, remaining = self.env["email.account"]._cron_check_accounts()
        self.assertEqual((done, remaining), (1, 0))
        self.assertEqual(self.run_job(account, "check"), "check: working")
        self.assertEqual(account.check_state, "ok")

    def test_a_mailbox_another_worker_fetches_is_left_to_it(self):
        account = self.account()
        self.deliver(self.reply())
        self.hold(politeness.account_lock_key(account.id))
        self.assertEqual(self.run_job(account), "skipped: another worker is on this account")
        self.assertEqual(self.imported(), 0)

    def test_a_host_that_stays_full_sends_the_job_back_for_later(self):
        account = self.account()
        self.deliver(self.reply())
        self.env["ir.config_parameter"].set_param(HOST_CONNECTIONS_PARAMETER, "2")
        for key in politeness.host_slot_keys(account.incoming_host, account.incoming_port, 2):
            self.hold(key)
        with patch.object(politeness, "SLOT_WAIT", 0.5):
            self.assertTrue(self.retried(account).ignore_retry, "waiting for a slot is not a failure")
        self.assertEqual(self.imported(), 0)
        self.other.execute("SELECT pg_advisory_unlock_all()")
        self.run_job(account)
        self.assertEqual(self.imported(), 1)

    def test_a_slot_that_comes_free_is_waited_for(self):
        """Slots of a busy host free up every second or so: the job waits for one rather than leave its
        runner idle and come back in ten seconds."""
        account = self.account()
        self.deliver(self.reply())
        self.env["ir.config_parameter"].set_param(HOST_CONNECTIONS_PARAMETER, "1")
        self.hold(politeness.host_slot_keys(account.incoming_host, account.incoming_port, 1)[0])
        # The other worker's fetch ends in a second (its connection is this test's; the job uses its own).
        release = threading.Timer(1.0, self.other.execute, ["SELECT pg_advisory_unlock_all()"])
        release.start()
        self.addCleanup(release.join)
        self.assertEqual(self.run_job(account), "fetched")
        self.assertEqual(self.imported(), 1)

    def test_a_busy_server_is_retried_then_the_account_paused_once(self):
        port = self.enterContext(faultservers.ScriptedServer(busy_imap)).port
        account = self.env["email.account"].create(
            {
                "email": "busy@example.test",
                "password": "secret",
                "use_for_sending": False,
                "incoming_host": "127.0.0.1",
                "incoming_port": port,
                "incoming_security": "none",
                "timeout": 5,
            }
        )
        posts = len(account.message_ids)
        for attempt in range(1, PAUSE_AFTER):
            self.assertFalse(self.retried(account).ignore_retry)
            self.assertEqual(account.fetch_failure_code, "server_busy")
            self.assertEqual(account.failure_streak, attempt)
            self.jobs(account, "fetch").unlink()  # the runner would run the same job again, later
        self.assertIn("paused", self.run_job(account))
        self.assertTrue(account.fetch_paused)
        self.assertEqual(len(account.message_ids), posts + 2, "the failure and the pause, each posted once")
        self.assertIn(f"failed {PAUSE_AFTER} times in a row", account.message_ids[0].body)
        self.assertEqual(account.state, "attention")

        self.jobs(account, "fetch").unlink()
        self.fetch()
        self.assertFalse(self.jobs(account, "fetch"), "a paused account is not fetched")
        account._record_check(True, "works")
        self.assertFalse(account.fetch_paused)
        self.assertEqual(account.failure_streak, 0)

    def test_a_paused_account_needs_attention_and_says_how_to_resume(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        account = self.account()
        account._pause_fetching(PAUSE_AFTER)
        self.assertFalse(account.fetch_failure_code, "no failure code left: the pause alone")
        self.assertEqual(account.state, "attention")
        self.assertIn(account, self.env["email.account"].search([("state", "=", "attention")]))

        template = (
            "Fetching is paused: the last %(count)s fetches failed in a row. Fix the cause, then press "
            "Check connection: fetching resumes when a check passes."
        )
        french = code_translations.get_python_translations("email_account", "fr_FR")[template]
        for lang, text in (("en_US", template), ("fr_FR", french)):
            account.invalidate_recordset(["fetch_pause_text"])
            self.assertEqual(account.with_context(lang=lang).fetch_pause_text, text % {"count": PAUSE_AFTER})

        account._record_check(True, "works")
        self.assertEqual(account.state, "ok", "a passing check resumes fetching")
        self.assertFalse(account.fetch_pause_text)
