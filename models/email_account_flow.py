"""What Odoo's own mail flow through an account can run into, as codes and parameters rendered late.

A send or a fetch that fails on the server keeps the core's code (``mailcore/errors.py``) and its
parameters; what only Odoo's side of the flow knows (mail fetched but not placed, mail that failed
to import) has a code of its own here. Each is shown in the reader's language, with what failed, the
likely cause and what to change, and puts the account in the *Needs Attention* state until the flow
works again.
"""

from .. import mailcore
from ..mailcore.text import _lt

# Stock mail.thread.message_route ends with this (untranslated) ValueError when a message answers no
# thread of Odoo's, matches no alias and the server names no model for new mail.
NO_ROUTE = "No possible route found"

FLOW_EXPLANATIONS = {
    "unplaced": (
        _lt("New messages with no place in Odoo: %(count)s. Choose where new mail goes."),
        _lt(
            "They answer no message of Odoo's, and neither an alias nor the incoming server says which "
            "kind of record new mail creates."
        ),
        _lt(
            "Choose where new mail goes on the account (or the incoming server's 'Create a New Record'). Until "
            "then they stay unread in the mailbox and are tried again at each fetch."
        ),
    ),
    "import_failed": (
        _lt("Messages Odoo could not import: %(count)s (%(error)s)."),
        _lt("Odoo refused them: a record they create or answer is invalid, or an app is missing."),
        _lt("Read the error and fix its cause; the messages stay in the mailbox and are tried again at each fetch."),
    ),
}

# What a passing connection check proves fixed: every server failure but a refused sender or
# recipient (the check sends as the account's own address; mail in the flow may name another one).
CHECK_CLEARS = frozenset(mailcore.ERROR_CODES) - {"sender_rejected", "recipient_rejected"}


def explain_flow(code, params, gettext):
    """The explanation of a flow failure: what failed, likely cause, what to change."""
    return mailcore.explain(code, params, gettext, FLOW_EXPLANATIONS if code in FLOW_EXPLANATIONS else None)


def stored_params(params, clean):
    """``params`` as JSON values, each text made safe to show by ``clean`` (a server's words included)."""
    return {
        str(name): value if isinstance(value, int | float | bool) or value is None else clean(str(value))
        for name, value in (params or {}).items()
    }
