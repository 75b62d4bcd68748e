"""A mailbox Odoo sends and receives with, kept in step with the stock mail server records it drives."""

from odoo import api, fields, models
from odoo.exceptions import ValidationError

# Besides the mixin's settings, the fields whose change must reach the linked ir.mail_server / fetchmail.server.
_SERVER_FIELDS = {"active", "password"}


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
        [("never", "Never Checked"), ("ok", "Working"), ("failed", "Failed")],
        "Check Status",
        default="never",
        required=True,
        readonly=True,
        copy=False,
        tracking=True,
    )
    last_check_date = fields.Datetime("Last Check", readonly=True, copy=False)
    last_check_message = fields.Text("Last Check Result", readonly=True, copy=False)

    _sql_constraints = [
        (
            "email_company_uniq",
            "unique (email, company_id)",
            "This company already has an email account with this address.",
        ),
    ]

    @api.constrains(
        "use_for_sending",
        "use_for_receiving",
        "smtp_login_before_send",
        "smtp_host",
        "smtp_port",
        "smtp_tls_policy",
        "smtp_pinned_fingerprint",
        "incoming_host",
        "incoming_port",
        "incoming_tls_policy",
        "incoming_pinned_fingerprint",
    )
    def _check_servers(self):
        for account in self:
            errors = account._server_errors(account._sides_in_use())
            if errors:
                raise ValidationError("\n".join(errors))

    @api.model_create_multi
    def create(self, vals_list):
        accounts = super().create(vals_list)
        accounts._sync_linked_servers()
        return accounts

    def write(self, vals):
        result = super().write(vals)
        if not vals.keys().isdisjoint(self._linked_server_fields()):
            self._sync_linked_servers()
        return result

    def unlink(self):
        linked = self.mail_server_id, self.fetchmail_server_id
        result = super().unlink()
        for servers in linked:
            servers.unlink()
        return result

    @api.model
    def _linked_server_fields(self):
        mixin = self.env["email.account.settings.mixin"]
        return _SERVER_FIELDS | {name for name, field in mixin._fields.items() if field.store}

    def _sync_linked_servers(self):
        """Create, update or remove the stock servers so they always match the account."""
        for account in self:
            links = (
                ("mail_server_id", account.use_for_sending, account._mail_server_values),
                ("fetchmail_server_id", account.use_for_receiving, account._fetchmail_server_values),
            )
            for link, in_use, values in links:
                linked = account[link]
                if in_use and linked:
                    linked.write(values())
                elif in_use:
                    account[link] = self.env[account._fields[link].comodel_name].create(values())
                elif linked:
                    account[link] = False
                    linked.unlink()

    def _mail_server_values(self):
        self.ensure_one()
        return {
            "name": self.name,
            "smtp_host": self.smtp_host,
            "smtp_port": self.smtp_port,
            # ir.mail_server names its encryption modes as we do: ssl, starttls, none.
            "smtp_encryption": self.smtp_security,
            "smtp_authentication": "login",
            "smtp_user": self.login,
            "smtp_pass": self.password,
            "from_filter": self.email,
            "active": self.active,
        }

    def _fetchmail_server_values(self):
        self.ensure_one()
        return {
            "name": self.name,
            "server_type": "pop" if self.incoming_protocol == "pop3" else "imap",
            "server": self.incoming_host,
            "port": self.incoming_port,
            "is_ssl": self.incoming_security == "ssl",
            "user": self.login,
            "password": self.password,
            "state": "done",
            "active": self.active,
        }

    def action_check_connection(self):
        """Check the servers in use and record the outcome; a failing server is a result, not an error."""
        for account in self:
            result = account._run_check()
            account.write(
                {
                    "check_state": "ok" if result.ok else "failed",
                    "last_check_date": fields.Datetime.now(),
                    "last_check_message": account._check_report_text(account._check_report(result)),
                }
            )
        return True

    def action_reconfigure(self):
        """Reopen the setup wizard on this account's settings, starting from the manual steps."""
        self.ensure_one()
        wizard = self.env["email.account.setup"].create(
            {**self._settings_values(), "account_id": self.id, "reconfigure": True, "manual": True}
        )
        return wizard._action_reopen()
