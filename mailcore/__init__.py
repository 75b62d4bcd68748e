"""Protocol core of email_account: connection checks (and, later, discovery) for mail accounts.

Pure Python with no Odoo import, so it is tested on its own against real servers; the addon's
models and wizards are thin glue over it.
"""

from .check import AccountResult, CheckResult, check_account, check_server
from .errors import CERTIFICATE_CODES, ERROR_CODES, STAGES, CheckFailure, explain
from .settings import DEFAULT_PORTS, DEFAULT_TIMEOUT, Secret, ServerSettings, default_port

__all__ = [
    "CERTIFICATE_CODES",
    "DEFAULT_PORTS",
    "DEFAULT_TIMEOUT",
    "ERROR_CODES",
    "STAGES",
    "AccountResult",
    "CheckFailure",
    "CheckResult",
    "Secret",
    "ServerSettings",
    "check_account",
    "check_server",
    "default_port",
    "explain",
]
