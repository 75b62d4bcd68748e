"""What the two stock servers an email account drives share: they follow the account, and nothing else
changes or deletes what it set there (the edit would be undone at its next change, or ignored); their
forms name the account, and their test buttons run its check."""

from odoo import api, fields, models
from odoo.exceptions import UserError

from .email_account_sides import SIDES


class EmailAccountLinkedServerMixin(models.AbstractModel):
    _name = "email.account.linked.server.mixin"
    _description = "Mail Server Driven by an Email Account"

    email_account_id = fields.Many2one(
        "email.account",
        "Managed by Email Account",
        compute="_compute_email_account_id",
        help="The email account this server belongs to: its settings are changed, checked and archived there.",
    )

    def _compute_email_account_id(self):
        for server in self:
            # As superuser, as routing does: the link is shown even where the account's company is not.
            server.email_account_id = server.sudo().email_account_ids[:1].id

    def _email_account_test(self):
        """The linked account's check as the result of this server's test button, with the caller's
        rights on the account; None for a server no account drives (stock tests it)."""
        account = self.sudo().email_account_ids[:1] if len(self) == 1 else None
        if not account:
            return None
        return account.with_env(self.env).action_check_from_server()

    def write(self, vals):
        self._refuse_account_value_changes(vals)
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_linked_to_an_account(self):
        self._refuse_account_value_changes()

    def _refuse_account_value_changes(self, vals=None):
        """Refuse changing what the account sets on a linked server (deleting it, when ``vals`` is None),
        unless the addon does it, as superuser."""
        if self.env.su:
            return
        for server in self.sudo().with_context(active_test=False).filtered("email_account_ids"):
            if vals is not None and not server._changes_account_values(vals):
                continue
            raise UserError(
                self.env._(
                    "The mail server %(server)s belongs to an email account and follows it: change, archive "
                    "or delete the account in Settings > Master Data > Email Accounts instead.",
                    server=server.name,
                )
            )

    def _changes_account_values(self, vals):
        self.ensure_one()
        account = self.email_account_ids[:1]
        side = next(side for side in SIDES.values() if side.stock_model == self._name)
        managed = account._linked_server_values(side)
        return any(
            self._fields[name].convert_to_record(self._fields[name].convert_to_cache(vals[name], self), self)
            != self[name]
            for name in managed.keys() & vals.keys()
        )
