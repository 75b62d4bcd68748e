"""Fetching and health checks as OCA ``queue_job`` jobs, when that module is installed.

A soft dependency, not a glue module: the repository root is the addon, so a second module would need
a repository layout of its own, and a glue module auto-installed by Odoo when both are present is one
more thing to keep in step. Here nothing runs without queue_job (``_queue_jobs_available`` is False,
the crons fetch and check as before). With it, a cron run only queues one job per account and kind
in the channel ``root.email_account``, whose capacity the job runner's settings give; each job holds
its account's advisory lock (never two workers on one mailbox) and a connection slot of each mail host
it talks to (mailcore/politeness.py), retries busy or slow servers later with jitter, and an account
that keeps failing is paused and reported once. README "Thousands of mailboxes".
"""

import contextlib
import logging
import time

from odoo import api, fields, models

from ..mailcore import politeness

_logger = logging.getLogger(__name__)

CHANNEL = "root.email_account"
# Failed fetches in a row (retries included) after which an account's mail is no longer fetched by
# jobs, until a connection check succeeds.
PAUSE_AFTER = 5
# Seconds a check job may take (the scheduled check's batch budget holds 50 accounts).
CHECK_JOB_BUDGET = 60
# Failures of a message, not of the server (it works): no reason to count towards a pause.
MESSAGE_CODES = frozenset({"import_failed", "unplaced"})
HOST_CONNECTIONS_PARAMETER = "email_account.host_connections"
# A job whose host stayed full tries again in about this many seconds (not counted as a retry).
HOST_FULL_DELAY = 10


class EmailAccount(models.Model):
    _inherit = "email.account"

    failure_streak = fields.Integer(
        "Failed Fetches in a Row", readonly=True, copy=False, help="Counted by the queued fetch jobs only."
    )
    fetch_paused = fields.Boolean(
        "Fetching Paused",
        readonly=True,
        copy=False,
        help="Queued fetching stopped after repeated failures; a successful connection check resumes it.",
    )
    fetch_pause_text = fields.Text("Why Fetching Is Paused", compute="_compute_fetch_pause_text")

    @api.depends("fetch_paused")
    def _compute_state(self):
        """A paused account needs attention, whatever its last fetch left: its mail waits on the server."""
        result = super()._compute_state()
        for account in self:
            if account.fetch_paused and account.use_for_receiving and account.state in ("never", "ok"):
                account.state = "attention"
        return result

    @api.depends("fetch_paused", "failure_streak")
    @api.depends_context("lang")
    def _compute_fetch_pause_text(self):
        for account in self:
            account.fetch_pause_text = account.fetch_paused and account.env._(
                "Fetching is paused: the last %(count)s fetches failed in a row. Fix the cause, then press "
                "Check connection: fetching resumes when a check passes.",
                count=account.failure_streak,
            )

    @api.model
    def _queue_jobs_available(self):
        """Whether OCA queue_job is installed in this database (its model is then in the registry)."""
        return "queue.job" in self.env

    def _queue_jobs(self, kind):
        """Queue one ``kind`` job ("fetch" or "check") per account; an account whose job of that kind is
        still waiting is not queued again (queue_job's identity key)."""
        for account in self:
            account.with_delay(
                channel=CHANNEL,
                identity_key=f"email_account.{kind}:{account.id}",
                max_retries=PAUSE_AFTER + 1,  # the job stops retrying itself once the account is paused
                description=f"Email account {kind}: {account.email}",
            )._run_queued(kind)

    def _run_queued(self, kind):
        """One queued fetch or check of this account (queue_job calls it; the cron path never does).
        Returns a line for the job's result; asks for a later retry by raising RetryableJobError."""
        from odoo.addons.queue_job.exception import RetryableJobError  # installed whenever a job runs

        self.ensure_one()
        if not self.active or (kind == "fetch" and (self.fetch_paused or not self.fetchmail_server_id)):
            return "nothing to do: archived, paused or not receiving"
        with self._job_locks() as blocked:
            if blocked == "account":
                return "skipped: another worker is on this account"
            if blocked:
                raise RetryableJobError(
                    f"{blocked} has all its connection slots in use",
                    seconds=politeness.retry_delay(1, base=HOST_FULL_DELAY),
                    ignore_retry=True,
                )
            if kind == "check":
                ok = self.with_company(self.company_id)._run_checks_and_record(CHECK_JOB_BUDGET).get(self.id)
                return f"check: {'working' if ok else 'failed'}"
            server = self.fetchmail_server_id
            account = server._email_account()  # in its company, as the cron fetches it
            server.with_env(account.env)._fetch_account_mail(account, raise_exception=False)
            code = account.fetch_failure_code
        if not code or code in MESSAGE_CODES:
            if self.failure_streak:
                self.sudo().write({"failure_streak": 0})
            return "fetched"
        streak = self.failure_streak + 1
        if streak >= PAUSE_AFTER:
            self._pause_fetching(streak)
            return f"paused after {streak} failures in a row ({code})"
        self.sudo().write({"failure_streak": streak})
        if code in politeness.RETRYABLE_CODES:
            # The failure and its count are kept; the job's own transaction is rolled back on retry.
            self.env.cr.commit()  # pylint: disable=invalid-commit
            raise RetryableJobError(f"{code}, retried later", seconds=politeness.retry_delay(streak))
        return f"failed ({code}), tried again next round"

    def _pause_fetching(self, streak):
        """Stop queued fetching of this account and say so once on its chatter, with the last error."""
        self.sudo().write({"failure_streak": streak, "fetch_paused": True})
        self._mail_flow_post(
            lambda account: account.env._(
                "%(account)s failed %(count)s times in a row: its mail is no longer fetched until a "
                "connection check succeeds (Check connection, or the daily health check). Last error: %(error)s",
                account=account.email,
                count=streak,
                error=account.last_fetch_error or "",
            )
        )

    def _record_check(self, ok, message):
        ok = super()._record_check(ok, message)
        if ok and (self.fetch_paused or self.failure_streak):
            self.sudo().write({"fetch_paused": False, "failure_streak": 0})
        return ok

    @contextlib.contextmanager
    def _job_locks(self):
        """Take this account's lock, then a connection slot of each server its job talks to (waiting up
        to politeness.SLOT_WAIT for one); yields None when all are held, "account" when another worker
        holds the account, else the host that stayed full.

        PostgreSQL session advisory locks, on a connection of their own: the job's cursor commits after
        each message and may roll back, and PostgreSQL frees the locks when a killed worker's connection
        ends. The connection otherwise goes back to Odoo's pool, so the locks are released by hand."""
        parameter = self.env["ir.config_parameter"].sudo().get_param(HOST_CONNECTIONS_PARAMETER)
        limit = politeness.host_connections(parameter)
        held = []

        def take(key):
            cr.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
            locked = cr.fetchone()[0]
            cr.commit()  # pylint: disable=invalid-commit  # its own cursor: no transaction left open
            if locked:
                held.append(key)
                return True
            return False

        with self.env.registry.cursor() as cr:
            try:
                if not take(politeness.account_lock_key(self.id)):
                    yield "account"
                    return
                for host, port in self._job_servers():
                    keys = politeness.host_slot_keys(host, port, limit)
                    deadline = time.monotonic() + politeness.SLOT_WAIT
                    while not any(take(key) for key in keys):
                        if time.monotonic() >= deadline:
                            yield host
                            return
                        time.sleep(politeness.poll_delay())
                yield None
            finally:
                for key in held:
                    cr.execute("SELECT pg_advisory_unlock(%s, %s)", key)

    def _job_servers(self):
        """(host, port) of each distinct server this account's jobs connect to."""
        servers = []
        if self.use_for_receiving and self.incoming_host:
            servers.append((self.incoming_host, self.incoming_port))
        if self.use_for_sending and self.smtp_host:
            servers.append((self.smtp_host, self.smtp_port))
        return list(dict.fromkeys(servers))
