"""Protocol core of email_account: connection checks (and, later, discovery) for mail accounts.

Pure Python with no Odoo import, so it is tested on its own against real servers; the addon's
models and wizards are thin glue over it.
"""

from .batch import DEFAULT_CONCURRENCY, check_many
from .check import AccountResult, CheckResult, check_account, check_server
from .errors import CERTIFICATE_CODES, ERROR_CODES, STAGES, TRUSTABLE_CERTIFICATE_CODES, CheckFailure, explain
from .mailbox import MailboxError, open_mailbox
from .message import error_message, message, render_message
from .progress import Progress, run_aside
from .sanitize import sanitize
from .session import open_session
from .settings import DEFAULT_PORTS, DEFAULT_TIMEOUT, Secret, ServerSettings, default_port
from .validation import InvalidValue, check_length, check_line, check_port, check_timeout, wire_email, wire_host

__all__ = [
    "CERTIFICATE_CODES",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_PORTS",
    "DEFAULT_TIMEOUT",
    "ERROR_CODES",
    "STAGES",
    "TRUSTABLE_CERTIFICATE_CODES",
    "AccountResult",
    "CheckFailure",
    "CheckResult",
    "InvalidValue",
    "MailboxError",
    "Progress",
    "Secret",
    "ServerSettings",
    "check_account",
    "check_length",
    "check_line",
    "check_many",
    "check_port",
    "check_server",
    "check_timeout",
    "default_port",
    "error_message",
    "explain",
    "message",
    "open_mailbox",
    "open_session",
    "render_message",
    "run_aside",
    "sanitize",
    "wire_email",
    "wire_host",
]
