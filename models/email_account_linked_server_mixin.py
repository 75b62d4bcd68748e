"""What the two stock servers an email account drives share: they follow the account, and nothing else
changes or deletes what it set there (the edit would be undone at its next change, or ignored)."""

from odoo import api, models


class EmailAccountLinkedServerMixin(models.AbstractModel):
    _name = "email.account.linked.server.mixin"
    _description = "Mail Server Driven by an Email Account"

    def write(self, vals):
        self.env["email.account"]._check_server_follows(self, vals)
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_linked_to_an_account(self):
        self.env["email.account"]._check_server_follows(self)
