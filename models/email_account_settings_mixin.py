"""Connection settings shared by an email account and its setup wizard, so every rule lives once."""

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError

from .. import mailcore

SECURITY_MODES = [
    ("ssl", "SSL/TLS"),
    ("starttls", "STARTTLS"),
    ("none", "None (unencrypted)"),
]
TLS_POLICIES = [
    ("verify", "Verify the certificate"),
    ("pin", "Trust the pinned certificate"),
    ("any", "Accept any certificate"),
]
CA_FILE_PARAMETER = "email_account.ca_file"
# "True": anyone who checks or uses an account may reach addresses inside this network (loopback,
# private, link-local), discovery included. Otherwise only administrators may, on the manual path.
INTERNAL_HOSTS_PARAMETER = "email_account.allow_internal_hosts"
MANAGER_GROUP = "email_account.group_email_account_manager"
MAX_DESCRIPTION = 128
MAX_ADDRESS = 254  # RFC 5321: a path is at most 256 characters, its angle brackets included
# Days a copy may stay on the server: a century, far inside what dates can count.
MAX_KEEP_DAYS = 36500
# What a PostgreSQL integer column holds.
INT_RANGE = range(-(2**31), 2**31)
# The field-name prefix of each side's settings.
SIDE_PREFIXES = {"outgoing": "smtp", "incoming": "incoming"}
# Where and how the password is sent: as sensitive as the password itself (see _check_password_route).
ROUTE_FIELDS = (
    "login",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_tls_policy",
    "smtp_pinned_fingerprint",
    "smtp_safe_logon",
    "incoming_protocol",
    "incoming_host",
    "incoming_port",
    "incoming_security",
    "incoming_tls_policy",
    "incoming_pinned_fingerprint",
    "incoming_safe_logon",
)


def _standard_ports(*protocols):
    return {port for (protocol, _security), port in mailcore.DEFAULT_PORTS.items() if protocol in protocols}


class EmailAccountSettingsMixin(models.AbstractModel):
    _name = "email.account.settings.mixin"
    _description = "Email Account Connection Settings"

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
    use_for_sending = fields.Boolean("For Sending Emails", default=True, tracking=True)
    use_for_receiving = fields.Boolean("For Receiving Emails", default=True, tracking=True)
    timeout = fields.Integer(
        default=int(mailcore.DEFAULT_TIMEOUT),
        tracking=True,
        help="Seconds a connection check may take, for both servers together.",
    )

    smtp_host = fields.Char("Outgoing Server", tracking=True)
    smtp_port = fields.Integer(
        "Outgoing Port",
        compute="_compute_smtp_port",
        store=True,
        readonly=False,
        precompute=True,
        tracking=True,
        help="Follows the security mode until you type another port.",
    )
    smtp_security = fields.Selection(SECURITY_MODES, "Outgoing Security", default="ssl", required=True, tracking=True)
    smtp_safe_logon = fields.Boolean(
        "Outgoing Safe Logon",
        tracking=True,
        help="Use only login methods that never send the password itself (CRAM-MD5, SCRAM). "
        "Otherwise the password may be sent when the server allows it.",
    )
    smtp_login_before_send = fields.Boolean(
        "Log In to the Incoming Server Before Sending",
        tracking=True,
        help="Authentication is required on the incoming mail server before sending (POP-before-SMTP).",
    )
    smtp_tls_policy = fields.Selection(
        TLS_POLICIES, "Outgoing Certificate", default="verify", required=True, tracking=True
    )
    smtp_pinned_fingerprint = fields.Char("Outgoing Trusted Fingerprint", tracking=True)

    incoming_protocol = fields.Selection(
        [("imap", "IMAP"), ("pop3", "POP3")], "Protocol", default="imap", required=True, tracking=True
    )
    incoming_host = fields.Char("Incoming Server", tracking=True)
    incoming_port = fields.Integer(
        compute="_compute_incoming_port",
        store=True,
        readonly=False,
        precompute=True,
        tracking=True,
        help="Follows the protocol and security mode until you type another port.",
    )
    incoming_security = fields.Selection(SECURITY_MODES, default="ssl", required=True, tracking=True)
    incoming_safe_logon = fields.Boolean(
        tracking=True,
        help="Use only login methods that never send the password itself (CRAM-MD5, SCRAM, APOP). "
        "Otherwise the password may be sent when the server allows it.",
    )
    incoming_tls_policy = fields.Selection(
        TLS_POLICIES, "Incoming Certificate", default="verify", required=True, tracking=True
    )
    incoming_pinned_fingerprint = fields.Char("Incoming Trusted Fingerprint", tracking=True)
    keep_copies = fields.Boolean("Keep Email Copies on Server", default=True, tracking=True)
    keep_copies_days = fields.Integer(
        "Days to Keep Copies",
        default=14,
        tracking=True,
        help="Copies are deleted from the server this many days after Odoo imported them; 0 keeps them forever.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_raw_values(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._check_raw_values(vals)
        return super().write(vals)

    @api.model
    def _check_raw_values(self, vals):
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

    def _compute_password_input(self):
        self.password_input = False

    def _compute_password_saved(self):
        # Managers may know that a password is saved, never what it is.
        for record in self:
            record.password_saved = bool(record.sudo().password)

    def _inverse_password_input(self):
        for record in self.filtered("password_input"):
            record.sudo().password = record.password_input

    @api.depends("smtp_security")
    def _compute_smtp_port(self):
        standard = _standard_ports("smtp")
        for record in self:
            if not record.smtp_port or record.smtp_port in standard:
                record.smtp_port = mailcore.default_port("smtp", record.smtp_security)

    @api.depends("incoming_protocol", "incoming_security")
    def _compute_incoming_port(self):
        standard = _standard_ports("imap", "pop3")
        for record in self:
            if not record.incoming_port or record.incoming_port in standard:
                record.incoming_port = mailcore.default_port(record.incoming_protocol, record.incoming_security)

    @api.constrains("email")
    def _check_email(self):
        for record in self:
            label = self.env._("%(email)s is not a valid email address", email=record.email)
            record._validate(label, mailcore.wire_email, record.email)

    @api.constrains("name", "login", "password", "smtp_pinned_fingerprint", "incoming_pinned_fingerprint")
    def _check_text(self):
        for record in self:
            record._validate(self.env._("Description"), mailcore.check_length, record.name, MAX_DESCRIPTION)
            sudo = record.sudo()  # the password is checked, never shown: managers cannot read it
            for label, value in (
                (self.env._("Description"), record.name),
                (self.env._("Login"), record.login),
                (self.env._("Password"), sudo.password),
                (self.env._("Outgoing Trusted Fingerprint"), record.smtp_pinned_fingerprint),
                (self.env._("Incoming Trusted Fingerprint"), record.incoming_pinned_fingerprint),
            ):
                record._validate(label, mailcore.check_line, value)

    @api.constrains("smtp_host", "smtp_port", "incoming_host", "incoming_port")
    def _check_servers_syntax(self):
        """Host names and ports, whether or not their side is in use: nothing invalid is ever saved."""
        for record in self:
            for side, prefix in SIDE_PREFIXES.items():
                label = record._side_label(side)
                if record[f"{prefix}_host"]:
                    record._validate(label, mailcore.wire_host, record[f"{prefix}_host"])
                record._validate(label, mailcore.check_port, record[f"{prefix}_port"])

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
    def _route_changed(self, before, after):
        """Whether the password would go elsewhere or less protected; turning safe logon on is no such change."""
        return any(
            before[name] != after[name] and not (name.endswith("_safe_logon") and after[name]) for name in ROUTE_FIELDS
        )

    @api.model
    def _may_read_password(self):
        return self.env.su or self.env.user.has_group("base.group_system")

    @api.model
    def _internal_hosts_allowed(self):
        """Whether the system parameter lets everyone (and discovery) reach addresses inside this network."""
        return self.env["ir.config_parameter"].sudo().get_param(INTERNAL_HOSTS_PARAMETER) == "True"

    @api.model
    def _check_password_route(self, before, after):
        """Only who may read the saved password may send it elsewhere: anyone else types it again."""
        if not self._may_read_password() and self._route_changed(before, after):
            raise AccessError(
                self.env._(
                    "Type the password again to change where or how it is sent (server, port, security, "
                    "certificate, login, protocol or safe logon): only a Settings administrator may send the "
                    "saved password to other settings."
                )
            )

    def _side_label(self, side):
        return self.env._("Outgoing server") if side == "outgoing" else self.env._("Incoming server")

    def _validate(self, label, rule, value, *args):
        """Apply a core rule; its failure becomes a translated ValidationError naming the field."""
        try:
            return rule(value, *args)
        except mailcore.InvalidValue as error:
            raise ValidationError(
                self.env._("%(field)s: %(problem)s", field=label, problem=self._invalid_value_message(error))
            ) from None

    @api.model
    def _explain(self, item):
        """A failed check (CheckResult or CheckFailure) or unusable settings (ValueError) in the user's
        language: the core's own sentences, marked for Odoo's exporter, translated here."""
        if isinstance(item, mailcore.InvalidValue):
            return self._invalid_value_message(item)
        if isinstance(item, ValueError):  # a ServerSettings rule the form's constraints already enforce
            return str(item)
        return mailcore.explain(item.code, item.params, self.env._)

    def _invalid_value_message(self, error):
        """The translated text of each rule of mailcore.validation, by its code."""
        params = error.params
        messages = {
            "empty": lambda: self.env._("a value is required."),
            "control_character": lambda: self.env._("line breaks, tabs and other control characters are not allowed."),
            "too_long": lambda: self.env._("at most %(maximum)s characters, not %(length)s.", **params),
            "port_range": lambda: self.env._("the port must be between 1 and 65535, not %(port)s.", **params),
            "whitespace": lambda: self.env._("spaces are not allowed."),
            "no_at": lambda: self.env._("an email address needs an @, as in name@example.com."),
            "many_at": lambda: self.env._("an email address has exactly one @ (quote a local part that contains one)."),
            "local_part_empty": lambda: self.env._("the part before the @ is missing."),
            "local_part_too_long": lambda: self.env._(
                "the part before the @ is longer than %(maximum)s characters.", **params
            ),
            "local_part_invalid": lambda: self.env._(
                "%(local)s is not valid before the @: use letters, digits and . _ + - (no two dots in a row), "
                "or put it in double quotes.",
                **params,
            ),
            "domain_empty": lambda: self.env._("the domain after the @ is missing."),
            "domain_invalid": lambda: self.env._(
                "%(domain)s is not a valid domain name: use letters, digits and hyphens between dots.", **params
            ),
            "domain_too_long": lambda: self.env._("the domain is longer than %(maximum)s characters.", **params),
            "label_too_long": lambda: self.env._(
                "%(label)s is longer than %(maximum)s characters between two dots.", **params
            ),
            "scheme": lambda: self.env._(
                "%(host)s is a URL: enter only the server name (e.g. mail.example.com), without smtp:// or imaps://.",
                **params,
            ),
            "path": lambda: self.env._(
                "%(host)s is not a server name: remove everything from the / or @ on.", **params
            ),
            "port_in_host": lambda: self.env._(
                "%(host)s contains a port: enter the server name alone and the port in its own field.", **params
            ),
            "ipv6_unbracketed": lambda: self.env._("write an IPv6 address in brackets, e.g. [2001:db8::1]."),
            "ipv6_invalid": lambda: self.env._("%(host)s is not a valid IPv6 address.", **params),
            "ipv4_invalid": lambda: self.env._("%(host)s is not a valid IPv4 address.", **params),
        }
        return messages[error.code]()

    @api.constrains("use_for_sending", "use_for_receiving")
    def _check_directions(self):
        if any(not (record.use_for_sending or record.use_for_receiving) for record in self):
            raise ValidationError(self.env._("An email account is for sending, for receiving, or for both."))

    @api.constrains("timeout", "keep_copies", "keep_copies_days")
    def _check_limits(self):
        for record in self:
            if not 1 <= record.timeout <= 300:
                raise ValidationError(self.env._("The timeout must be between 1 and 300 seconds."))
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

    def _needs_incoming(self):
        """The incoming server is used to receive, or to log in first for POP-before-SMTP."""
        self.ensure_one()
        return self.use_for_receiving or (self.use_for_sending and self.smtp_login_before_send)

    def _sides_in_use(self):
        self.ensure_one()
        sides = []
        if self.use_for_sending:
            sides.append("outgoing")
        if self._needs_incoming():
            sides.append("incoming")
        return sides

    def _server_errors(self, sides):
        """What keeps the given sides ('outgoing', 'incoming') from being checked, as messages."""
        self.ensure_one()
        errors = []
        for side in sides:
            prefix = SIDE_PREFIXES[side]
            host = self[f"{prefix}_host"]
            label = self.env._("outgoing") if side == "outgoing" else self.env._("incoming")
            if not host:  # its syntax and the port are constraints (_check_servers_syntax)
                errors.append(self.env._("Enter the name of the %(side)s server.", side=label))
            if self[f"{prefix}_tls_policy"] == "pin" and not self[f"{prefix}_pinned_fingerprint"]:
                errors.append(self.env._("Trust a certificate of the %(side)s server first.", side=label))
        return errors

    def _mailcore_settings(self):
        """The (outgoing, incoming) server settings for the check; None for a side not in use."""
        self.ensure_one()
        common = {
            "login": self.login or self.email,
            "password": self._password_to_send(),
            "sender": mailcore.wire_email(self.email),
            "cafile": self.env["ir.config_parameter"].sudo().get_param(CA_FILE_PARAMETER, ""),
            # Whoever may not read the password may not probe this network either (banners, open ports).
            "allow_internal": self._may_read_password() or self._internal_hosts_allowed(),
        }
        outgoing = incoming = None
        if self.use_for_sending:
            outgoing = mailcore.ServerSettings(
                protocol="smtp",
                host=mailcore.wire_host(self.smtp_host),
                port=self.smtp_port,
                security=self.smtp_security,
                safe_logon=self.smtp_safe_logon,
                tls_policy=self.smtp_tls_policy,
                pinned_fingerprint=self.smtp_pinned_fingerprint or "",
                **common,
            )
        if self._needs_incoming():
            incoming = mailcore.ServerSettings(
                protocol=self.incoming_protocol,
                host=mailcore.wire_host(self.incoming_host),
                port=self.incoming_port,
                security=self.incoming_security,
                safe_logon=self.incoming_safe_logon,
                tls_policy=self.incoming_tls_policy,
                pinned_fingerprint=self.incoming_pinned_fingerprint or "",
                **common,
            )
        return outgoing, incoming

    def _password_to_send(self):
        """The password these settings log in with."""
        self.ensure_one()
        return self.sudo().password or ""

    def _check_arguments(self):
        """The keyword arguments of mailcore.check_account for these settings (ValueError if unusable)."""
        self.ensure_one()
        outgoing, incoming = self._mailcore_settings()
        return {
            "outgoing": outgoing,
            "incoming": incoming,
            "timeout": self.timeout,
            "login_before_send": self.use_for_sending and self.smtp_login_before_send,
        }

    def _run_check(self):
        """Check the servers in use; never raises for a server's fault (the core reports it instead)."""
        self.ensure_one()
        try:
            arguments = self._check_arguments()
        except ValueError as error:  # e.g. a line break pasted into the login: the user's to fix
            raise ValidationError(
                self.env._("These settings cannot be checked: %(reason)s", reason=self._explain(error))
            ) from error
        return mailcore.check_account(**arguments)

    def _check_report(self, result):
        """Per server checked: where, whether it worked, what worked, what failed and the certificate."""
        sides = (
            ("outgoing", self.env._("Outgoing server"), result.outgoing),
            ("incoming", self.env._("Incoming server"), result.incoming),
        )
        security_labels = dict(self._fields["smtp_security"]._description_selection(self.env))  # translated
        return [
            {
                "side": side,
                "title": title,
                "server": f"{item.protocol.upper()} {item.host}:{item.port}",
                "security": security_labels[item.security],
                "ok": item.ok,
                "worked": self._check_achievements(item, self[f"{SIDE_PREFIXES[side]}_tls_policy"]),
                "problem": self._explain(item) if item.code else "",
                "certificate": item.facts.get("certificate") if item.code in mailcore.CERTIFICATE_CODES else None,
            }
            for side, title, item in sides
            if item is not None
        ]

    def _check_achievements(self, item, tls_policy):
        """What the check got through, from the facts it gathered, so a failure still shows progress."""
        facts = item.facts
        worked = []
        if facts.get("address"):
            worked.append(self.env._("Connected to %(host)s (%(address)s).", host=item.host, address=facts["address"]))
        if facts.get("tls_version") and item.code not in mailcore.CERTIFICATE_CODES:
            worked.append(self.env._("Encrypted with %(version)s.", version=facts["tls_version"]))
            if facts.get("certificate"):
                worked.append(self._certificate_line(facts["certificate"], tls_policy))
        if facts.get("auth_mechanisms"):
            worked.append(
                self.env._("Login methods offered: %(methods)s.", methods=", ".join(facts["auth_mechanisms"]))
            )
        if facts.get("login_method") and (item.ok or item.stage != "auth"):
            worked.append(self.env._("Logged in with %(method)s.", method=facts["login_method"]))
        if "messages" in facts:
            worked.append(self.env._("Opened the mailbox (%(count)s messages).", count=facts["messages"]))
        if item.ok and item.protocol == "smtp":
            worked.append(self.env._("The server accepts mail from %(email)s.", email=self.email))
        return worked

    def _certificate_line(self, certificate, tls_policy):
        if tls_policy == "pin":
            return self.env._(
                "Certificate of %(subject)s, valid until %(not_after)s, trusted by its fingerprint.", **certificate
            )
        if tls_policy == "any":
            return self.env._("Certificate of %(subject)s accepted without verification.", **certificate)
        return self.env._("Certificate of %(subject)s issued by %(issuer)s, valid until %(not_after)s.", **certificate)

    @api.model
    def _check_report_text(self, report):
        """The report as plain text, for logs of the check that are not a web page."""
        lines = []
        for server in report:
            status = self.env._("OK") if server["ok"] else self.env._("failed")
            lines.append(f"{server['title']} ({server['server']}, {server['security']}): {status}")
            lines.extend(f"  - {line}" for line in server["worked"])
            if server["problem"]:
                lines.append(f"  {server['problem']}")
        return "\n".join(lines)

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
