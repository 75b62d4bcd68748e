"""Syntax rules for what a user types into an account: addresses, host names, ports, free text.

Each rule lives here once; the addon maps the stable ``code`` of an ``InvalidValue`` to a translated
message. The ``wire_*`` functions return the form that goes on the wire (IDN -> punycode, IPv6 without
brackets), so a value that passed validation can never put CR/LF or a space into a protocol line.
"""

import ipaddress
import re

MAX_LOCAL_PART = 64  # RFC 5321 4.5.3.1.1
MAX_DOMAIN = 253  # RFC 1035, without the trailing dot
MAX_LABEL = 63
MAX_PORT = 65535

_ATEXT = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$")
_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$")
_QUOTED = re.compile(r'^"(?:[^"\\]|\\.)*"$')
_IPV4_LIKE = re.compile(r"^[0-9.]+$")


class InvalidValue(ValueError):
    """A value that breaks a rule: ``code`` names the rule, ``params`` fill its message."""

    def __init__(self, code, **params):
        self.code = code
        self.params = params
        super().__init__(f"{code}: {params}" if params else code)


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
