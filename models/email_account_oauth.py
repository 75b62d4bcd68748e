"""Accounts that sign in with Microsoft or Google instead of a password.

The sign-in is stock Odoo's (``microsoft_outlook``, ``google_gmail``): their authorization-code flow
with the client id and secret from Settings, their token fields on ``ir.mail_server`` and
``fetchmail.server``, and their code renews an expired access token with the refresh token. An
account only says which sign-in it uses; its linked stock servers then hold the tokens (no password
is stored), and every login, check or mail flow, asks stock code for a fresh access token.
"""

import base64
import binascii
import dataclasses
import json

import requests

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from .. import mailcore
from .email_account_sides import SIDES

OAUTH_PROVIDERS = [("microsoft", "Microsoft"), ("google", "Google")]
# The core's code for a sign-in the provider no longer accepts: the mail flow's code of a failed renewal.
SIGN_IN_CODE = "oauth_token_revoked"
# The core's codes of a token the server refused: the sign-in must be done again.
SIGN_IN_AGAIN_CODES = frozenset({SIGN_IN_CODE, "oauth_token_expired", "oauth_scope_missing"})


@dataclasses.dataclass(frozen=True)
class SignIn:
    """One provider's stock sign-in, and the servers its tokens open."""

    provider: str  # "microsoft" / "google": oauth_provider's value
    name: str  # shown in sentences: "Sign in with Microsoft"
    stock: str  # the stock servers' smtp_authentication / server_type value
    prefix: str  # of the stock mixin's fields: <prefix>_refresh_token, <prefix>_access_token, ...
    client_parameter: str  # the Settings parameter holding the client id (and, with _secret, the secret)
    outgoing: tuple  # (host, port): STARTTLS, as stock's constraints require
    incoming: tuple  # (host, port): IMAP over SSL

    def field(self, name):
        return f"{self.prefix}_{name}"

    def configured(self, env):
        param = env["ir.config_parameter"].sudo().get_param
        return bool(param(self.client_parameter) and param(self.client_parameter.replace("_id", "_secret")))

    def renew(self, holder, login):
        """Stock code: a valid access token on ``holder`` (refreshed when it expired); UserError or a
        requests error when the provider refuses or cannot be reached."""
        if self.provider == "microsoft":
            holder._generate_outlook_oauth2_string(login)
        else:
            holder._generate_oauth2_string(login, holder.google_gmail_refresh_token)
        return holder[self.field("access_token")]

    def exchange(self, holder, code):
        """Stock code: (refresh token, access token, expiration) for an authorization code."""
        if self.provider == "microsoft":
            return holder._fetch_outlook_refresh_token(code)
        return holder._fetch_gmail_refresh_token(code)


SIGN_INS = {
    "microsoft": SignIn(
        "microsoft",
        "Microsoft",
        "outlook",
        "microsoft_outlook",
        "microsoft_outlook_client_id",
        ("smtp.office365.com", 587),
        ("outlook.office365.com", 993),
    ),
    "google": SignIn(
        "google",
        "Google",
        "gmail",
        "google_gmail",
        "google_gmail_client_id",
        ("smtp.gmail.com", 587),
        ("imap.gmail.com", 993),
    ),
}
TOKEN_FIELDS = ("refresh_token", "access_token", "access_token_expiration")
# What the renewal of a token may raise: stock's refusal, the network, a provider's malformed answer.
PROVIDER_ERRORS = (UserError, requests.RequestException, KeyError, ValueError, TypeError)


class SignInNeeded(ValueError):
    """The provider no longer renews the account's access: someone must sign in again. Its text is
    translated already (a ValueError, so checks record it as settings that cannot be checked); its
    ``params`` (host, login, reason) are SIGN_IN_CODE's, for the mail flow's record."""

    def __init__(self, text, params):
        super().__init__(text)
        self.params = params


def id_token_address(response):
    """The address an OpenID id_token names (``email``, else Microsoft's ``preferred_username``), or ''.

    Read without verifying the signature: it comes straight from the provider's token endpoint over
    HTTPS, which OpenID Connect Core 3.1.3.7 accepts as proof of origin."""
    token = response.get("id_token") if isinstance(response, dict) else None
    if not isinstance(token, str) or token.count(".") != 2:
        return ""
    payload = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return ""
    address = claims.get("email") or claims.get("preferred_username") if isinstance(claims, dict) else ""
    return address if isinstance(address, str) else ""


class EmailAccountOAuthSettings(models.AbstractModel):
    _name = "email.account.settings.mixin"
    _inherit = ["email.account.settings.mixin"]

    oauth_provider = fields.Selection(
        OAUTH_PROVIDERS,
        "Signed In With",
        readonly=True,
        tracking=True,
        help="The account logs in with a sign-in at this provider (OAuth 2) instead of a password.",
    )

    def _credentials(self, side):
        if not self.oauth_provider:
            return super()._credentials(side)
        # A fresh access token, sent with OAUTHBEARER or XOAUTH2; its expiry tells an expired token apart.
        token = self._oauth_access_token(side)
        expires = self._oauth_token_holder(side).sudo()[SIGN_INS[self.oauth_provider].field("access_token_expiration")]
        return {"password": token, "auth": "oauth2", "token_expires_at": float(expires or 0)}

    def _oauth_token_holder(self, side):
        """The record whose stock token fields log in to ``side``."""
        raise NotImplementedError

    def _oauth_access_token(self, side):
        """A valid access token for ``side``, renewed by stock code; SignInNeeded when that fails."""
        self.ensure_one()
        sign_in = SIGN_INS[self.oauth_provider]
        holder = self._oauth_token_holder(side).sudo()
        params = {"host": sign_in.name, "login": self.login or self.email}
        if not holder or not holder[sign_in.field("refresh_token")]:
            raise SignInNeeded(
                self.env._(
                    "%(email)s is not signed in with %(provider)s yet.", email=self.email, provider=params["host"]
                ),
                {**params, "reason": "not signed in"},
            )
        try:
            return sign_in.renew(holder, self.login or self.email)
        except PROVIDER_ERRORS as error:
            reason = mailcore.sanitize(str(error) or type(error).__name__, "")
            self._oauth_renewal_failed()
            raise SignInNeeded(
                self.env._(
                    "%(provider)s did not renew the sign-in of %(email)s (%(reason)s). Sign in again.",
                    provider=sign_in.name,
                    email=self.email,
                    reason=reason,
                ),
                {**params, "reason": reason},
            ) from None

    def _oauth_renewal_failed(self):
        """Hook: what a failed renewal leaves on the record."""


# One concept per file: the sign-in's part of the account lives here, the queue's in email_account_job.
class EmailAccountOAuth(models.Model):
    _inherit = "email.account"  # pylint: disable=consider-merging-classes-inherited

    oauth_sign_in_needed = fields.Boolean(
        "Sign In Needed", readonly=True, copy=False, help="The provider no longer renews the sign-in."
    )
    oauth_status = fields.Char("Authentication", compute="_compute_oauth_status")

    @api.depends("oauth_provider", "login", "email", "oauth_sign_in_needed")
    def _compute_oauth_status(self):
        for account in self:
            sign_in = SIGN_INS.get(account.oauth_provider)
            if not sign_in:
                account.oauth_status = self.env._("Password")
            elif account.oauth_sign_in_needed:
                account.oauth_status = self.env._(
                    "%(provider)s no longer accepts the sign-in of %(login)s: sign in again.",
                    provider=sign_in.name,
                    login=account.login or account.email,
                )
            else:
                account.oauth_status = self.env._(
                    "Signed in with %(provider)s as %(login)s",
                    provider=sign_in.name,
                    login=account.login or account.email,
                )

    @api.constrains(
        "oauth_provider",
        "use_for_sending",
        "use_for_receiving",
        "smtp_security",
        "incoming_protocol",
        "incoming_security",
    )
    def _check_oauth_servers(self):
        """What stock's sign-in servers accept (their own constraints say it in their words)."""
        for account in self.filtered("oauth_provider"):
            sending_ok = not account.use_for_sending or account.smtp_security == "starttls"
            receiving_ok = not account.use_for_receiving or (
                account.incoming_protocol == "imap" and account.incoming_security == "ssl"
            )
            if not (sending_ok and receiving_ok):
                raise ValidationError(
                    self.env._(
                        "An account signed in with %(provider)s sends with STARTTLS and receives with IMAP over SSL.",
                        provider=SIGN_INS[account.oauth_provider].name,
                    )
                )

    def write(self, vals):
        # A token cannot be typed again: only who may read it sends a signed-in account's elsewhere.
        for account in self.filtered("oauth_provider"):
            self._ensure_route_unchanged(account._password_route(), account._route_after(vals))
        return super().write(vals)

    @api.model
    def _refuse_addon_fields(self, vals):
        result = super()._refuse_addon_fields(vals)
        if not self.env.su and "oauth_sign_in_needed" in vals:
            raise AccessError(self.env._("Sign In Needed is set by Odoo itself and cannot be changed."))
        return result

    def _linked_server_values(self, side):
        """A signed-in account's stock servers use the stock sign-in, so stock code renews its tokens."""
        values = super()._linked_server_values(side)
        sign_in = SIGN_INS.get(self.oauth_provider)
        if sign_in:
            values["smtp_authentication" if side.name == "outgoing" else "server_type"] = sign_in.stock
        return values

    def _oauth_token_holder(self, side):
        return self[SIDES[side].link]

    def _oauth_renewal_failed(self):
        if not self.oauth_sign_in_needed:
            self.sudo().oauth_sign_in_needed = True

    def _oauth_store_tokens(self, tokens):
        """Give the tokens of a new sign-in to the linked stock servers, which renew them from now on;
        the account keeps no password. ``tokens``: {refresh_token, access_token, access_token_expiration}."""
        self.ensure_one()
        sign_in = SIGN_INS[self.oauth_provider]
        values = {sign_in.field(name): value for name, value in tokens.items()}
        for side in self._sides_in_use():
            self[SIDES[side].link].sudo().write(values)
        self.sudo().write({"password": False, "oauth_sign_in_needed": False})

    def _record_check(self, ok, report):
        # A check that ran stores its report (one entry per server, the problem a stored error message).
        servers = report if isinstance(report, list) else []
        codes = {server["problem"].get("code") for server in servers if isinstance(server.get("problem"), dict)}
        self._oauth_sign_in_state(ok, codes)
        return super()._record_check(ok, report)

    def _mail_flow_failed(self, side, code, params, **values):
        self._oauth_sign_in_state(False, {code})
        return super()._mail_flow_failed(side, code, params, **values)

    def _mail_flow_succeeded(self, side, checked=False, **values):
        self._oauth_sign_in_state(True, set())
        return super()._mail_flow_succeeded(side, checked=checked, **values)

    def _oauth_sign_in_state(self, ok, codes):
        """A refused token means sign in again; a working login, that the sign-in is fine again."""
        needed = bool(self.oauth_provider) and not ok and bool(codes & SIGN_IN_AGAIN_CODES)
        if self.oauth_provider and (needed or ok) and self.oauth_sign_in_needed != needed:
            self.sudo().oauth_sign_in_needed = needed

    def _open_session(self, side):
        try:
            return super()._open_session(side)
        except SignInNeeded as error:
            self._mail_flow_failed(side, SIGN_IN_CODE, error.params)
            raise UserError(self._mail_flow_error(side, str(error))) from None

    def action_oauth_sign_in_again(self):
        """Open the setup wizard on this account and go straight to the provider's sign-in."""
        self.check_access("write")
        self.ensure_one()
        if not self.oauth_provider:
            raise UserError(self.env._("This account logs in with a password, not with a sign-in."))
        wizard = self._reconfigure_wizard(sign_in_provider=self.oauth_provider, oauth_resume="check")
        return wizard.action_oauth_sign_in()
