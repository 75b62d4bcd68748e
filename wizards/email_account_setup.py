"""The guided setup of an email account: one dialog whose ``state`` walks the steps of the manual.

Every step writes the wizard and reopens it, so the values survive Back, Retry and the manual path;
the account and its stock servers are created only once the check of every server in use succeeds.
"""

from odoo import api, fields, models
from odoo.exceptions import UserError

from .. import mailcore
from ..mailcore import discovery
from ..models.email_account_check import (
    CA_FILE_PARAMETER,
    check_arguments,
    check_report,
    internal_hosts_allowed,
    run_check,
    shown_report,
)
from ..models.email_account_check_progress import run_watched
from ..models.email_account_sides import SIDES

DISCOVERY_PARAMETER = "email_account.discovery_%s"

STEPS = [
    ("account", "Account"),
    ("outgoing", "Outgoing Server"),
    ("incoming", "Incoming Server"),
    ("description", "Description"),
    ("mail_use", "How Odoo Uses This Mailbox"),
    ("check", "Check"),
]


class EmailAccountSetup(models.TransientModel):
    _name = "email.account.setup"
    _inherit = "email.account.settings.mixin"
    _description = "Email Account Setup"
    _check_company_auto = True

    state = fields.Selection(STEPS, default="account", required=True)
    # The wizard asks: unless the user chooses a kind of record, new mail stays in the mailbox.
    new_mail_stays = fields.Boolean(default=True)
    manual = fields.Boolean(
        "Set Up Connection Parameters Manually",
        help="Tick to type the server names and ports yourself. Otherwise Odoo looks them up from the address "
        "(in a list of known providers, then in what the provider publishes about its mail servers, then by "
        "trying the usual server names) and checks them.",
    )
    step_progress = fields.Char(compute="_compute_step_progress")
    discovery_source = fields.Char("Settings Found", readonly=True, help="Where the automatic path found the settings.")
    discovery_failure = fields.Text(readonly=True)
    app_password_provider = fields.Char(compute="_compute_app_password")
    app_password_url = fields.Char(compute="_compute_app_password")
    account_id = fields.Many2one("email.account", "Email Account", readonly=True, check_company=True)
    reconfigure = fields.Boolean(readonly=True, help="Started from an existing account, which success updates.")
    check_ok = fields.Boolean(readonly=True)
    unencrypted_accepted = fields.Boolean(
        "Send the password unencrypted",
        help="A server without SSL or STARTTLS receives the password, and every message, readable by anyone "
        "on the network path. Discovery never chooses this; only you can.",
    )
    outgoing_check_report = fields.Html(readonly=True)
    incoming_check_report = fields.Html(readonly=True)
    outgoing_certificate_sha256 = fields.Char(readonly=True)
    incoming_certificate_sha256 = fields.Char(readonly=True)

    @api.depends("email")
    def _compute_app_password(self):
        """From the bundled provider data only (no network): say so before the check when one is needed."""
        for wizard in self:
            configuration = wizard._bundled_configuration()
            needed = configuration is not None and configuration.app_password_required
            wizard.app_password_provider = configuration.provider if needed else False
            wizard.app_password_url = configuration.app_password_url if needed else False

    @api.depends("state", "manual", "use_for_sending", "use_for_receiving", "smtp_login_before_send")
    def _compute_step_progress(self):
        """The "step 2 of 4" line, counted on the steps this wizard walks now (they change with the choices made)."""
        for wizard in self:
            steps = wizard._steps()
            wizard.step_progress = wizard.state in steps and self.env._(
                "Step %(step)s of %(steps)s", step=steps.index(wizard.state) + 1, steps=len(steps)
            )

    def _bundled_configuration(self):
        """The bundled provider data's entry for the address (no network), or None."""
        self.ensure_one()
        try:
            local, domain = discovery.config.split_address(self.email or "")
            return discovery.provider_for(f"{local}@{domain}", domain)
        except ValueError:
            return None

    def _compute_password_saved(self):
        for wizard in self:
            wizard.password_saved = bool(wizard.sudo().password or wizard.account_id.sudo().password)

    def _ensure_caller(self):
        """First in every step, as the caller: the wizard is theirs, and so is the account it reconfigures."""
        self.check_access("write")
        self.account_id.check_access("write")

    def _password_to_send(self):
        """The password typed here. Reconfiguring without typing one: the account's, as long as these
        settings send it where and how the account does (only an administrator may change that)."""
        self.ensure_one()
        typed = self.sudo().password
        if typed or not self.account_id:
            return typed or ""
        self._ensure_route_unchanged(self.account_id._password_route(), self._password_route())
        return self.account_id.sudo().password or ""

    def _password_needed(self):
        """Whether these settings log in with a password. The hook for accounts that sign in otherwise
        (OAuth), which need none."""
        self.ensure_one()
        return True

    def _ensure_password_given(self):
        """An empty password would only come back from the check as a wrong one: ask for it here."""
        if self._password_needed() and not (self.sudo().password or self.account_id.sudo().password):
            raise UserError(
                self.env._(
                    "Enter the password of %(email)s (or an app password created at your provider).", email=self.email
                )
            )

    def _steps(self):
        """The steps this wizard walks: the manual path shows each server in use and the description;
        both paths ask how Odoo uses the mailbox before the check."""
        self.ensure_one()
        middle = [*self._sides_in_use(), "description"] if self.manual else []
        return ["account", *middle, "mail_use", "check"]

    def _account_record(self):
        return self.account_id

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
        self._ensure_caller()
        self.ensure_one()
        steps = self._steps()
        if self.state not in steps[:-1]:
            raise UserError(
                self.env._(
                    "The check is the last step. Use Retry to check again, or Set up connection parameters "
                    "manually to change the settings."
                )
            )
        if self.state == "account":
            self._ensure_address_free()
            self._ensure_password_given()
        elif self.state in ("outgoing", "incoming"):
            errors = self._server_errors([self.state])
            if errors:
                raise UserError("\n".join(errors))
        following = steps[steps.index(self.state) + 1]
        if following != "check":
            self.state = following
            return self._action_reopen()
        discovered = None
        if not self.manual:  # the automatic path finds the settings, and checks them, only now
            discovered = self._apply_discovery()
            if not discovered.ok:
                return self._action_reopen()
        return self._verify_and_save(discovered)

    def action_back(self):
        self._ensure_caller()
        self.ensure_one()
        steps = self._steps()
        self.state = steps[max(steps.index(self.state) - 1, 0)]
        return self._action_reopen()

    def action_retry(self):
        self._ensure_caller()
        self.ensure_one()
        return self._verify_and_save()

    def action_manual(self):
        """Leave the automatic path: show the server steps with what was tried."""
        self._ensure_caller()
        self.ensure_one()
        self.manual = True
        self.state = self._steps()[1]
        return self._action_reopen()

    def action_trust_outgoing_certificate(self):
        self._ensure_caller()
        return self._trust_certificate("outgoing")

    def action_trust_incoming_certificate(self):
        self._ensure_caller()
        return self._trust_certificate("incoming")

    def action_open_account(self):
        self._ensure_caller()
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
        fields_of = SIDES[side].field
        self.write({fields_of("tls_policy"): "pin", fields_of("pinned_fingerprint"): fingerprint})
        return self._verify_and_save()

    def _ensure_address_free(self):
        if self.env["email.account"]._address_taken(self.email, self.company_id, self.account_id):
            raise UserError(
                self.env._(
                    "%(company)s already has an email account for %(email)s.",
                    company=self.company_id.name,
                    email=self.email,
                )
            )

    def _discovery_options(self):
        """(DiscoveryOptions, budget) as the system parameters email_account.discovery_* set them."""
        param = self.env["ir.config_parameter"].sudo().get_param
        cafile = param(CA_FILE_PARAMETER) or ""
        options, budget = discovery.configured(lambda name: param(DISCOVERY_PARAMETER % name), cafile=cafile)
        # The automatic path follows strangers' documents and DNS: never into this network, unless allowed.
        return options.replace(allow_internal=internal_hosts_allowed(self.env)), budget

    def _apply_discovery(self):
        """The automatic path: find (and, given the password, check) the settings. When that fails,
        say why and open the manual steps with the best candidate; returns the discovery result."""
        options, budget = self._discovery_options()
        # The check needs it; only an administrator may let discovery send the account's elsewhere.
        password = self.sudo().password or (self._may_read_password() and self.account_id.sudo().password) or None
        email, sides = self.email, tuple(self._sides_in_use())  # read here: the discovery runs aside, without the ORM
        try:
            domain = discovery.config.split_address(email)[1]
            result, cancelled = run_watched(
                self,
                lambda progress: discovery.discover(
                    email, password, budget=budget, options=options, sides=sides, progress=progress
                ),
                domain=domain,
            )
        except ValueError as error:  # an address whose domain is no valid host name
            raise UserError(self.env._("%(email)s is not a usable email address.", email=self.email)) from error
        if cancelled:
            raise UserError(self.env._("The search for the settings was cancelled. Nothing was changed."))
        values = self._discovered_values(result)
        if result.ok:
            values["discovery_source"] = self.env._(
                "Settings found %(origin)s.", origin=result.configuration.describe(self.env._)
            )
            self.write(values)
            return result
        values["discovery_failure"] = self.env._(
            "Cannot determine connection settings automatically. Check the settings below, which are the "
            "best guess, and change what your provider says differently.\n%(reason)s",
            # One line per source, each sanitised: sources and servers are strangers.
            reason="\n".join(
                mailcore.sanitize(line, self.sudo().password or "") for line in result.reason(self.env._).split("\n")
            ),
        )
        self.write({**values, "manual": True})
        self.state = self._steps()[1]
        return result

    def _discovered_values(self, result):
        """The wizard's settings from a discovery result: its best candidate, else the usual names."""
        domain = result.domain
        incoming = result.incoming or mailcore.ServerSettings("imap", f"imap.{domain}", 993, "ssl")
        outgoing = result.outgoing or mailcore.ServerSettings("smtp", f"smtp.{domain}", 465, "ssl")
        values = {"discovery_source": False, "discovery_failure": False}
        for side, server in (("outgoing", outgoing), ("incoming", incoming)):
            values.update(SIDES[side].discovered_values(server))
        # One login serves both servers here; the receiving side's wins when they differ.
        login = (incoming if self.use_for_receiving else outgoing).login
        if login:
            values["login"] = login
        return values

    def _verify_and_save(self, discovered=None):
        """Check the servers in use, show what happened, and save the account when all of them work.
        ``discovered``: the discovery that just checked these settings, whose check then stands (one
        login per server, not two, at providers that rate-limit them)."""
        errors = self._server_errors(self._sides_in_use())
        if errors:
            raise UserError("\n".join(errors))
        unencrypted = [side for side in self._sides_in_use() if self[SIDES[side].field("security")] == "none"]
        if unencrypted and not self.unencrypted_accepted:
            raise UserError(
                self.env._(
                    "Without SSL or STARTTLS the password crosses the network unencrypted. Choose SSL or "
                    "STARTTLS, or tick 'Send the password unencrypted' to accept that risk."
                )
            )
        result = None
        if discovered is not None:
            arguments = check_arguments(self)
            if not arguments["login_before_send"]:
                result = discovered.check_of(arguments["outgoing"], arguments["incoming"])
        if result is None:
            result, cancelled = run_check(self, watched=True)
            if cancelled:
                raise UserError(self.env._("The check was cancelled. Nothing was changed."))
        report = check_report(self, result)
        shown = {server["side"]: server for server in shown_report(self.env, report)}
        values = {"state": "check", "check_ok": result.ok}
        for side in SIDES:
            server = shown.get(side)
            certificate = server and server["certificate"]
            # The one-click trust is for a certificate nobody vouches for, never for an expired one.
            trustable = certificate and getattr(result, side).code in mailcore.TRUSTABLE_CERTIFICATE_CODES
            values[f"{side}_check_report"] = server and self._render_report(server)
            values[f"{side}_certificate_sha256"] = trustable and certificate["sha256"]
        self.write(values)
        if result.ok:
            self._save_account(report)
        return self._action_reopen()

    @api.model
    def _render_report(self, server):
        return self.env["ir.qweb"]._render("email_account.email_account_check_report", {"server": server})

    def _save_account(self, report):
        """Create (or update, when reconfiguring) the account; its stock servers follow in the same transaction."""
        values = self._settings_values()
        if not values["password"]:
            del values["password"]  # reconfigured without typing it: the account keeps its own
        if self.account_id:
            self.account_id.write(values)
        else:
            self.account_id = self.env["email.account"].create(values)
        self.account_id.sudo().write(
            {
                "check_state": "ok",
                "last_check_date": fields.Datetime.now(),
                "last_check_data": report,
            }
        )
        self.sudo().password = False  # saved where it lives: the wizard needs it no more
