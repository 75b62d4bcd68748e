"""What a provider's refusal of an access token means, read into the stable code behind it.

After a failed XOAUTH2 or OAUTHBEARER the server sends a JSON challenge (RFC 7628 3.2.2), e.g.
Google's ``{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}``, Dovecot's
``{"status":"invalid_token"}``; Microsoft sends none and just refuses. The challenge alone rarely says
*why*: an expired token, a revoked one and one for another mailbox all read "401". So the code also
weighs what the caller knows of the token: when it expires and which scopes were granted.
"""

import json
import time

# A real challenge is a line of JSON; a longer one is a server's garbage, not read at all.
MAX_CHALLENGE = 4096
_FIELDS = ("status", "scope", "schemes")
_SCOPE_STATUSES = {"403", "insufficient_scope"}
# The providers' scopes that give access to mail, by protocol (Microsoft's without their resource URL,
# which is outlook.office.com or outlook.office365.com).
MAIL_SCOPES = {
    "imap": {"https://mail.google.com/", "imap.accessasuser.all"},
    "pop3": {"https://mail.google.com/", "pop.accessasuser.all"},
    "smtp": {"https://mail.google.com/", "smtp.send"},
}


def read_challenge(challenge):
    """The known fields of a failure challenge (bytes) as short strings; {} for anything else."""
    if not challenge or len(challenge) > MAX_CHALLENGE:
        return {}
    try:
        data = json.loads(challenge.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {key: data[key][:200] for key in _FIELDS if isinstance(data.get(key), str)}


def _names(scopes):
    """Scopes compared as providers mean them: case aside, Microsoft's without the resource URL."""
    return {(scope if scope.startswith("https://mail.") else scope.rsplit("/", 1)[-1]).lower() for scope in scopes}


def grants_mail(settings, required=""):
    """Whether the token's known scopes give mail access on this server; True when they are unknown."""
    granted = _names(settings.token_scope.split())
    if not granted:
        return True
    return bool(granted & (MAIL_SCOPES[settings.protocol] | _names(required.split())))


def refusal_code(settings, refusal, now=None):
    """The error code of a refused token: ``oauth_scope_missing`` when the server or the granted scopes
    say mail access is missing, ``oauth_token_expired`` when the token's known expiry has passed, else
    ``oauth_token_revoked`` (revoked, or not for this mailbox: either way, sign in again)."""
    if refusal.get("status", "").strip().lower() in _SCOPE_STATUSES:
        return "oauth_scope_missing"
    if not grants_mail(settings, refusal.get("scope", "")):
        return "oauth_scope_missing"
    if settings.token_expires_at and (time.time() if now is None else now) >= settings.token_expires_at:
        return "oauth_token_expired"
    return "oauth_token_revoked"
