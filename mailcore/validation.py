"""Syntax rules for what a user types into an account: addresses, host names, ports, timeouts, free text.

Each rule lives here once, with the message of its stable ``code``: English marked with ``_lt`` and
rendered by ``InvalidValue.describe`` with the caller's gettext (see ``text``). The ``wire_*``
functions return the form that goes on the wire (IDN -> punycode, IPv6 without brackets), so a value
that passed validation can never put CR/LF or a space into a protocol line.
"""

import ipaddress
import re

from .message import message
from .text import _lt, identity, render

MAX_LOCAL_PART = 64  # RFC 5321 4.5.3.1.1
MAX_DOMAIN = 253  # RFC 1035, without the trailing dot
MAX_LABEL = 63
MAX_PORT = 65535
# Seconds a connection check may take, for both servers together.
MIN_TIMEOUT = 1
MAX_TIMEOUT = 300

_ATEXT = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$")
_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$")
_QUOTED = re.compile(r'^"(?:[^"\\]|\\.)*"$')
_IPV4_LIKE = re.compile(r"^[0-9.]+$")


MESSAGES = {
    "empty": _lt("a value is required."),
    "control_character": _lt("line breaks, tabs and other control characters are not allowed."),
    "too_long": _lt("at most %(maximum)s characters, not %(length)s."),
    "port_range": _lt("the port must be between 1 and 65535, not %(port)s."),
    "timeout_range": _lt("must be between %(minimum)s and %(maximum)s seconds, not %(timeout)s."),
    "whitespace": _lt("spaces are not allowed."),
    "no_at": _lt("an email address needs an @, as in name@example.com."),
    "many_at": _lt("an email address has exactly one @ (quote a local part that contains one)."),
    "local_part_empty": _lt("the part before the @ is missing."),
    "local_part_too_long": _lt("the part before the @ is longer than %(maximum)s characters."),
    "local_part_invalid": _lt(
        "%(local)s is not valid before the @: use letters, digits and . _ + - (no two dots in a row), "
        "or put it in double quotes."
    ),
    "domain_empty": _lt("the domain after the @ is missing."),
    "domain_invalid": _lt("%(domain)s is not a valid domain name: use letters, digits and hyphens between dots."),
    "domain_too_long": _lt("the domain is longer than %(maximum)s characters."),
    "label_too_long": _lt("%(label)s is longer than %(maximum)s characters between two dots."),
    "scheme": _lt(
        "%(host)s is a URL: enter only the server name (e.g. mail.example.com), without smtp:// or imaps://."
    ),
    "path": _lt("%(host)s is not a server name: remove everything from the / or @ on."),
    "port_in_host": _lt("%(host)s contains a port: enter the server name alone and the port in its own field."),
    "ipv6_unbracketed": _lt("write an IPv6 address in brackets, e.g. [2001:db8::1]."),
    "ipv6_invalid": _lt("%(host)s is not a valid IPv6 address."),
    "ipv4_invalid": _lt("%(host)s is not a valid IPv4 address."),
}


class InvalidValue(ValueError):
    """A value that breaks a rule: ``code`` names the rule, ``params`` fill its message."""

    def __init__(self, code, **params):
        self.code = code
        self.params = params
        super().__init__(f"{code}: {params}" if params else code)

    def describe(self, gettext=identity):
        """What is wrong, as the fragment that follows a field's name; English unless given a gettext."""
        return render(MESSAGES[self.code], self.params, gettext)

    def as_message(self):
        """The same, as a stored message (``message``), to render in the reader's language later."""
        return message(MESSAGES[self.code], **self.params)


def check_line(value):
    """No control character (CR and LF above all) may reach a protocol line."""
    if any(ord(char) < 32 or ord(char) == 127 for char in value or ""):
        raise InvalidValue("control_character")
    return value


def check_length(value, maximum):
    if len(value or "") > maximum:
        raise InvalidValue("too_long", maximum=maximum, length=len(value))
    return value


def check_port(port):
    if not isinstance(port, int) or not 1 <= port <= MAX_PORT:
        raise InvalidValue("port_range", port=port)
    return port


def check_timeout(seconds):
    if not isinstance(seconds, int) or not MIN_TIMEOUT <= seconds <= MAX_TIMEOUT:
        raise InvalidValue("timeout_range", minimum=MIN_TIMEOUT, maximum=MAX_TIMEOUT, timeout=seconds)
    return seconds


def wire_email(address):
    """The address as it goes into MAIL FROM / a login: local part kept, domain in punycode."""
    address = check_line(address or "")
    if not address:
        raise InvalidValue("empty")
    local, domain = _split_address(address)
    if len(local) > MAX_LOCAL_PART:
        raise InvalidValue("local_part_too_long", maximum=MAX_LOCAL_PART)
    if not (_QUOTED.match(local) or all(_ATEXT.match(atom) for atom in local.split("."))):
        raise InvalidValue("local_part_invalid", local=local)
    if domain.startswith("[") and domain.endswith("]"):
        literal = domain[1:-1]
        if literal.lower().startswith("ipv6:"):
            _ip_literal(literal[5:], version=6)
        else:
            _ip_literal(literal, version=4)
        return address
    return f"{local}@{_domain(domain)}"


def wire_host(host):
    """A server name, IPv4 address or bracketed IPv6 address, as the socket layer wants it."""
    host = check_line(host or "")
    if not host:
        raise InvalidValue("empty")
    if any(char.isspace() for char in host):
        raise InvalidValue("whitespace")
    if "://" in host:
        raise InvalidValue("scheme", host=host)
    if "/" in host or "?" in host or "#" in host or "@" in host:
        raise InvalidValue("path", host=host)
    if host.startswith("["):
        if not host.endswith("]"):
            raise InvalidValue("port_in_host", host=host)
        return _ip_literal(host[1:-1], version=6)
    if host.count(":") > 1:
        raise InvalidValue("ipv6_unbracketed", host=host)
    if ":" in host:
        raise InvalidValue("port_in_host", host=host)
    if _IPV4_LIKE.match(host):
        return _ip_literal(host, version=4)
    return _domain(host)


def wire_domain(name):
    """A DNS name in ASCII (IDN labels to punycode), or InvalidValue."""
    return _domain(check_line(name or "") or "")


def _split_address(address):
    """Split at the one ``@`` outside a quoted local part; spaces only inside quotes."""
    if address.startswith('"'):
        closing = _closing_quote(address)
        local, rest = address[: closing + 1], address[closing + 1 :]
        if not rest.startswith("@"):
            raise InvalidValue("local_part_invalid", local=local)
        domain = rest[1:]
        if "@" in domain:
            raise InvalidValue("many_at")
    else:
        if any(char.isspace() for char in address):
            raise InvalidValue("whitespace")
        count = address.count("@")
        if count == 0:
            raise InvalidValue("no_at")
        if count > 1:
            raise InvalidValue("many_at")
        local, domain = address.split("@")
    if not local:
        raise InvalidValue("local_part_empty")
    if not domain:
        raise InvalidValue("domain_empty")
    if any(char.isspace() for char in domain):
        raise InvalidValue("whitespace")
    return local, domain


def _closing_quote(address):
    escaped = False
    for index, char in enumerate(address[1:], start=1):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return index
    raise InvalidValue("local_part_invalid", local=address)


def _domain(name):
    """A DNS name in ASCII: IDN labels to punycode (IDNA 2003, as the stdlib does), LDH labels only."""
    bare = name[:-1] if name.endswith(".") else name
    labels = [_ascii_label(label, name) for label in bare.split(".")]
    ascii_name = ".".join(labels)
    if len(ascii_name) > MAX_DOMAIN:
        raise InvalidValue("domain_too_long", maximum=MAX_DOMAIN)
    return ascii_name.lower()


def _ascii_label(label, name):
    try:
        ascii_label = label.encode("idna").decode("ascii") if label else ""
    except UnicodeError as error:
        if len(label) > MAX_LABEL:
            raise InvalidValue("label_too_long", label=label, maximum=MAX_LABEL) from error
        raise InvalidValue("domain_invalid", domain=name) from error
    if len(ascii_label) > MAX_LABEL:
        raise InvalidValue("label_too_long", label=label, maximum=MAX_LABEL)
    if not _LABEL.match(ascii_label):
        raise InvalidValue("domain_invalid", domain=name)
    return ascii_label


def _ip_literal(text, version=None):
    """An IP address literal of the given version (4 or 6), normalised."""
    code = f"ipv{version}_invalid"
    try:
        address = ipaddress.ip_address(text)
    except ValueError as error:
        raise InvalidValue(code, host=text) from error
    if address.version != version:
        raise InvalidValue(code, host=text)
    return str(address)
