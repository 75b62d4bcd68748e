"""The account's password: saved in one field only administrators read, typed through a write-only
one, and sent only where and how it was when saved unless its reader reroutes it."""

from odoo import api, fields, models
from odoo.exceptions import AccessError

from .email_account_sides import ROUTE_FIELDS

MANAGER_GROUP = "email_account.group_email_account_manager"


class EmailAccountPasswordMixin(models.AbstractModel):
    _name = "email.account.password.mixin"
    _description = "Email Account Password"

    password = fields.Char("Saved Password", groups="base.group_system", copy=False)
    # What the forms show instead of ``password``: always empty when read, so a saved password never
    # travels back to the browser; typing a value replaces the saved one, leaving it empty keeps it.
    password_input = fields.Char(
        string="Password",
        compute="_compute_password_input",
        inverse="_inverse_password_input",
        groups=MANAGER_GROUP,
        help="The password of the mailbox, or an app password generated at the provider.",
    )
    password_saved = fields.Boolean(compute="_compute_password_saved", groups=MANAGER_GROUP)

    def _compute_password_input(self):
        self.password_input = False

    def _compute_password_saved(self):
        # Managers may know that a password is saved, never what it is.
        for record in self:
            record.password_saved = bool(record.sudo().password)

    def _inverse_password_input(self):
        for record in self.filtered("password_input"):
            record.sudo().password = record.password_input

    def _password_route(self):
        """Where and how this record sends the password, to compare before and after a change."""
        self.ensure_one()
        return {name: self[name] for name in ROUTE_FIELDS}

    def _route_after(self, vals):
        """The route once ``vals`` is written, known before writing so a refusal leaves nothing behind."""
        route = self._password_route()
        for name in route.keys() & vals.keys():
            field = self._fields[name]
            route[name] = field.convert_to_record(field.convert_to_cache(vals[name], self), self)
        if "email" in vals and "login" not in vals:  # the login follows the address (_compute_login)
            route["login"] = vals["email"]
        return route

    @api.model
    def _ensure_route_unchanged(self, before, after):
        """Only who may read the saved password may send it elsewhere or less protected (turning safe
        logon on is no such change): anyone else types it again."""
        changed = any(
            before[name] != after[name] and not (name.endswith("_safe_logon") and after[name]) for name in ROUTE_FIELDS
        )
        if changed and not self._may_read_password():
            raise AccessError(
                self.env._(
                    "Type the password again to change where or how it is sent (server, port, security, "
                    "certificate, login, protocol or safe logon): only a Settings administrator may send the "
                    "saved password to other settings."
                )
            )

    @api.model
    def _may_read_password(self):
        return self.env.su or self.env.user.has_group("base.group_system")

    def _credentials(self, side):
        """How these settings log in to the ``side`` server: ServerSettings keywords (a sign-in's token
        replaces the password, see email_account_oauth)."""
        return {"password": self._password_to_send()}

    def _password_to_send(self):
        """The password these settings log in with."""
        self.ensure_one()
        return self.sudo().password or ""
