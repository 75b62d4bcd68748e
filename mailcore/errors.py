"""Stable error codes of a connection check, and the English text that explains each one.

Codes are API: the addon stores them and renders its own translated text from them, so a code is
never renamed. Each explanation says what failed, the likely cause and what to change, with named
placeholders filled from the failure's parameters. The sentences are marked with ``_lt`` so Odoo's
exporter puts them in the addon's translation template (see ``text``).
"""

from .text import Defaults, _lt, identity, render

STAGES = ("resolve", "connect", "tls", "greeting", "capabilities", "auth", "mailbox", "sender", "done")

EXPLANATIONS = {
    "host_not_found": (
        _lt("The server name %(host)s could not be found."),
        _lt("The name is misspelt, or the domain's DNS has no address for it."),
        _lt("Check the spelling of the server name, or ask your provider for the right one."),
    ),
    "dns_unavailable": (
        _lt("The server name %(host)s could not be looked up: no DNS server answered."),
        _lt("This Odoo server cannot resolve names or reach the internet, or the domain's DNS servers are down."),
        _lt(
            "Check this Odoo server's network connection and DNS settings (for example run 'getent hosts "
            "%(host)s' on it), then retry."
        ),
    ),
    "connection_refused": (
        _lt("%(host)s refused the connection on port %(port)s."),
        _lt("No mail service listens on that port, or a firewall rejects it."),
        _lt("Check the port: usually 465 or 587 for sending, 993 or 143 for IMAP, 995 or 110 for POP3."),
    ),
    "network_unreachable": (
        _lt("%(host)s cannot be reached from this server (%(reason)s)."),
        _lt("The network has no route to it, or outgoing connections are blocked by a firewall."),
        _lt("Check the server name, and that this Odoo server may open outgoing connections to port %(port)s."),
    ),
    "timeout": (
        _lt("%(host)s:%(port)s did not answer within %(timeout)s seconds (while waiting at stage %(stage)s)."),
        _lt("A firewall silently drops the connection, the port is wrong, or the server is overloaded."),
        _lt("Check the server name and port, then retry; raise the timeout only if the server is known to be slow."),
    ),
    "tls_on_plain_port": (
        _lt("%(host)s:%(port)s does not speak SSL/TLS right away; it answered in plain text."),
        _lt("SSL was chosen for a port that expects STARTTLS or no encryption."),
        _lt("Choose STARTTLS for this port, or use the SSL port (465 for sending, 993 for IMAP, 995 for POP3)."),
    ),
    "plain_on_tls_port": (
        _lt("%(host)s:%(port)s expects an SSL/TLS connection from the first byte."),
        _lt("STARTTLS or no encryption was chosen for an implicit-SSL port."),
        _lt("Choose SSL for this port, or use the STARTTLS port (587 for sending, 143 for IMAP, 110 for POP3)."),
    ),
    "tls_handshake_failed": (
        _lt("The secure connection to %(host)s:%(port)s could not be established (%(reason)s)."),
        _lt("The server and this Odoo server share no TLS version or cipher, or the server broke off the handshake."),
        _lt("Try the other security mode (SSL or STARTTLS) or ask the provider which TLS versions it supports."),
    ),
    "certificate_untrusted": (
        _lt("The certificate of %(host)s is not trusted (%(reason)s)."),
        _lt("It is self-signed or issued by an authority this Odoo server does not know."),
        _lt(
            "Install the issuing authority on this server, or trust exactly this certificate after checking "
            "its fingerprint %(fingerprint)s with your provider."
        ),
    ),
    "certificate_hostname_mismatch": (
        _lt("The certificate of %(host)s was issued for another name (%(subject)s)."),
        _lt("The server name is an alias of the real mail server."),
        _lt("Use the name the certificate was issued for, or trust this certificate after checking its fingerprint."),
    ),
    "certificate_expired": (
        _lt("The certificate of %(host)s has expired or is not valid yet (%(not_after)s)."),
        _lt("The provider did not renew it, or this server's clock is wrong."),
        _lt(
            "Check this server's date and time; if they are right, whoever runs the mail server must renew its "
            "certificate. An expired certificate cannot be trusted here."
        ),
    ),
    "certificate_pin_mismatch": (
        _lt("The certificate of %(host)s is not the one you trusted (fingerprint %(fingerprint)s)."),
        _lt("The provider renewed its certificate, or someone is intercepting the connection."),
        _lt("Check the new fingerprint with your provider before trusting it."),
    ),
    "starttls_unsupported": (
        _lt("%(host)s:%(port)s does not offer STARTTLS (%(reason)s)."),
        _lt("The server has no TLS on this port, or something in between strips it."),
        _lt("Choose SSL with the SSL port, or ask the provider for an encrypted port."),
    ),
    "auth_failed": (
        _lt("%(host)s rejected the login %(login)s (%(reason)s)."),
        _lt("The password is wrong, or the provider requires an app password or allows no IMAP/POP/SMTP access."),
        _lt("Create an app password at your provider, enable IMAP/POP/SMTP access there, and check the login."),
    ),
    "auth_mechanism_unavailable": (
        _lt("%(host)s offers no login method allowed here (it offers: %(offered)s)."),
        _lt("Safe logon needs CRAM-MD5, SCRAM or APOP, or the server allows login only after encryption."),
        _lt("Turn Safe logon off to allow sending the password over the encrypted connection, or use SSL/STARTTLS."),
    ),
    "apop_refused": (
        _lt("%(host)s refused the APOP login of %(login)s (%(reason)s)."),
        _lt(
            "The password is wrong, or the server announces APOP without keeping the APOP secret of this "
            "mailbox; its other login methods (%(offered)s) send the password itself, which Safe logon forbids."
        ),
        _lt(
            "Check the password; if it is right, turn Safe logon off for the incoming server and use SSL or "
            "STARTTLS, so the password travels encrypted."
        ),
    ),
    "oauth_unavailable": (
        _lt("%(host)s offers no sign-in with an access token (XOAUTH2 or OAUTHBEARER; it offers: %(offered)s)."),
        _lt("The server takes passwords only, or it is not the provider's server for this signed-in mailbox."),
        _lt("Use the provider's own servers for a mailbox signed in with Microsoft or Google, or a password here."),
    ),
    "oauth_token_expired": (
        _lt("%(host)s refused the sign-in of %(login)s: its access token has expired (%(reason)s)."),
        _lt("Access tokens last about an hour; renewing this one failed or was not tried in time."),
        _lt("Sign in again with the provider."),
    ),
    "oauth_token_revoked": (
        _lt("%(host)s refused the sign-in of %(login)s (%(reason)s)."),
        _lt(
            "The sign-in was revoked at the provider (password changed, access removed), or it was made "
            "for another mailbox than %(login)s."
        ),
        _lt("Sign in again with the provider, as %(login)s."),
    ),
    "oauth_scope_missing": (
        _lt("%(host)s refused the sign-in of %(login)s: it does not grant access to mail (%(reason)s)."),
        _lt(
            "Mail access was not granted at sign-in, or the provider's administrator does not allow this "
            "application to read or send mail."
        ),
        _lt("Sign in again and grant access to mail; ask the provider's administrator if the option is missing."),
    ),
    "login_delay": (
        _lt("%(host)s allows a login to this mailbox only every so often, and refused this one (%(reason)s)."),
        _lt(
            "Odoo or another mail program logged in to it a moment ago; the server enforces a minimum time "
            "between logins."
        ),
        _lt("Wait a minute and retry; fetch this mailbox no more often than the server allows, from one program only."),
    ),
    "auth_required_before_send": (
        _lt("%(host)s refused to accept mail before logging in (%(reason)s)."),
        _lt("The server needs authentication, or a login to the incoming server first (POP-before-SMTP)."),
        _lt("Enter the login and password, or tick 'Log In to Incoming Server First' under Advanced."),
    ),
    "sender_rejected": (
        _lt("%(host)s refused %(sender)s as sender (%(reason)s)."),
        _lt("The address does not belong to this login, or the provider limits who may send."),
        _lt("Use the address of this mailbox, or a login allowed to send as it."),
    ),
    "recipient_rejected": (
        _lt("%(host)s refused %(sender)s as recipient (%(reason)s)."),
        _lt("The server does not know this address or does not relay for it."),
        _lt("Check the address; ask the provider whether this mailbox may send."),
    ),
    "mailbox_unavailable": (
        _lt("The mailbox of %(login)s on %(host)s could not be opened (%(reason)s)."),
        _lt("It is locked by another program, missing, or not enabled for IMAP/POP3."),
        _lt("Close other programs that use POP3 on it, and enable IMAP/POP3 access at the provider."),
    ),
    "server_busy": (
        _lt("%(host)s is busy or refused service for now (%(reason)s)."),
        _lt("The server is overloaded, rate-limits this client, or is under maintenance."),
        _lt("Retry later; if it persists, ask the provider whether this server's address is blocked."),
    ),
    "connection_closed": (
        _lt("%(host)s:%(port)s closed the connection unexpectedly (at stage %(stage)s)."),
        _lt("The server rejects this client's address, or the port belongs to another service."),
        _lt("Check the port and security mode, and whether the provider blocks this server's address."),
    ),
    "internal_address": (
        _lt("%(host)s is at %(address)s, an address inside this server's own network."),
        _lt("Loopback, private and link-local addresses may be reached only where an administrator allows it."),
        _lt("Use the mail server's public name, or ask an administrator to set up this account."),
    ),
    "check_cancelled": (
        _lt("The check of %(host)s:%(port)s was stopped before it finished (at stage %(stage)s)."),
        _lt("It was cancelled while it ran."),
        _lt("Check again when you are ready; nothing was changed."),
    ),
    "protocol_error": (
        _lt("%(host)s:%(port)s answered something that is not %(protocol)s (%(reason)s)."),
        _lt("The port belongs to another service, or a proxy in between garbles the dialogue."),
        _lt("Check the port and protocol."),
    ),
}

ERROR_CODES = tuple(EXPLANATIONS)

# Failures that come with the server's certificate, so the user can judge it and trust (pin) it.
CERTIFICATE_CODES = frozenset(
    {"certificate_untrusted", "certificate_hostname_mismatch", "certificate_expired", "certificate_pin_mismatch"}
)
# Of those, the ones the user may settle by trusting exactly this certificate: an expired one must be renewed.
TRUSTABLE_CERTIFICATE_CODES = CERTIFICATE_CODES - {"certificate_expired"}


# How the three parts of an explanation make one line.
EXPLANATION = _lt("%(what)s Likely cause: %(cause)s %(fix)s")


def explain(code, params, gettext=identity, explanations=None):
    """The one-line explanation of ``code``: what failed, likely cause, what to change.

    English by default; the addon passes its translation function as ``gettext``, and its own table
    (code -> the three sentences) for failures only it knows of as ``explanations``.
    """
    values = Defaults(params)
    what, cause, fix = (render(part, values, gettext) for part in (explanations or EXPLANATIONS)[code])
    return render(EXPLANATION, {"what": what, "cause": cause, "fix": fix}, gettext)


class CheckFailure(Exception):
    """A check failed at ``stage`` for the documented reason ``code``; never carries a password."""

    def __init__(self, code, stage=None, params=None, **more):
        if code not in EXPLANATIONS:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(code)
        self.code = code
        self.stage = stage
        self.params = {**(params or {}), **more}

    def __str__(self):
        return explain(self.code, self.params)
