"""Sentences kept as data until they are read, so each reader sees them in their own language.

A stored message is plain JSON, one of:

- ``{"template": "English %(name)s", "params": {...}}``: a sentence marked for translation (``_lt``
  or ``self.env._``), its English text the key of its translations;
- ``{"code": "auth_failed", "params": {...}}``: the explanation of an error code (``errors.py``).

A parameter is shown as it is (a host, a number, what a server said), or is itself a message,
rendered in the same language. ``render_message`` turns any of them into text with the reader's
``gettext``; it never raises, whatever was stored, since stored data outlives the code that wrote it.
"""

from .errors import EXPLANATIONS, explain
from .text import Text, identity, render


def message(template, **params):
    """A sentence to store: ``template`` (marked for translation) filled with ``params`` when read."""
    return {"template": template, "params": _storable(params)}


def error_message(code, params):
    """The explanation of the error ``code`` with its ``params``, to store."""
    return {"code": code, "params": _storable(params)}


def render_message(stored, gettext=identity):
    """The text of a stored message in the language of ``gettext``; a plain string stays as it is."""
    if isinstance(stored, str):
        return stored
    if not isinstance(stored, dict):
        return "" if stored is None or stored is False else str(stored)
    params = {name: render_message(value, gettext) for name, value in (stored.get("params") or {}).items()}
    if stored.get("code") in EXPLANATIONS:
        return explain(stored["code"], params, gettext)
    if isinstance(stored.get("template"), str):
        return render(stored["template"], params, gettext)
    return str(stored.get("code") or "")


def _storable(params):
    """Parameters as JSON: a core ``Text`` becomes a message, numbers and messages stay, the rest is text."""
    values = {}
    for name, value in params.items():
        if isinstance(value, Text):
            value = message(value.template, **value.params)
        elif not isinstance(value, (dict, int, float, str)) and value is not None:
            value = str(value)
        values[name] = value
    return values
