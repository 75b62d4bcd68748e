"""Stable error codes of a connection check, and the English text that explains each one.

Codes are API: the addon stores them and renders its own translated text from them, so a code is
never renamed. Each explanation says what failed, the likely cause and what to change, with named
placeholders filled from the failure's parameters.
"""

STAGES = ("resolve", "connect", "tls", "greeting", "capabilities", "auth", "mailbox", "sender", "done")

EXPLANATIONS = {
    "host_not_found": (
        "The server name {host} could not be found.",
        "The name is misspelt, or the domain's DNS has no address for it.",
        "Check the server name (for example smtp.{domain}) or ask your provider for the right one.",
    ),
    "connection_refused": (
        "{host} refused the connection on port {port}.",
        "No mail service listens on that port, or a firewall rejects it.",
        "Check the port: usually 465 or 587 for sending, 993 or 143 for IMAP, 995 or 110 for POP3.",
    ),
    "network_unreachable": (
        "{host} cannot be reached from this server ({reason}).",
        "The network has no route to it, or outgoing connections are blocked by a firewall.",
        "Check the server name, and that this Odoo server may open outgoing connections to port {port}.",
    ),
    "timeout": (
        "{host}:{port} did not answer within {timeout} seconds (while waiting at stage {stage}).",
        "A firewall silently drops the connection, the port is wrong, or the server is overloaded.",
        "Check the server name and port, then retry; raise the timeout only if the server is known to be slow.",
    ),
    "tls_on_plain_port": (
        "{host}:{port} does not speak SSL/TLS right away; it answered in plain text.",
        "SSL was chosen for a port that expects STARTTLS or no encryption.",
        "Choose STARTTLS for this port, or use the SSL port (465 for sending, 993 for IMAP, 995 for POP3).",
    ),
    "plain_on_tls_port": (
        "{host}:{port} expects an SSL/TLS connection from the first byte.",
        "STARTTLS or no encryption was chosen for an implicit-SSL port.",
        "Choose SSL for this port, or use the STARTTLS port (587 for sending, 143 for IMAP, 110 for POP3).",
    ),
    "tls_handshake_failed": (
        "The secure connection to {host}:{port} could not be established ({reason}).",
        "The server and this Odoo server share no TLS version or cipher, or the server broke off the handshake.",
        "Try the other security mode (SSL or STARTTLS) or ask the provider which TLS versions it supports.",
    ),
    "certificate_untrusted": (
        "The certificate of {host} is not trusted ({reason}).",
        "It is self-signed or issued by an authority this Odoo server does not know.",
        "Install the issuing authority on this server, or trust exactly this certificate after checking "
        "its fingerprint {fingerprint} with your provider.",
    ),
    "certificate_hostname_mismatch": (
        "The certificate of {host} was issued for another name ({subject}).",
        "The server name is an alias of the real mail server.",
        "Use the name the certificate was issued for, or trust this certificate after checking its fingerprint.",
    ),
    "certificate_expired": (
        "The certificate of {host} has expired or is not valid yet ({not_after}).",
        "The provider did not renew it, or this server's clock is wrong.",
        "Check this server's date and time, and tell the provider; trust it only if you know why.",
    ),
    "certificate_pin_mismatch": (
        "The certificate of {host} is not the one you trusted (fingerprint {fingerprint}).",
        "The provider renewed its certificate, or someone is intercepting the connection.",
        "Check the new fingerprint with your provider before trusting it.",
    ),
    "starttls_unsupported": (
        "{host}:{port} does not offer STARTTLS ({reason}).",
        "The server has no TLS on this port, or something in between strips it.",
        "Choose SSL with the SSL port, or ask the provider for an encrypted port.",
    ),
    "auth_failed": (
        "{host} rejected the login {login} ({reason}).",
        "The password is wrong, or the provider requires an app password or allows no IMAP/POP/SMTP access.",
        "Create an app password at your provider, enable IMAP/POP/SMTP access there, and check the login.",
    ),
    "auth_mechanism_unavailable": (
        "{host} offers no login method allowed here (it offers: {offered}).",
        "Safe logon needs CRAM-MD5, SCRAM or APOP, or the server allows login only after encryption.",
        "Turn Safe logon off to allow sending the password over the encrypted connection, or use SSL/STARTTLS.",
    ),
    "auth_required_before_send": (
        "{host} refused to accept mail before logging in ({reason}).",
        "The server needs authentication, or a login to the incoming server first (POP-before-SMTP).",
        "Enter the login and password, or tick 'Authentication is required on the incoming mail server "
        "before sending'.",
    ),
    "sender_rejected": (
        "{host} refused {sender} as sender ({reason}).",
        "The address does not belong to this login, or the provider limits who may send.",
        "Use the address of this mailbox, or a login allowed to send as it.",
    ),
    "recipient_rejected": (
        "{host} refused {sender} as recipient ({reason}).",
        "The server does not know this address or does not relay for it.",
        "Check the address; ask the provider whether this mailbox may send.",
    ),
    "mailbox_unavailable": (
        "The mailbox of {login} on {host} could not be opened ({reason}).",
        "It is locked by another program, missing, or not enabled for IMAP/POP3.",
        "Close other programs that use POP3 on it, and enable IMAP/POP3 access at the provider.",
    ),
    "server_busy": (
        "{host} is busy or refused service for now ({reason}).",
        "The server is overloaded, rate-limits this client, or is under maintenance.",
        "Retry later; if it persists, ask the provider whether this server's address is blocked.",
    ),
    "connection_closed": (
        "{host}:{port} closed the connection unexpectedly (at stage {stage}).",
        "The server rejects this client's address, or the port belongs to another service.",
        "Check the port and security mode, and whether the provider blocks this server's address.",
    ),
    "protocol_error": (
        "{host}:{port} answered something that is not {protocol} ({reason}).",
        "The port belongs to another service, or a proxy in between garbles the dialogue.",
        "Check the port and protocol.",
    ),
}

ERROR_CODES = tuple(EXPLANATIONS)

# Failures that come with the server's certificate, so the user can judge it and trust (pin) it.
CERTIFICATE_CODES = frozenset(
    {"certificate_untrusted", "certificate_hostname_mismatch", "certificate_expired", "certificate_pin_mismatch"}
)


class _Defaults(dict):
    """Fill a placeholder the failure did not provide with '?', so rendering never raises."""

    def __missing__(self, key):
        return "?"


def explain(code, params):
    """Return the one-line English explanation of ``code``: what failed, likely cause, what to change."""
    what, cause, fix = EXPLANATIONS[code]
    values = _Defaults(params)
    return f"{what.format_map(values)} Likely cause: {cause.format_map(values)} {fix.format_map(values)}"


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
