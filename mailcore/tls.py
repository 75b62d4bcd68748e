"""TLS contexts for the three certificate policies, certificate facts, and TLS error triage."""

import functools
import hashlib
import logging
import ssl

from cryptography import x509
from cryptography.x509.oid import NameOID

from .errors import CheckFailure

_logger = logging.getLogger(__name__)

# OpenSSL X509_V_ERR_* codes that have their own explanation.
_EXPIRED = {9, 10}  # not yet valid, has expired
_HOSTNAME_MISMATCH = 62

# What OpenSSL says when the peer's first bytes are not a TLS record: it answered in plain text.
_PLAINTEXT_REASONS = ("WRONG_VERSION_NUMBER", "PACKET_LENGTH_TOO_LONG", "RECORD_LAYER_FAILURE", "HTTP_REQUEST")


def make_context(settings):
    """Verified by default (system trust store plus ``cafile``); pinned and 'any' skip the chain check."""
    return _context(settings.cafile or "", settings.tls_policy == "verify")


@functools.lru_cache(maxsize=32)
def _context(cafile, verify):
    """Loading the system trust store costs tens of milliseconds: one context per kind, shared
    (an SSLContext is safe to wrap sockets from several threads)."""
    context = ssl.create_default_context()
    if cafile:
        context.load_verify_locations(cafile=cafile)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def unverified_context():
    return _context("", False)


def verified_context(cafile=""):
    """The system's trust store plus ``cafile``, checking names: what discovery's HTTPS uses."""
    return _context(cafile or "", True)


def fingerprint(der):
    return hashlib.sha256(der).hexdigest()


def normalize_fingerprint(value):
    return "".join(ch for ch in (value or "").lower() if ch in "0123456789abcdef")


def _name(name):
    common = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return common[0].value if common else name.rfc4514_string()


def _utc(cert, attribute):
    value = getattr(cert, f"{attribute}_utc", None) or getattr(cert, attribute)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def certificate_facts(der):
    """Subject, issuer, validity, names and SHA-256 fingerprint of a DER certificate."""
    facts = _parsed(der)
    return {**facts, "alt_names": list(facts["alt_names"])}


@functools.lru_cache(maxsize=64)
def _parsed(der):
    """Parsing costs a third of a millisecond; a server shows the same certificate check after check.

    OpenSSL accepts certificates ``cryptography`` cannot read (an x400Address among the names, say):
    under the 'any' and 'pin' policies such a certificate still works, so what cannot be read is
    shown as '?' and the fingerprint, which needs no parsing, stays exact."""
    facts = {**dict.fromkeys(("subject", "issuer", "not_before", "not_after"), "?"), "alt_names": []}
    facts["sha256"] = fingerprint(der)
    try:
        cert = x509.load_der_x509_certificate(der)
        facts.update(subject=_name(cert.subject), issuer=_name(cert.issuer))
        facts.update(not_before=_utc(cert, "not_valid_before"), not_after=_utc(cert, "not_valid_after"))
        facts["alt_names"] = _alt_names(cert)
    except Exception as error:  # noqa: BLE001 - any parser error on a stranger's certificate: show what was read
        _logger.info("Certificate %s could not be fully read: %s", facts["sha256"], error)
    return facts


def _alt_names(cert):
    """The DNS names and IP addresses a certificate is issued for; none without a subjectAltName."""
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(value) for value in names.get_values_for_type(x509.DNSName)] + [
        str(value) for value in names.get_values_for_type(x509.IPAddress)
    ]


def session_facts(sock):
    """What the handshake agreed on, and the peer certificate whether or not it was verified."""
    facts = {"tls_version": sock.version(), "tls_cipher": (sock.cipher() or (None,))[0]}
    der = sock.getpeercert(binary_form=True)
    if der:
        facts["certificate"] = certificate_facts(der)
    return facts


def check_pin(settings, sock):
    """With the 'pin' policy, only the certificate whose fingerprint the user trusted is accepted."""
    if settings.tls_policy != "pin":
        return
    der = sock.getpeercert(binary_form=True) or b""
    if fingerprint(der) != normalize_fingerprint(settings.pinned_fingerprint):
        raise CheckFailure(
            "certificate_pin_mismatch", "tls", host=settings.host, port=settings.port, fingerprint=fingerprint(der)
        )


def classify(error, settings):
    """Turn an ``ssl`` exception raised during a handshake into a CheckFailure."""
    params = {"host": settings.host, "port": settings.port}
    if isinstance(error, ssl.SSLCertVerificationError):
        params["reason"] = error.verify_message
        if error.verify_code in _EXPIRED:
            return CheckFailure("certificate_expired", "tls", params)
        if error.verify_code == _HOSTNAME_MISMATCH:
            return CheckFailure("certificate_hostname_mismatch", "tls", params)
        return CheckFailure("certificate_untrusted", "tls", params)
    reason = getattr(error, "reason", None) or str(error)
    if any(marker in str(reason).upper() for marker in _PLAINTEXT_REASONS):
        return CheckFailure("tls_on_plain_port", "tls", params)
    params["reason"] = str(reason).replace("_", " ").lower() or type(error).__name__
    return CheckFailure("tls_handshake_failed", "tls", params)
