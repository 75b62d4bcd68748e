"""The guided setup of an email account: one dialog whose ``state`` walks the steps of the manual.

Every step writes the wizard and reopens it, so the values survive Back, Retry and the manual path;
the account and its stock servers are created only once the check of every server in use succeeds.
"""

from odoo import api, fields, models
from odoo.exceptions import UserError

from .. import mailcore
from ..models.email_account_settings_mixin import SIDE_PREFIXES

STEPS = [
    ("account", "Account"),
    ("outgoing", "Outgoing Server"),
    ("incoming", "Incoming Server"),
    ("description", "Description"),
    ("check", "Check"),
]


class EmailAccountSetup(models.TransientModel):
    _name = "email.account.setup"
    _inherit = "email.account.settings.mixin"
    _description = "Email Account Setup"
    _check_company_auto = True

    state = fields.Selection(STEPS, default="account", required=True)
    manual = fields.Boolean(
        "Set Up Connection Parameters Manually",
        help="Otherwise the usual server names and ports of the address's domain are tried at once.",
    )
    account_id = fields.Many2one("email.account", "Email Account", readonly=True, check_company=True)
    reconfigure = fields.Boolean(readonly=True, help="Started from an existing account, which success updates.")
    check_ok = fields.Boolean(readonly=True)
    outgoing_check_report = fields.Html(readonly=True)
    incoming_check_report = fields.Html(readonly=True)
    outgoing_certificate_sha256 = fields.Char(readonly=True)
    incoming_certificate_sha256 = fields.Char(readonly=True)

    def _steps(self):
        """The steps this wizard walks: the manual path shows each server in use and the description."""
        self.ensure_one()
        middle = [*self._sides_in_use(), "description"] if self.manual else []
        return ["account", *middle, "check"]

    def _action_reopen(self):
        title = self.env._("Reconfigure Email Account") if self.reconfigure else self.env._("Create Email Account")
        return {
            "type": "ir.actions.act_window",
            "name": title,
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
        }

    def action_next(self):
        self.ensure_one()
        if self.state == "account":
            self._check_unique_address()
            if not self.manual:
                self._apply_guesses()
        elif self.state in ("outgoing", "incoming"):
            errors = self._server_errors([self.state])
            if errors:
                raise UserError("\n".join(errors))
        steps = self._steps()
        following = steps[steps.index(self.state) + 1]
        if following == "check":
            return self._check_and_finish()
        self.state = following
        return self._action_reopen()

    def action_back(self):
        self.ensure_one()
        steps = self._steps()
        self.state = steps[max(steps.index(self.state) - 1, 0)]
        return self._action_reopen()

    def action_retry(self):
        self.ensure_one()
        return self._check_and_finish()

    def action_manual(self):
        """Leave the automatic path: show the server steps with what was tried."""
        self.ensure_one()
        self.manual = True
        self.state = self._steps()[1]
        return self._action_reopen()

    def action_trust_outgoing_certificate(self):
        return self._trust_certificate("outgoing")

    def action_trust_incoming_certificate(self):
        return self._trust_certificate("incoming")

    def action_open_account(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "email.account",
            "res_id": self.account_id.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
        }

    def _trust_certificate(self, side):
        """Pin exactly the certificate the user has seen, then check again with it."""
        self.ensure_one()
        fingerprint = self[f"{side}_certificate_sha256"]
        if not fingerprint:
            raise UserError(self.env._("There is no certificate to trust; run the check first."))
        prefix = SIDE_PREFIXES[side]
        self.write({f"{prefix}_tls_policy": "pin", f"{prefix}_pinned_fingerprint": fingerprint})
        return self._check_and_finish()

    def _check_unique_address(self):
        duplicate = (
            self.env["email.account"]
            .with_context(active_test=False)
            .search_count(
                [
                    ("email", "=", self.email),
                    ("company_id", "=", self.company_id.id),
                    ("id", "!=", self.account_id.id),
                ],
                limit=1,
            )
        )
        if duplicate:
            raise UserError(
                self.env._(
                    "%(company)s already has an email account for %(email)s.",
                    company=self.company_id.name,
                    email=self.email,
                )
            )

    def _apply_guesses(self):
        """Until discovery exists, the automatic path tries the names and ports most providers use."""
        domain = self.email.rpartition("@")[2]
        self.write(
            {
                "smtp_host": f"smtp.{domain}",
                "smtp_security": "ssl",
                "smtp_port": mailcore.default_port("smtp", "ssl"),
                "smtp_tls_policy": "verify",
                "incoming_protocol": "imap",
                "incoming_host": f"imap.{domain}",
                "incoming_security": "ssl",
                "incoming_port": mailcore.default_port("imap", "ssl"),
                "incoming_tls_policy": "verify",
            }
        )

    def _check_and_finish(self):
        """Check the servers in use, show what happened, and save the account when all of them work."""
        errors = self._server_errors(self._sides_in_use())
        if errors:
            raise UserError("\n".join(errors))
        result = self._run_check()
        report = {server["side"]: server for server in self._check_report(result)}
        values = {"state": "check", "check_ok": result.ok}
        for side in ("outgoing", "incoming"):
            server = report.get(side)
            certificate = server and server["certificate"]
            values[f"{side}_check_report"] = server and self._render_report(server)
            values[f"{side}_certificate_sha256"] = certificate and certificate["sha256"]
        self.write(values)
        if result.ok:
            self._save_account(report)
        return self._action_reopen()

    @api.model
    def _render_report(self, server):
        return self.env["ir.qweb"]._render("email_account.email_account_check_report", {"server": server})

    def _save_account(self, report):
        """Create (or update, when reconfiguring) the account; its stock servers follow in the same transaction."""
        values = {
            **self._settings_values(),
            "check_state": "ok",
            "last_check_date": fields.Datetime.now(),
            "last_check_message": self._check_report_text(list(report.values())),
        }
        if self.account_id:
            self.account_id.write(values)
        else:
            self.account_id = self.env["email.account"].create(values)
