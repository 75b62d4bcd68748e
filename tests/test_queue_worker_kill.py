"""A queue_job worker killed in the middle of a mailbox's fetch, against the harness's real Dovecot.

Other processes see only committed data, so this class is no TransactionCase: it commits what the
workers need (its account, a thread the messages answer, the job) on cursors of its own and removes
it all again at the end. The workers are real processes (tests/queue_worker.py) performing the job
as queue_job's runner does, on the same database.
"""

import contextlib
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import odoo
from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, get_db_name, tagged
from odoo.tools import config

from .common import load_servers
from .queue_worker import SKIPPED
from .test_mail_fetching import load_harness

MESSAGES = 120
# Generous: two Odoo processes load their registry and import on a 2-core machine shared with others.
DEADLINE = 300


@tagged("post_install", "-at_install", "email_account_servers", "email_account_queue")
class TestQueueWorkerKill(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())
        cls.servers = load_servers()
        cls.harness = load_harness(cls.servers)
        cls.alice = cls.servers["users"]["alice"]

    def setUp(self):
        super().setUp()
        self.workers, self.partner_id, self.account_id, self.parameters = [], 0, 0, {}
        # Cleanups run last in, first out: the workers end (a stopped one holds locks) before the data goes.
        self.addCleanup(self.remove_data)
        self.addCleanup(self.end_workers)
        self.empty_mailbox()
        with self.env_cursor() as env:
            parameters = env["ir.config_parameter"]
            settings = {"email_account.ca_file": self.servers["ca_file"], "email_account.allow_internal_hosts": "True"}
            self.parameters = {key: parameters.get_param(key) for key in settings}
            for key, value in settings.items():
                parameters.set_param(key, value)
            partner = env["res.partner"].create({"name": "Customer of the killed worker"})
            thread = partner.message_post(body="Our offer", message_type="comment").message_id
            account = env["email.account"].create(
                {
                    "email": self.alice["email"],
                    "password": self.alice["password"],
                    "use_for_sending": False,
                    "incoming_host": self.servers["hostname"],
                    "incoming_protocol": "imap",
                    "incoming_security": "ssl",
                    "incoming_port": self.servers["dovecot"]["main"]["imaps"],
                }
            )
            self.partner_id, self.account_id = partner.id, account.id
        for index in range(MESSAGES):
            message = (
                "From: Customer <customer@example.test>\r\n"
                f"To: {self.alice['email']}\r\n"
                f"Subject: Re: offer, part {index}\r\n"
                f"Message-Id: <kill-{index}-{uuid.uuid4().hex}@example.test>\r\n"
                f"In-Reply-To: {thread}\r\n\r\n" + ("x" * 76 + "\r\n") * 26
            )
            self.harness.deliver(self.servers, self.alice["email"], message.encode())

    @contextlib.contextmanager
    def env_cursor(self):
        """An environment on a cursor of its own, committed on a clean exit (what the workers see)."""
        with self.registry.cursor() as cr:
            yield api.Environment(cr, SUPERUSER_ID, {})

    def empty_mailbox(self):
        command = [self.servers["doveadm"], "-c", self.servers["dovecot"]["main"]["config"]]
        subprocess.run(
            [*command, "expunge", "-u", self.alice["email"], "mailbox", "INBOX", "all"], check=True, capture_output=True
        )

    def remove_data(self):
        self.empty_mailbox()
        with self.env_cursor() as env:
            env["queue.job"].search([("identity_key", "=", f"email_account.fetch:{self.account_id}")]).unlink()
            env["email.account"].browse(self.account_id).exists().unlink()
            env["mail.message"].search([("model", "=", "res.partner"), ("res_id", "=", self.partner_id)]).unlink()
            env["res.partner"].browse(self.partner_id).exists().unlink()
            for key, value in self.parameters.items():
                env["ir.config_parameter"].set_param(key, value or False)

    # ------------------------------------------------------------------------- workers

    def start_worker(self):
        """A worker process with this Odoo's configuration, once it has loaded the registry."""
        options = [
            f"--addons-path={config['addons_path']}",
            f"--data-dir={config['data_dir']}",
            f"--database={get_db_name()}",
            "--log-level=warn",
            *(f"--{name}={config[name]}" for name in ("db_host", "db_port") if config[name]),
        ]
        log = tempfile.TemporaryFile()
        self.addCleanup(log.close)
        worker = subprocess.Popen(
            [
                sys.executable,
                os.path.join(os.path.dirname(__file__), "queue_worker.py"),
                "--odoo-path",
                os.path.dirname(os.path.dirname(odoo.__file__)),
                "--",
                *options,
            ],
            # Its database sessions by name (pg_stat_activity), see freeze().
            env={**os.environ, "ODOO_PGAPPNAME": "email_account_worker-{pid}"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            cwd=tempfile.gettempdir(),
            start_new_session=True,
        )
        worker.log = log
        self.workers.append(worker)
        self.assertEqual(self.read_line(worker), "READY")
        return worker

    def freeze(self, worker):
        """Stop ``worker`` (SIGSTOP) and wait until PostgreSQL has run what it sent before: a commit on its
        way when the signal came is counted before the caller counts."""
        os.killpg(worker.pid, signal.SIGSTOP)
        deadline = time.monotonic() + DEADLINE
        while True:
            with open(f"/proc/{worker.pid}/stat", encoding="ascii") as stat:
                stopped = stat.read().rpartition(")")[2].split()[0] == "T"
            with self.env_cursor() as env:
                env.cr.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND state = 'active'",
                    [f"email_account_worker-{worker.pid}"],
                )
                busy = env.cr.fetchone()[0]
            if stopped and not busy:
                return
            self.assertLess(time.monotonic(), deadline, "the stopped worker's last query never ended")
            time.sleep(0.05)

    def read_line(self, worker):
        """The worker's next line, waiting for it no longer than the deadline."""
        ready, _w, _x = select.select([worker.stdout], [], [], DEADLINE)
        line = worker.stdout.readline().strip() if ready else ""
        if not line:
            worker.log.seek(0)
            output = worker.log.read().decode(errors="replace")[-3000:]
            self.fail(f"worker {worker.pid} said nothing (exit {worker.poll()}): {output}")
        return line

    def perform(self, worker, job):
        worker.stdin.write(job + "\n")
        worker.stdin.flush()

    def result(self, worker):
        line = self.read_line(worker)
        self.assertTrue(line.startswith("RESULT "), line)
        return line[len("RESULT ") :].strip('"')

    def end_workers(self):
        for worker in self.workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
            worker.stdin.close()
            worker.stdout.close()

    # ------------------------------------------------------------------------- what the database holds

    def imported_records(self):
        """The Message-Id of each email.account.message row the fetch committed."""
        with self.env_cursor() as env:
            records = env["email.account.message"].search([("account_id", "=", self.account_id)])
            return records.mapped("message_id")

    def queue_fetch_job(self):
        with self.env_cursor() as env:
            env["email.account"].browse(self.account_id)._queue_jobs("fetch")
            jobs = env["queue.job"].search([("identity_key", "=", f"email_account.fetch:{self.account_id}")])
            self.assertEqual(len(jobs), 1)
            return jobs.uuid

    def test_a_worker_killed_mid_fetch_loses_and_doubles_nothing(self):
        job = self.queue_fetch_job()
        first, second = self.start_worker(), self.start_worker()
        self.perform(first, job)
        deadline = time.monotonic() + DEADLINE
        while len(self.imported_records()) < MESSAGES // 3:
            self.assertIsNone(first.poll(), "the first worker ended before a third of the mailbox was imported")
            self.assertLess(time.monotonic(), deadline, "the first worker imported too little in time")
            time.sleep(0.05)
        # Frozen in the middle of the fetch, its database session (and the account's lock) still open: a
        # worker that hangs, or one killed whose session PostgreSQL has not ended yet.
        self.freeze(first)
        at_stop = len(self.imported_records())
        self.assertLess(at_stop, MESSAGES, "stopped in the middle of the fetch")
        self.perform(second, job)
        self.assertEqual(self.result(second), SKIPPED, "a mailbox is never fetched by two workers at once")
        self.assertEqual(len(self.imported_records()), at_stop)

        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        # The mailbox's job again (the next round's, or this one requeued by queue_job's garbage collector):
        # skipped while PostgreSQL still holds the dead worker's session, then the rest of the mailbox.
        while True:
            self.perform(second, job)
            result = self.result(second)
            if result != SKIPPED:
                break
            self.assertLess(time.monotonic(), deadline, "the dead worker's lock was never released")
            time.sleep(0.5)
        self.assertEqual(result, "fetched")

        message_ids = self.imported_records()
        self.assertEqual(len(message_ids), MESSAGES, "every message imported")
        self.assertEqual(len(set(message_ids)), MESSAGES, "each once")
        with self.env_cursor() as env:
            posts = env["mail.message"].read_group(
                [("message_id", "in", message_ids)], ["message_id"], ["message_id"], lazy=False
            )
            self.assertEqual(len(posts), MESSAGES)
            self.assertEqual({post["__count"] for post in posts}, {1}, "one mail.message per Message-Id")
            self.assertFalse(env["email.account"].browse(self.account_id).fetch_failure_code)
