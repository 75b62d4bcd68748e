"""What the two stock servers an email account drives share: they follow the account, and nothing else
changes or deletes what it set there (the edit would be undone at its next change, or ignored)."""

from odoo import api, models
from odoo.exceptions import UserError

from .email_account_sides import SIDES


class EmailAccountLinkedServerMixin(models.AbstractModel):
    _name = "email.account.linked.server.mixin"
    _description = "Mail Server Driven by an Email Account"

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
