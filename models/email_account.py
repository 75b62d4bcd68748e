"""A mailbox Odoo sends and receives with, kept in step with the stock mail server records it drives."""

from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import escape_psql, plaintext2html

from .. import mailcore
from ..mailcore.text import _lt, render
from .email_account_check import check_arguments, check_report, report_text, server_settings
from .email_account_check_progress import run_watched
from .email_account_flow import CHECK_CLEARS, explain_flow, stored_params
from .email_account_sides import ROUTE_FIELDS, SIDES, side_fields

# Seconds all the checks of one click may take together: below the web request limit (120 s by default).
ACTION_CHECK_BUDGET = 90
# One call of the health check cron: this many accounts within this many seconds. The runner commits after
# each call and makes up to 10 per run, so a killed worker loses one batch at most (docs/HEALTH_CHECK.md).
CRON_BATCH_SIZE = 50
CRON_BATCH_BUDGET = 60
UNCHECKABLE = _lt("These settings cannot be checked: %(reason)s")
# Besides the mixin's settings, the fields whose change must reach the linked ir.mail_server / fetchmail.server.
_SERVER_FIELDS = {"active"}
# Settings a passing check proved: a change to any of them leaves the account "Not Checked" until checked again.
CHECKED_FIELDS = frozenset(
    {*ROUTE_FIELDS, "password", "password_input", "use_for_sending", "use_for_receiving", "smtp_login_before_send"}
)
# Written by the addon only (as superuser): the links to the stock servers and what checks and mail flow found.
ADDON_FIELDS = frozenset(
    {
        "mail_server_id",
        "fetchmail_server_id",
        "check_state",
        "state",
        "last_check_date",
        "last_check_message",
        "last_check_data",
        "last_send_date",
        "last_send_error",
        "send_failure_code",
        "send_failure_params",
        "last_fetch_date",
        "last_fetch_error",
        "fetch_failure_code",
        "fetch_failure_params",
        "imported_count",
        "failure_streak",
        "fetch_paused",
    }
)


class EmailAccount(models.Model):
    _name = "email.account"
    _description = "Email Account"
    _inherit = ["email.account.settings.mixin", "mail.thread"]
    _order = "name, id"
    _rec_names_search = ["name", "email"]
    _check_company_auto = True

    active = fields.Boolean(default=True, tracking=True)
    mail_server_id = fields.Many2one(
        "ir.mail_server", "Outgoing Mail Server", readonly=True, copy=False, ondelete="set null"
    )
    fetchmail_server_id = fields.Many2one(
        "fetchmail.server", "Incoming Mail Server", readonly=True, copy=False, ondelete="set null"
    )
    check_state = fields.Selection(
        [("never", "Not Checked"), ("ok", "Working"), ("failed", "Failed")],
        "Check Status",
        default="never",
        required=True,
        readonly=True,
        copy=False,
        help="The last connection check. Changing a server setting or the password of a working account makes "
        "it Not Checked until the next check. Changes between Working and Failed are posted on the chatter, "
        "which notifies the followers.",
    )
    state = fields.Selection(
        [("never", "Not Checked"), ("ok", "Working"), ("attention", "Needs Attention"), ("failed", "Failed")],
        "Status",
        compute="_compute_state",
        store=True,
        help="The last check and the mail flow together: Needs Attention when sending or receiving failed since "
        "(a refused sender, mail that could not be placed, a server error), until it works again.",
    )
    last_check_date = fields.Datetime("Last Check", readonly=True, copy=False)
    # What the last check found is stored as data (codes and parameters, see mailcore.message) and shown
    # as text in the reader's language. Text stored before 18.0.1.4.0 is shown as it was.
    last_check_data = fields.Json(readonly=True, copy=False)
    last_check_message = fields.Text("Last Check Result", compute="_compute_shown_texts")
    # Mail flow: how Odoo's own sending and fetching through the linked servers last went.
    last_send_date = fields.Datetime("Last Sent", readonly=True, copy=False)
    send_failure_code = fields.Char(readonly=True, copy=False, help="The kind of the current sending failure.")
    send_failure_params = fields.Json(readonly=True, copy=False)
    last_send_error = fields.Text("Sending Problem", compute="_compute_flow_errors")
    last_fetch_date = fields.Datetime("Last Fetched", readonly=True, copy=False)
    fetch_failure_code = fields.Char(readonly=True, copy=False, help="The kind of the current receiving failure.")
    fetch_failure_params = fields.Json(readonly=True, copy=False)
    last_fetch_error = fields.Text("Receiving Problem", compute="_compute_flow_errors")
    imported_count = fields.Integer("Messages Imported", readonly=True, copy=False)

    _sql_constraints = [
        (
            "email_company_uniq",
            "unique (email, company_id)",
            "This company already has an email account with this address.",
        ),
    ]

    @api.depends("last_check_data")
    @api.depends_context("lang")
    def _compute_shown_texts(self):
        for account in self:
            check = account.last_check_data
            account.last_check_message = (
                report_text(self.env, check) if isinstance(check, list) else mailcore.render_message(check, self.env._)
            ) or False

    @api.constrains("email", "company_id")
    def _check_unique_address(self):
        """One account per address and company, whatever the case of its letters (the SQL constraint
        compares them exactly)."""
        for account in self:
            if self._address_taken(account.email, account.company_id, account):
                raise ValidationError(self.env._("This company already has an email account with this address."))

    @api.model
    def _address_taken(self, email, company, exclude):
        """Whether ``company`` has another account (archived ones included) for ``email``, in any case."""
        return bool(
            self.sudo()
            .with_context(active_test=False)
            .search_count(
                [
                    ("email", "=ilike", escape_psql(email)),
                    ("company_id", "=", company.id),
                    ("id", "not in", exclude.ids),
                ],
                limit=1,
            )
        )

    @api.constrains(
        "use_for_sending",
        "use_for_receiving",
        "smtp_login_before_send",
        *side_fields("host", "port", "tls_policy", "pinned_fingerprint"),
    )
    def _check_servers(self):
        for account in self:
            errors = account._server_errors(account._sides_in_use())
            if errors:
                raise ValidationError("\n".join(errors))

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._refuse_addon_fields(vals)
        accounts = super().create(vals_list)
        accounts._sync_linked_servers()
        return accounts

    def write(self, vals):
        self._refuse_addon_fields(vals)
        if not (vals.get("password") or vals.get("password_input")):
            self._refuse_raw_values(vals)  # before the new route is worked out from them
            for account in self:
                self._ensure_route_unchanged(account._password_route(), account._route_after(vals))
        if "password" in vals and not self.env.su:
            # Managers replace the password but never read it: the write goes through, the field stays hidden.
            vals = dict(vals)
            self.check_access("write")
            self.sudo().write({"password": vals.pop("password")})
        checked = CHECKED_FIELDS & vals.keys() if "check_state" not in vals else set()
        before = {account.id: account._values_of(checked) for account in self}
        result = super().write(vals)
        # A check proved the settings it ran with: after a change, no "Working" from an older one.
        if checked:
            self.filtered(lambda account: account._values_of(checked) != before[account.id])._forget_check()
        if "company_id" in vals:
            self.check_access("write")  # record rules again, on the new company: only to one of the user's
        if not vals.keys().isdisjoint(self._linked_server_fields()):
            self._sync_linked_servers()
        return result

    def _values_of(self, names):
        """The values of the fields ``names``; a password typed is a change whatever it was before."""
        self.ensure_one()
        return {name: True if name.startswith("password") else self[name] for name in names}

    def _forget_check(self):
        """Working proven for other settings is Not Checked; Failed stays so until a check passes."""
        working = self.filtered(lambda account: account.check_state == "ok")
        if working:
            working.sudo().write({"check_state": "never"})

    @api.depends("check_state", "send_failure_code", "fetch_failure_code", "use_for_sending", "use_for_receiving")
    def _compute_state(self):
        for account in self:
            if account.check_state == "failed":
                account.state = "failed"
            elif any(account[f"{direction}_failure_code"] for direction in account._flow_directions()):
                account.state = "attention"
            else:
                account.state = account.check_state

    @api.depends("email", "send_failure_code", "send_failure_params", "fetch_failure_code", "fetch_failure_params")
    @api.depends_context("lang")
    def _compute_flow_errors(self):
        for account in self:
            for side in SIDES.values():
                code = account[f"{side.direction}_failure_code"]
                params = account[f"{side.direction}_failure_params"] or {}
                account[f"last_{side.direction}_error"] = code and account._flow_failure_text(side.name, code, params)

    def _flow_directions(self):
        """The mail flow directions in use: "send", "fetch"."""
        self.ensure_one()
        return [side.direction for side in SIDES.values() if self[side.use_field]]

    def _flow_failure_text(self, side, code, params):
        """A stored flow failure in the reader's language; one written before codes were stored shows its
        words of then (see migrations/18.0.1.3.0)."""
        if params.keys() == {"text"}:
            return params["text"]
        return self._mail_flow_error(side, explain_flow(code, params, self.env._))

    @api.model
    def _refuse_addon_fields(self, vals):
        """The links and the status are the addon's record of what it did: no user sets them."""
        if not self.env.su and not vals.keys().isdisjoint(ADDON_FIELDS):
            raise AccessError(
                self.env._(
                    "%(fields)s are set by Odoo itself and cannot be changed.",
                    fields=", ".join(self._fields[name].string for name in sorted(ADDON_FIELDS & vals.keys())),
                )
            )

    def unlink(self):
        linked = self.sudo().mail_server_id, self.sudo().fetchmail_server_id
        result = super().unlink()
        for servers in linked:
            servers.unlink()
        return result

    @api.model
    def _linked_server_fields(self):
        mixin = self.env["email.account.settings.mixin"]
        return _SERVER_FIELDS | {name for name, field in mixin._fields.items() if field.store and name != "password"}

    def _sync_linked_servers(self):
        """Create, update or remove the stock servers so they always match the account.

        As superuser: managers of accounts are not administrators of the stock servers they drive."""
        for account in self.sudo():
            for side in SIDES.values():
                linked = account[side.link]
                if account[side.use_field] and linked:
                    linked.write(account._linked_server_values(side))
                elif account[side.use_field]:
                    account[side.link] = account.env[side.stock_model].create(account._linked_server_values(side))
                elif linked:
                    account[side.link] = False
                    linked.unlink()

    def _linked_server_values(self, side):
        """What the account sets on the stock server of ``side`` (an email_account_sides.Side)."""
        self.ensure_one()
        return side.stock_values(self)

    def action_check_connection(self):
        """Check the selected accounts concurrently, record each outcome, and sum them up in a notification."""
        self.check_access("write")
        results = self._run_checks_and_record(ACTION_CHECK_BUDGET, watched=True)
        failed = self.filtered(lambda account: results.get(account.id) is False)
        skipped = self.filtered(lambda account: account.id not in results)
        working = len(self) - len(failed) - len(skipped)
        if len(self) == 1 and not skipped:  # one account: its own result, not a sum of one
            if failed:
                title = self.env._("%(account)s does not work", account=self.display_name)
            else:
                title = self.env._("%(account)s works", account=self.display_name)
            return self._check_notification(title, self.last_check_message, warning=bool(failed))
        lines = [self.env._("%(ok)s working, %(failed)s failed.", ok=working, failed=len(failed))]
        if failed:
            lines.append(self.env._("Failed: %(names)s", names=", ".join(failed.mapped("display_name"))))
        if skipped:
            lines.append(
                self.env._(
                    "Not checked, time ran out: %(names)s. Check them again.",
                    names=", ".join(skipped.mapped("display_name")),
                )
            )
        return self._check_notification(
            self.env._("Connection check"), "\n".join(lines), warning=bool(failed or skipped)
        )

    @api.model
    def _check_notification(self, title, message, warning):
        """The notification that ends a check; a warning stays until closed. The view reloads behind it."""
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": message,
                "type": "warning" if warning else "success",
                "sticky": warning,
                "className": "o_email_account_notification",  # keeps the message's lines (static/src/views)
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def action_check_from_server(self):
        """The test button of a linked stock server: this account's check, recorded as a check of the
        account and shown with its report. Not raised, as stock raises its failures: the account keeps
        the failed check (a raise would roll its record back)."""
        self.check_access("write")
        self.ensure_one()
        ok = self._run_checks_and_record(ACTION_CHECK_BUDGET).get(self.id)
        if ok is None:
            names = self.display_name
            raise UserError(self.env._("Not checked, time ran out: %(names)s. Check them again.", names=names))
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Checked with the settings of email account %(account)s", account=self.email),
                "message": self.last_check_message,
                "type": "success" if ok else "danger",
                "sticky": not ok,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _run_checks_and_record(self, budget, watched=False):
        """Check these accounts with bounded concurrency under ``budget`` seconds, then record each result.

        The checks run in worker threads without the ORM; every write happens here, in this thread.
        Returns {account id: ok} for the accounts checked; those the budget did not reach are left out.
        ``watched``: the caller's browser sees the progress and may cancel (run_watched), which records
        nothing.
        """
        jobs, unusable = [], {}
        for account in self:
            try:
                jobs.append((account.id, check_arguments(account)))
            except ValueError as error:  # settings saved before validation existed: a failure to report
                unusable[account.id] = account._problem_message(error)

        def check(progress=None):
            return mailcore.check_many(
                jobs, concurrency=mailcore.DEFAULT_CONCURRENCY, budget=budget, progress=progress
            )

        if watched:
            results, cancelled = run_watched(self, check)
            if cancelled:
                raise UserError(self.env._("The check was cancelled. Nothing was changed."))
        else:
            results = check()
        outcome = {}
        for account in self:
            result = results.get(account.id)
            if account.id in unusable:
                outcome[account.id] = account._record_check(
                    False, mailcore.message(UNCHECKABLE, reason=unusable[account.id])
                )
            elif result is not None:
                outcome[account.id] = account._record_check(result.ok, check_report(account, result))
        return outcome

    def _record_check(self, ok, report):
        """Store one check's outcome (a check_report, or a stored message saying why there was none); a
        change between Working and Failed is posted, in the company's language, notifying followers."""
        self.ensure_one()
        previous, state = self.check_state, "ok" if ok else "failed"
        # A working account whose settings changed is "never" again: its failure still tells the followers
        # it stopped working (the first check ever only records its result).
        stopped = not ok and previous != "failed" and bool(self.last_check_date)
        now = fields.Datetime.now()
        self.sudo().write({"check_state": state, "last_check_date": now, "last_check_data": report})
        if ok:
            for side in SIDES.values():
                if self[f"{side.direction}_failure_code"] in CHECK_CLEARS:
                    self._mail_flow_succeeded(side.name, checked=True)
        if stopped or (ok and previous == "failed"):
            account = self._in_company_language()
            name = account.display_name
            if ok:
                title = account.env._("%(account)s works again.", account=name)
            else:
                title = account.env._("%(account)s stopped working.", account=name)
            body = Markup("<p>%s</p>%s") % (title, plaintext2html(account.last_check_message or ""))
            self.sudo().message_post(body=body, message_type="notification", subtype_xmlid="mail.mt_comment")
        return ok

    def _in_company_language(self):
        """This account as read in its company's language: what the chatter says is read by everyone,
        whoever (or whichever scheduled action) wrote it."""
        lang = self.company_id.partner_id.lang or self.env.lang
        return self.with_context(lang=lang)

    @api.model
    def _cron_check_accounts(self, batch_size=CRON_BATCH_SIZE):
        """Scheduled health check: one batch of the active accounts not checked in this round.

        A round is every account not checked since the cron's last complete run (or in the last hour,
        before its first). Each call checks one batch and reports done/remaining to the cron, which
        commits and calls again, in this run or the next, on any worker: a crash loses one batch at most.
        """
        cutoff = self.env.context.get("lastcall") or fields.Datetime.now() - timedelta(hours=1)
        # <=: the last run may have completed in the second of its last check (both stored to the second).
        domain = ["|", ("last_check_date", "=", False), ("last_check_date", "<=", cutoff)]
        if self._queue_jobs_available():  # one job per account, spread over the job runners
            accounts = self.sudo().search(domain)
            accounts._queue_jobs("check")
            self.env["ir.cron"]._notify_progress(done=len(accounts), remaining=0)
            return len(accounts), 0
        accounts = self.sudo().search(domain, order="last_check_date asc nulls first, id", limit=batch_size)
        done = len(accounts._run_checks_and_record(CRON_BATCH_BUDGET))
        remaining = self.sudo().search_count(domain)
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        if remaining:  # the runner reschedules a partial run by itself; "Run manually" does not
            self.env.ref("email_account.email_account_cron_health_check")._trigger()
        return done, remaining

    def action_reconfigure(self):
        """Reopen the setup wizard on this account's settings, starting from the manual steps. The wizard
        does not copy the password: it uses the account's while the settings say where it goes now."""
        return self._reconfigure_wizard()._action_reopen()

    def _reconfigure_wizard(self, **values):
        """A setup wizard on this account's settings, without its password, on the manual path."""
        self.check_access("write")
        self.ensure_one()
        settings = self._settings_values()
        del settings["password"]
        return self.env["email.account.setup"].create(
            {**settings, "account_id": self.id, "reconfigure": True, "manual": True, **values}
        )

    def _ensure_caller_may_use(self):
        """Whoever makes Odoo log in with this account's password must have rights on the account. The
        refusal names nothing of it: not its address, nor its servers."""
        if self.env.su:
            return
        try:
            self.check_access("read")
        except AccessError:
            raise AccessError(
                self.env._(
                    "This mail server belongs to an email account you have no access to. Its mail is sent and "
                    "fetched by Odoo's scheduled actions, or by an Email Account Manager of its company."
                )
            ) from None

    def _open_session(self, side):
        """A logged-in client of the 'outgoing' or 'incoming' server, with every setting of the account
        (POP-before-SMTP included); a failure is recorded on the account and raised as a UserError."""
        self.ensure_one()
        servers = server_settings(self)
        settings, login_first = servers[side], None
        if side == "outgoing" and self.smtp_login_before_send:
            login_first = servers["incoming"]  # POP-before-SMTP: the incoming server is in use for it
        try:
            return mailcore.open_session(settings, self.timeout, login_first=login_first)
        except mailcore.CheckFailure as failure:
            self._mail_flow_failed(side, failure.code, failure.params)
            raise UserError(self._mail_flow_error(side, self._explain(failure))) from None

    def _mail_flow_error(self, side, reason):
        return render(SIDES[side].flow_failed, {"account": self.email, "reason": reason}, self.env._)

    def _sanitize(self, value):
        """Server text made safe to show, log and store, this account's password masked (mailcore.sanitize)."""
        self.ensure_one()
        return mailcore.sanitize(value, self.sudo().password or "", self.login or self.email or "")

    def _mail_flow_failed(self, side, code, params, **values):
        """Record a failure as its code and parameters (the account then needs attention); a new kind of
        failure is also posted once, not at every send or cron run."""
        self.ensure_one()
        direction = SIDES[side].direction
        params = stored_params(params, self._sanitize)
        values[f"{direction}_failure_params"] = params
        new = self[f"{direction}_failure_code"] != code
        values[f"{direction}_failure_code"] = code
        self.sudo().write(values)
        if new:
            self._mail_flow_post(lambda account: account._flow_failure_text(side, code, params))

    def _mail_flow_succeeded(self, side, checked=False, **values):
        """Record a success (``checked``: a passing check, not mail that went through); the first one
        after a failure is posted once."""
        self.ensure_one()
        direction = SIDES[side].direction
        if not checked:
            values[f"last_{direction}_date"] = fields.Datetime.now()
        failed = self[f"{direction}_failure_code"]
        values.update({f"{direction}_failure_code": False, f"{direction}_failure_params": False})
        self.sudo().write(values)
        if failed:
            self._mail_flow_post(
                lambda account: render(SIDES[side].flow_works_again, {"account": account.email}, account.env._)
            )

    def _mail_flow_post(self, text_of):
        """Post ``text_of(account)`` (the account in the company's language): the chatter is read by everyone."""
        text = text_of(self._in_company_language())
        # A note, not a comment: telling followers by email could go through this very account.
        self.sudo().message_post(body=text, message_type="notification", subtype_xmlid="mail.mt_note")
