"""Marking the core's user-facing sentences for translation, without importing Odoo.

``_lt("...")`` returns its text unchanged. Odoo's translation exporter collects every ``_lt("...")``
and ``_("...")`` literal under the addon's folder, this core included, so these very sentences are in
the addon's template and the addon translates them at display time: one source, no copy to drift.
Placeholders are ``%(name)s``, the form Odoo's translation tools check.
"""


def _lt(text):
    return text


class Defaults(dict):
    """Fill a placeholder the parameters do not provide with '?', so rendering never raises."""

    def __missing__(self, key):
        return "?"


def identity(text):
    """The default ``gettext`` of the core's renderers: English as written."""
    return text


def render(template, params, gettext=identity):
    """``template`` translated by ``gettext`` and filled with ``params`` (missing ones show '?')."""
    return gettext(template) % Defaults(params)


class Text:
    """A sentence kept as its template and parameters until it is shown, so the reader's language
    applies. A parameter may itself be a Text, or a function of ``gettext`` (e.g. a bound
    ``Configuration.describe``); anything else (a server's reply, say) is shown as it is."""

    __slots__ = ("params", "template")

    def __init__(self, template, **params):
        self.template = template
        self.params = params

    def render(self, gettext=identity):
        values = {
            name: value.render(gettext) if isinstance(value, Text) else value(gettext) if callable(value) else value
            for name, value in self.params.items()
        }
        return render(self.template, values, gettext)

    def __str__(self):
        return self.render()
