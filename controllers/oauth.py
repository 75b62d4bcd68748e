"""The way back from Microsoft's and Google's sign-in pages, when the setup wizard started it.

The provider returns to stock's redirect URI (the one registered at the provider); stock's answer
for its own mail server forms stays as it is. For the wizard, the answer is checked and exchanged by
the wizard, and the browser lands in the wizard again, whatever happened.
"""

import json

from werkzeug.exceptions import Forbidden

from odoo import http
from odoo.addons.google_gmail.controllers import main as gmail
from odoo.addons.microsoft_outlook.controllers import main as outlook
from odoo.exceptions import AccessError
from odoo.http import request

WIZARD_MODEL = "email.account.setup"


def _wizard_state(state):
    """(wizard, csrf token) when ``state`` names a setup wizard, else None (stock's answer then)."""
    try:
        data = json.loads(state or "")
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("model") != WIZARD_MODEL or not isinstance(data.get("id"), int):
        return None
    token = data.get("csrf_token")
    return request.env[WIZARD_MODEL].browse(data["id"]), token if isinstance(token, str) else ""


def _back_to_wizard(provider, wizard, csrf_token, code, error):
    """Only the wizard's creator, with rights on the account it reconfigures, finishes its sign-in."""
    wizard = wizard.exists()
    if not wizard:
        raise Forbidden()
    try:
        url = wizard._oauth_return(provider, csrf_token, code, error)
    except AccessError:
        raise Forbidden() from None
    return request.redirect(url)


class MicrosoftOutlookController(outlook.MicrosoftOutlookController):
    @http.route()
    def microsoft_outlook_callback(self, code=None, state=None, error_description=None, **kwargs):
        found = _wizard_state(state)
        if found is None:
            return super().microsoft_outlook_callback(
                code=code, state=state, error_description=error_description, **kwargs
            )
        return _back_to_wizard("microsoft", *found, code, error_description or kwargs.get("error"))


class GoogleGmailController(gmail.GoogleGmailController):
    @http.route()
    def google_gmail_callback(self, code=None, state=None, error=None, **kwargs):
        found = _wizard_state(state)
        if found is None:
            return super().google_gmail_callback(code=code, state=state, error=error, **kwargs)
        return _back_to_wizard("google", *found, code, error)
