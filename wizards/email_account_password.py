"""Change password: the one way the web client replaces a saved password, which it never reads back."""

from odoo import fields, models
from odoo.exceptions import UserError


class EmailAccountPassword(models.TransientModel):
    _name = "email.account.password"
    _description = "Change Email Account Password"

    account_id = fields.Many2one("email.account", required=True, ondelete="cascade")
    # Not required in the database: the typed value is erased as soon as it is applied.
    password = fields.Char(
        "New Password",
        help="The password of the mailbox, or an app password generated at the provider.",
    )

    def action_apply(self):
        """Replace the password (the linked servers follow), note it on the chatter, forget the typed value."""
        self.ensure_one()
        if not self.password:
            raise UserError(self.env._("Type the new password."))
        account = self.account_id
        account.write({"password": self.password})
        self.password = False
        account.message_post(
            body=self.env._("Password changed by %(user)s.", user=self.env.user.name),
            message_type="notification",
            subtype_xmlid="mail.mt_note",
        )
        return {"type": "ir.actions.act_window_close"}
