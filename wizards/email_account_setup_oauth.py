"""The setup wizard's sign-in path: *Sign in with Microsoft* / *Sign in with Google*.

The wizard is itself a record of the stock sign-in mixins, so the stock authorization URL (client id
from Settings, stock redirect URI and CSRF token, ``microsoft_outlook.endpoint``) and the stock token
exchange serve it unchanged; only the way back lands in the wizard (controllers/oauth.py). The tokens
stay on the wizard until the check passes, then go to the account's linked stock servers.
"""

import dataclasses

import requests

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import consteq

from .. import mailcore
from ..models.email_account_oauth import OAUTH_PROVIDERS, SIGN_INS, TOKEN_FIELDS, id_token_address
from ..models.email_account_sides import ROUTE_FIELDS

# Asked for besides stock's: the id token names the address signed in with (stock's own scopes
# come first; Microsoft's stock code adds offline_access, for the refresh token).
OUTLOOK_SCOPES = "https://outlook.office.com/SMTP.Send https://outlook.office.com/IMAP.AccessAsUser.All openid email"
GMAIL_SCOPES = "https://mail.google.com/ openid email"
RESUME_ACTION = "email_account.email_account_setup_action_resume"


class WrongAddress(UserError):
    """The provider signed in another address than the account's."""

    def __init__(self, address):
        super().__init__(address)
        self.address = address


class EmailAccountSetupOAuth(models.TransientModel):
    _name = "email.account.setup"
    _inherit = ["email.account.setup", "microsoft.outlook.mixin", "google.gmail.mixin"]

    _OUTLOOK_SCOPE = OUTLOOK_SCOPES
    _SERVICE_SCOPE = GMAIL_SCOPES

    sign_in_provider = fields.Selection(
        OAUTH_PROVIDERS,
        "Sign In With",
        compute="_compute_sign_in_provider",
        store=True,
        readonly=False,
        precompute=True,
        help="The provider whose sign-in (OAuth 2) this mailbox takes instead of a password.",
    )
    sign_in_configured = fields.Boolean(compute="_compute_sign_in_configured")
    oauth_message = fields.Text("Sign-in Problem", readonly=True)
    oauth_resume = fields.Selection(
        [("steps", "The next step"), ("check", "The check")],
        "After Signing In",
        default="check",
        help="Where the wizard goes when the sign-in comes back.",
    )

    @api.depends("email")
    def _compute_sign_in_provider(self):
        """From the bundled provider data (no network); discovery adds what the MX records tell, and on
        the manual path the user chooses."""
        for wizard in self:
            configuration = wizard._bundled_configuration()
            sign_in = configuration.sign_in if configuration is not None else ""
            if sign_in in SIGN_INS:
                wizard.sign_in_provider = sign_in
            elif not wizard.manual:  # on the manual path, the user's own choice stands
                wizard.sign_in_provider = wizard.oauth_provider

    @api.depends("sign_in_provider")
    def _compute_sign_in_configured(self):
        for wizard in self:
            sign_in = SIGN_INS.get(wizard.sign_in_provider)
            wizard.sign_in_configured = bool(sign_in and sign_in.configured(self.env))

    def _oauth_token_holder(self, side):
        """The wizard's own tokens once signed in here; before that, those of the account it reconfigures."""
        sign_in = SIGN_INS[self.oauth_provider]
        if self.sudo()[sign_in.field("refresh_token")] or not self.account_id:
            return self
        # The account's sign-in goes only where the account sends it (as its password would).
        self._ensure_route_unchanged(self.account_id._password_route(), self._password_route())
        return self.account_id._oauth_token_holder(side)

    def _password_to_send(self):
        return "" if self.oauth_provider else super()._password_to_send()

    def _password_needed(self):
        # Signed in: the token logs in. Microsoft's mailboxes take no password: their Next is the manual path.
        if self.oauth_provider or (self.sign_in_provider == "microsoft" and not self.manual):
            return False
        return super()._password_needed()

    # -- the way out ---------------------------------------------------------------------------
    def action_oauth_sign_in(self):
        """Send the browser to the provider's sign-in page (the stock authorization URL)."""
        self._ensure_caller()
        self.ensure_one()
        sign_in = SIGN_INS.get(self.sign_in_provider)
        if sign_in is None:
            raise UserError(self.env._("Choose the provider to sign in with."))
        if not sign_in.configured(self.env):
            raise UserError(self._not_configured_message(sign_in))
        self._ensure_address_free()
        values = {
            "oauth_provider": sign_in.provider,
            "oauth_message": False,
            "password": False,
            **self._oauth_server_values(sign_in),
            **{sign_in.field(name): False for name in TOKEN_FIELDS},
        }
        if self.state == "account" and self.manual:
            values["oauth_resume"] = "steps"
        self.sudo().write(values)
        return {"type": "ir.actions.act_url", "url": self.sudo()[f"{sign_in.prefix}_uri"], "target": "self"}

    def _not_configured_message(self, sign_in):
        if self.env.user.has_group("base.group_system"):
            return self.env._(
                "Sign in with %(provider)s is not set up yet: enter the client ID and secret of Odoo's app "
                "registration in Settings > General Settings > Emails (see the README of Email Accounts).",
                provider=sign_in.name,
            )
        return self.env._(
            "Sign in with %(provider)s is not set up yet: ask a Settings administrator to enter the client ID "
            "and secret of Odoo's app registration in Settings.",
            provider=sign_in.name,
        )

    def _oauth_server_values(self, sign_in):
        """The provider's servers on the automatic path; on the manual path what was typed, with the
        security the sign-in requires (STARTTLS to send, IMAP over SSL to receive)."""
        values = {"smtp_security": "starttls", "incoming_protocol": "imap", "incoming_security": "ssl"}
        if not self.manual or not self.smtp_host:
            values.update({"smtp_host": sign_in.outgoing[0], "smtp_port": sign_in.outgoing[1]})
        if not self.manual or not self.incoming_host:
            values.update({"incoming_host": sign_in.incoming[0], "incoming_port": sign_in.incoming[1]})
        return values

    # -- the way back --------------------------------------------------------------------------
    def _oauth_return(self, provider, csrf_token, code, error):
        """The provider sent the browser back (controllers/oauth.py): check that the answer is this
        wizard's, exchange the code (stock), then check the account. Any failure leaves a sentence in
        the wizard and saves nothing. Returns the URL that reopens the wizard."""
        self._ensure_caller()
        self.ensure_one()
        sign_in = SIGN_INS[provider]
        problem = self._oauth_problem(sign_in, csrf_token, code, error)
        if problem:
            self.sudo().write({"oauth_message": problem, **{sign_in.field(name): False for name in TOKEN_FIELDS}})
            self.state = "account"
        elif self.oauth_resume == "steps":
            self.state = self._steps()[1]
        else:
            try:
                self._verify_and_save()
            except UserError as refusal:  # settings the check cannot use: said in the wizard, not on a page
                self.write({"oauth_message": str(refusal), "state": "account"})
        return f"/odoo/{self.id}/action-{RESUME_ACTION}"

    def _oauth_problem(self, sign_in, csrf_token, code, error):
        """Why this answer is not a sign-in of this wizard's address (a sentence), or None once its
        tokens are stored on the wizard."""
        name = sign_in.name
        expected = getattr(self, f"_get_{sign_in.stock}_csrf_token")()
        if self.oauth_provider != sign_in.provider or not csrf_token or not consteq(csrf_token, expected):
            return self.env._(
                "The answer from %(provider)s does not belong to this sign-in (its security token does not "
                "match). Nothing was saved: sign in again from this window.",
                provider=name,
            )
        if error or not code:
            return self.env._(
                "%(provider)s did not let Odoo use the mailbox (%(reason)s): the sign-in was cancelled or the "
                "access was not accepted. Nothing was saved: sign in again and accept the access.",
                provider=name,
                reason=mailcore.sanitize(error or "no authorization code", ""),
            )
        try:
            refresh_token, access_token, expiration = sign_in.exchange(self.sudo(), code)
        except WrongAddress as wrong:
            return self.env._(
                "You signed in at %(provider)s as %(signed)s, but this account is %(email)s. Nothing was saved: "
                "sign in again as %(email)s.",
                provider=name,
                signed=wrong.address,
                email=self.login or self.email,
            )
        except requests.RequestException as failure:
            return self.env._(
                "The sign-in service of %(provider)s could not be reached (%(reason)s). Nothing was saved: try "
                "again in a moment.",
                provider=name,
                reason=mailcore.sanitize(type(failure).__name__, ""),
            )
        except (UserError, KeyError, ValueError, TypeError) as refusal:
            return self.env._(
                "%(provider)s refused the sign-in (%(reason)s): its code may have expired or been used already. "
                "Nothing was saved: sign in again.",
                provider=name,
                reason=mailcore.sanitize(str(refusal) or type(refusal).__name__, ""),
            )
        self.sudo().write(
            {
                sign_in.field("refresh_token"): refresh_token,
                sign_in.field("access_token"): access_token,
                sign_in.field("access_token_expiration"): expiration,
            }
        )
        return None

    def _fetch_outlook_token(self, grant_type, **values):
        return self._signed_in_address_checked(super()._fetch_outlook_token(grant_type, **values))

    def _fetch_gmail_token(self, grant_type, **values):
        return self._signed_in_address_checked(super()._fetch_gmail_token(grant_type, **values))

    def _signed_in_address_checked(self, response):
        """Refuse the tokens of another address than the account's, when the id token names one."""
        address = id_token_address(response)
        if address and address.lower() != (self.login or self.email or "").lower():
            raise WrongAddress(mailcore.sanitize(address, ""))
        return response

    def _action_oauth_resume(self):
        """The reopened wizard, after the sign-in came back (the server action of the way back)."""
        self._ensure_caller()
        self.ensure_one()
        return self._action_reopen()

    # -- saving --------------------------------------------------------------------------------
    def _apply_discovery(self):
        """A mailbox a sign-in serves (known from the bundled data or the MX records) stays on the first
        step with the sign-in offered, when no password can work, none was typed, or the one typed was
        refused; the result returned then has no configuration, so the wizard goes no further."""
        result = super()._apply_discovery()
        sign_in = SIGN_INS.get(result.oauth_provider)
        if sign_in:
            self.sign_in_provider = sign_in.provider  # offered on the first step, should the user go back
        message = sign_in and self._sign_in_offer(sign_in, result)
        if not message:
            return result
        self.write(
            {
                "sign_in_provider": sign_in.provider,
                "manual": False,
                "state": "account",
                "discovery_failure": False,
                "oauth_message": message,
            }
        )
        return dataclasses.replace(result, configuration=None)

    def _sign_in_offer(self, sign_in, result):
        """Why the sign-in is the way for this mailbox (a sentence), or None when the password path goes on."""
        values = {"provider": sign_in.name, "email": self.email}
        if not result.password_works:
            return self.env._(
                "%(provider)s takes no password from mail programs for %(email)s: use Sign in with %(provider)s.",
                **values,
            )
        if not result.password_given:
            return self.env._(
                "%(provider)s serves %(email)s: use Sign in with %(provider)s, or type an app password.", **values
            )
        sides = (result.check.outgoing, result.check.incoming) if result.check else ()
        if any(side is not None and side.code == "auth_failed" for side in sides):
            return self.env._(
                "%(provider)s did not accept this password for %(email)s: use Sign in with %(provider)s, or "
                "type an app password.",
                **values,
            )
        return None

    def _save_account(self, report):
        sign_in = SIGN_INS.get(self.oauth_provider)
        if sign_in and self.account_id and self.sudo()[sign_in.field("refresh_token")]:
            # Signed in just now, for these settings: the new sign-in goes where they say.
            route = {name: value for name, value in self._settings_values().items() if name in ROUTE_FIELDS}
            self.account_id.sudo().write(route)
        super()._save_account(report)
        if not sign_in:
            return
        wizard = self.sudo()
        if wizard[sign_in.field("refresh_token")]:
            self.account_id._oauth_store_tokens({name: wizard[sign_in.field(name)] for name in TOKEN_FIELDS})
            # Handed over: the wizard holds the tokens no longer.
            wizard.write({sign_in.field(name): False for name in TOKEN_FIELDS})
