"""Server settings for the harness's Dovecot instances, by protocol and security mode, with a password
or with an access token from the harness's OAuth 2 server."""

import importlib.util
import time

from mailcore import ServerSettings

# Google's scope for mail; the harness's Dovecot takes it as the mail scope.
GMAIL_SCOPE = "https://mail.google.com/"


def settings_for(servers, protocol, security, instance="main", user="alice", port_key=None, **changes):
    account = servers["users"][user]
    port = servers["dovecot"][instance][port_key or servers["services"][protocol][security]]
    values = {
        "protocol": protocol,
        "host": servers["hostname"],
        "port": port,
        "security": security,
        "login": account["login"],
        "password": account["password"],
        "sender": account["email"],
        "cafile": servers["ca_file"],
    }
    values.update(changes)
    return ServerSettings(**values)


def harness_client(servers):
    """The harness client (tests/harness/mailharness/client.py, standard library only) as a module."""
    spec = importlib.util.spec_from_file_location("email_account_harness", servers["harness"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def with_token(servers, protocol, security, token, **changes):
    """Settings for alice on the "oauth" Dovecot instance, signed in with ``token`` (a token response of
    the harness OAuth server), its expiry and scopes known."""
    values = {"auth": "oauth2", "token_expires_at": time.time() + token["expires_in"], "token_scope": token["scope"]}
    values.update(changes)
    return settings_for(servers, protocol, security, instance="oauth", password=token["access_token"], **values)
