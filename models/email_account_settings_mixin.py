"""Connection settings shared by an email account and its setup wizard, so every rule lives once."""

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .. import mailcore
from ..mailcore.text import render
from .email_account_sides import SECURITY_MODES, SIDES, TLS_POLICIES, per_side, side_fields, standard_ports

MAX_DESCRIPTION = 128
MAX_ADDRESS = 254  # RFC 5321: a path is at most 256 characters, its angle brackets included
MAX_KEEP_DAYS = 36500  # days a copy may stay on the server: a century, far inside what dates can count
POP3_KEEP_DAYS = 14  # days a POP3 copy stays on the server by default, as the seed's dialog says
INT_RANGE = range(-(2**31), 2**31)  # what a PostgreSQL integer column holds


class EmailAccountSettingsMixin(models.AbstractModel):
    _name = "email.account.settings.mixin"
    _description = "Email Account Connection Settings"
    _inherit = "email.account.password.mixin"

    name = fields.Char(
        "Description",
        compute="_compute_name",
        store=True,
        readonly=False,
        precompute=True,
        required=True,
        tracking=True,
        help="How the account is listed. Follows the email address when that changes.",
    )
    email = fields.Char(required=True, tracking=True)
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, tracking=True)
    login = fields.Char(
        compute="_compute_login",
        store=True,
        readonly=False,
        precompute=True,
        tracking=True,
        help="The user name for both servers. Follows the email address when that changes.",
    )
    use_for_sending = fields.Boolean("For Sending Emails", default=True, tracking=True)
    use_for_receiving = fields.Boolean("For Receiving Emails", default=True, tracking=True)
    timeout = fields.Integer(
        default=int(mailcore.DEFAULT_TIMEOUT),
        tracking=True,
        help="Seconds a connection check may take, for both servers together.",
    )

    # Per side (email_account_sides.SIDES), in its order: smtp_* then incoming_*.
    smtp_host, incoming_host = per_side(lambda side: fields.Char(f"{side.title} Server", tracking=True))
    smtp_port, incoming_port = per_side(
        lambda side: fields.Integer(
            f"{side.title} Port",
            compute=f"_compute_{side.prefix}_port",
            store=True,
            readonly=False,
            precompute=True,
            tracking=True,
            help=f"Follows the {side.port_follows} until you type another port.",
        )
    )
    smtp_security, incoming_security = per_side(
        lambda side: fields.Selection(
            SECURITY_MODES, f"{side.title} Security", default="ssl", required=True, tracking=True
        )
    )
    smtp_safe_logon, incoming_safe_logon = per_side(
        lambda side: fields.Boolean(
            f"{side.title} Safe Logon",
            tracking=True,
            help=f"Only for a server that offers a login method which never sends the password itself "
            f"({side.safe_methods}), when you want every other method refused: with it ticked, the check fails "
            "against servers that take only the password (most do, over SSL or STARTTLS, which encrypts it). "
            "Leave it off unless your provider recommends it.",
        )
    )
    smtp_tls_policy, incoming_tls_policy = per_side(
        lambda side: fields.Selection(
            TLS_POLICIES, f"{side.title} Certificate", default="verify", required=True, tracking=True
        )
    )
    smtp_pinned_fingerprint, incoming_pinned_fingerprint = per_side(
        lambda side: fields.Char(f"{side.title} Trusted Fingerprint", tracking=True)
    )
    smtp_login_before_send = fields.Boolean(
        "Log In to Incoming Server First",
        tracking=True,
        help="Some old servers accept mail only from someone who has just collected their mail (known as "
        "POP-before-SMTP). Leave it off unless your provider asks for it.",
    )

    incoming_protocol = fields.Selection(
        [("imap", "IMAP"), ("pop3", "POP3")], "Protocol", default="imap", required=True, tracking=True
    )
    keep_copies = fields.Boolean("Keep Email Copies on Server", default=True, tracking=True)
    keep_copies_days = fields.Integer(
        "Days to Keep Copies",
        compute="_compute_keep_copies_days",
        store=True,
        readonly=False,
        precompute=True,
        tracking=True,
        help="Copies are deleted from the server this many days after Odoo imported them; 0 keeps them forever. "
        "IMAP keeps them forever unless you choose otherwise; POP3 keeps them for 14 days.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._refuse_raw_values(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._refuse_raw_values(vals)
        return super().write(vals)

    @api.model
    def _refuse_raw_values(self, vals):
        """Refuse, with a message, what would otherwise reach PostgreSQL and fail there as a server error
        (constraints run after it): NUL characters, integers beyond its range, a choice that does not
        exist, an address too long for its index. The constraints check the rest."""
        for name, value in vals.items():
            field = self._fields.get(name)
            if field is None:
                continue
            label = field._description_string(self.env)
            if isinstance(value, str) and "\x00" in value:
                self._validate(label, mailcore.check_line, value)
            elif field.type == "integer" and isinstance(value, int) and value not in INT_RANGE:
                raise ValidationError(self.env._("%(field)s: %(value)s is out of range.", field=label, value=value))
            elif field.type == "selection" and value and value not in field.get_values(self.env):
                choices = ", ".join(dict(field._description_selection(self.env)).values())
                raise ValidationError(self.env._("%(field)s: choose one of %(choices)s.", field=label, choices=choices))
            elif name == "email" and isinstance(value, str):
                self._validate(label, mailcore.check_length, value, MAX_ADDRESS)

    def _valid_field_parameter(self, field, name):
        # email.account tracks these fields in its chatter; the wizard, not a mail.thread, ignores it.
        return name == "tracking" or super()._valid_field_parameter(field, name)

    @api.depends("email")
    def _compute_name(self):
        for record in self:
            record.name = record.email

    @api.depends("email")
    def _compute_login(self):
        for record in self:
            record.login = record.email

    @api.depends("incoming_protocol")
    def _compute_keep_copies_days(self):
        """IMAP is a shared mailbox that colleagues read in their mail clients: Odoo never deletes from it
        unless told to. POP3 mailboxes are downloaded, and a copy is kept for two weeks by default."""
        for record in self:
            if record.incoming_protocol == "imap":
                record.keep_copies_days = 0
            elif not record.keep_copies_days:
                record.keep_copies_days = POP3_KEEP_DAYS

    @api.depends("smtp_security")
    def _compute_smtp_port(self):
        standard = standard_ports("smtp")
        for record in self:
            if not record.smtp_port or record.smtp_port in standard:
                record.smtp_port = mailcore.default_port("smtp", record.smtp_security)

    @api.depends("incoming_protocol", "incoming_security")
    def _compute_incoming_port(self):
        standard = standard_ports("imap", "pop3")
        for record in self:
            if not record.incoming_port or record.incoming_port in standard:
                record.incoming_port = mailcore.default_port(record.incoming_protocol, record.incoming_security)

    @api.constrains("email")
    def _check_email(self):
        for record in self:
            label = self.env._("%(email)s is not a valid email address", email=record.email)
            record._validate(label, mailcore.wire_email, record.email)

    @api.constrains("name", "login", "password", *side_fields("pinned_fingerprint"))
    def _check_text(self):
        for record in self:
            record._validate(self.env._("Description"), mailcore.check_length, record.name, MAX_DESCRIPTION)
            sudo = record.sudo()  # the password is checked, never shown: managers cannot read it
            for name in ("name", "login", "password", *side_fields("pinned_fingerprint")):
                label = (
                    self.env._("Password") if name == "password" else self._fields[name]._description_string(self.env)
                )
                record._validate(label, mailcore.check_line, sudo[name])

    @api.constrains(*side_fields("host", "port"))
    def _check_servers_syntax(self):
        """Host names and ports, whether or not their side is in use: nothing invalid is ever saved."""
        for record in self:
            for side in SIDES.values():
                label = render(side.label, {}, self.env._)
                if record[side.field("host")]:
                    record._validate(label, mailcore.wire_host, record[side.field("host")])
                record._validate(label, mailcore.check_port, record[side.field("port")])

    @api.constrains("use_for_sending", "use_for_receiving")
    def _check_directions(self):
        if any(not (record.use_for_sending or record.use_for_receiving) for record in self):
            raise ValidationError(self.env._("An email account is for sending, for receiving, or for both."))

    @api.constrains("timeout", "keep_copies", "keep_copies_days")
    def _check_limits(self):
        for record in self:
            record._validate(self.env._("Timeout"), mailcore.check_timeout, record.timeout)
            if record.keep_copies_days < 0:
                raise ValidationError(
                    self.env._("Days to keep copies cannot be negative (0 keeps them on the server forever).")
                )
            if record.keep_copies_days > MAX_KEEP_DAYS:
                raise ValidationError(
                    self.env._(
                        "Days to keep copies: at most %(maximum)s (0 keeps them on the server forever).",
                        maximum=MAX_KEEP_DAYS,
                    )
                )

    def _validate(self, label, rule, value, *args):
        """Apply a core rule; its failure becomes a translated ValidationError naming the field."""
        try:
            return rule(value, *args)
        except mailcore.InvalidValue as error:
            problem = error.describe(self.env._)
            raise ValidationError(self.env._("%(field)s: %(problem)s", field=label, problem=problem)) from None

    @api.model
    def _explain(self, item):
        """A failed check (CheckResult or CheckFailure) or unusable settings (ValueError), translated."""
        if isinstance(item, mailcore.InvalidValue):
            return item.describe(self.env._)
        if isinstance(item, ValueError):  # a ServerSettings rule the form's constraints already enforce
            return str(item)
        return mailcore.explain(item.code, item.params, self.env._)

    @api.model
    def _problem_message(self, item):
        """What ``_explain`` says, as a stored message (mailcore.message) to render when read."""
        if isinstance(item, mailcore.InvalidValue):
            return item.as_message()
        if isinstance(item, ValueError):
            return str(item)
        return mailcore.error_message(item.code, item.params)

    def _sides_in_use(self):
        """Outgoing to send; incoming to receive, or to log in first (POP-before-SMTP)."""
        self.ensure_one()
        incoming = self.use_for_receiving or (self.use_for_sending and self.smtp_login_before_send)
        return [name for name, used in (("outgoing", self.use_for_sending), ("incoming", incoming)) if used]

    def _server_errors(self, sides):
        """What keeps the given sides ('outgoing', 'incoming') from being checked, as messages."""
        self.ensure_one()
        errors = []
        for side in map(SIDES.get, sides):
            word = render(side.word, {}, self.env._)
            if not self[side.field("host")]:  # its syntax and the port are constraints (_check_servers_syntax)
                errors.append(self.env._("Enter the name of the %(side)s server.", side=word))
            if self[side.field("tls_policy")] == "pin" and not self[side.field("pinned_fingerprint")]:
                errors.append(self.env._("Trust a certificate of the %(side)s server first.", side=word))
        return errors

    def _settings_values(self):
        """The stored settings as write values, to copy between an account and a wizard."""
        self.ensure_one()
        mixin = self.env["email.account.settings.mixin"]
        record = self.sudo()  # the password travels from server-side record to record, never to a browser
        return {
            name: field.convert_to_write(record[name], record)
            for name, field in mixin._fields.items()
            if field.store and name != "id"
        }
