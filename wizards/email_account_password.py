"""Change password: the one way the web client replaces a saved password, which it never reads back."""

from odoo import api, fields, models
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

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:  # a NUL would fail in PostgreSQL: the account's rules say so first
            self.env["email.account"]._refuse_raw_values({"password": vals.get("password")})
        return super().create(vals_list)

    def action_apply(self):
        """Replace the password, note it on the chatter, forget the typed value."""
        self.check_access("write")
        self.account_id.check_access("write")
        self.ensure_one()
        if not self.password:
            raise UserError(self.env._("Type the new password."))
        account = self.account_id
        account.write({"password": self.password})
        self.password = False
        # A log note needs no sender address: a manager whose user has none changes passwords too.
        account._message_log(body=self.env._("Password changed by %(user)s.", user=self.env.user.name))
        return {"type": "ir.actions.act_window_close"}
