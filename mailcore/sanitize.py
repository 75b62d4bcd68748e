"""Server text made safe to show, log and store: the one function every layer passes it through.

A hostile or broken server can put anything in a reply: NUL bytes (PostgreSQL refuses them, so a
field write would fail and take a cron run down with it), other control characters, lone
surrogates, megabytes of text, or the password or access token it was just sent, echoed back as
typed, base64 encoded (LOGIN, or the whole AUTH PLAIN, XOAUTH2 or OAUTHBEARER blob), with its
spaces collapsed by whoever shortened the reply, or cut off at the end. ``sanitize`` removes all of
that, whatever the value's shape.
"""

import base64
import re
import unicodedata

MASK = "***"
# Longest server text kept; the rest is cut, after the secrets are masked.
MAX_LENGTH = 1000
# A text whose end is the first characters of a secret was cut inside it: mask from this many on.
_MIN_TAIL = 4
_ELLIPSIS = re.compile(r"(?:\.\.\.|\u2026)$")


def sanitize(value, password="", login=""):
    """``value`` with server text cleaned: control characters and whitespace runs become one space,
    every form of ``password`` (sent as ``login``) is masked, long text is cut.

    Strings, bytes (kept bytes) and the strings inside dicts, lists and tuples are cleaned; other
    values are returned as they are.
    """
    forms = _secret_forms(password, login)
    return _clean(value, forms)


def _clean(value, forms):
    if isinstance(value, str):
        return _clean_text(value, forms)
    if isinstance(value, bytes | bytearray):
        return _clean_text(bytes(value).decode("utf-8", "replace"), forms).encode("utf-8")
    if isinstance(value, dict):
        return {key: _clean(item, forms) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_clean(item, forms) for item in value)
    return value


def _one_line(text):
    """Control characters (NUL included) and lone surrogates out, whitespace runs as one space."""
    kept = "".join(" " if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in text)
    return " ".join(kept.split())


def _secret_forms(password, login):
    """The password (or access token) as a server could echo it, longest first: as typed and
    base64-encoded, alone (AUTH LOGIN) or inside the AUTH PLAIN, XOAUTH2 or OAUTHBEARER message, each
    as the cleaning above leaves it."""
    if not password:
        return ()
    raw = password.encode("utf-8")
    user = (login or "").encode("utf-8")
    messages = (
        b"\0" + user + b"\0" + raw,
        b"user=" + user + b"\x01auth=Bearer " + raw + b"\x01\x01",
        b"n,a=" + user.replace(b"=", b"=3D").replace(b",", b"=2C") + b",\x01auth=Bearer " + raw + b"\x01\x01",
    )
    forms = {_one_line(password), base64.b64encode(raw).decode()}
    forms.update(base64.b64encode(message).decode() for message in messages)
    return tuple(sorted((form for form in forms if form), key=len, reverse=True))


def _clean_text(text, forms):
    text = _one_line(text)
    for form in forms:
        text = text.replace(form, MASK)
    text = _mask_cut_tail(text, forms)
    if len(text) > MAX_LENGTH:
        text = text[: MAX_LENGTH - 3] + "..."
    return text


def _mask_cut_tail(text, forms):
    """A reply shortened by the server or on its way here may end inside a secret: mask that end."""
    ellipsis = _ELLIPSIS.search(text)
    body = text[: ellipsis.start()] if ellipsis else text
    for form in forms:
        for size in range(min(len(form), len(body)), _MIN_TAIL - 1, -1):
            if body.endswith(form[:size]):
                return body[:-size] + MASK + (ellipsis.group() if ellipsis else "")
    return text
