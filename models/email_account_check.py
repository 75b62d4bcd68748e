"""The connection check of an account's (or a wizard's) settings, and its report per server: where,
whether it worked, what worked, what failed and the certificate. The report is data (codes and
parameters), rendered in the reader's language when shown: as HTML by the wizard, as text on the
account's last check."""

from odoo.exceptions import ValidationError

from .. import mailcore
from ..mailcore.text import _lt, render
from .email_account_check_progress import run_watched
from .email_account_sides import SIDES

CA_FILE_PARAMETER = "email_account.ca_file"
# "True": anyone who checks or uses an account may reach addresses inside this network (loopback,
# private, link-local), discovery included. Otherwise only administrators may, on the manual path.
INTERNAL_HOSTS_PARAMETER = "email_account.allow_internal_hosts"


def internal_hosts_allowed(env):
    """Whether the system parameter lets everyone (and discovery) reach addresses inside this network."""
    return env["ir.config_parameter"].sudo().get_param(INTERNAL_HOSTS_PARAMETER) == "True"


def server_settings(settings):
    """{side: mailcore.ServerSettings} of the sides ``settings`` (an account or a wizard) uses."""
    settings.ensure_one()
    common = {
        "login": settings.login or settings.email,
        "sender": mailcore.wire_email(settings.email),
        "cafile": settings.env["ir.config_parameter"].sudo().get_param(CA_FILE_PARAMETER, ""),
        # Whoever may not read the password may not probe this network either (banners, open ports).
        "allow_internal": settings._may_read_password() or internal_hosts_allowed(settings.env),
    }
    return {
        name: mailcore.ServerSettings(**SIDES[name].core_values(settings), **common, **settings._credentials(name))
        for name in settings._sides_in_use()
    }


def check_arguments(settings):
    """The keyword arguments of mailcore.check_account for ``settings`` (ValueError if unusable)."""
    servers = server_settings(settings)
    return {
        "outgoing": servers.get("outgoing") if settings.use_for_sending else None,
        "incoming": servers.get("incoming"),
        "timeout": settings.timeout,
        "login_before_send": settings.use_for_sending and settings.smtp_login_before_send,
    }


def run_check(settings, watched=False):
    """Check the servers in use; never raises for a server's fault (the core reports it instead).
    ``watched``: show the check's progress to the caller's browser and let it cancel (run_watched);
    then returns (result, cancelled)."""
    settings.ensure_one()
    try:
        arguments = check_arguments(settings)  # here, in the request's thread: the ORM is not thread-safe
    except ValueError as error:  # e.g. a line break pasted into the login: the user's to fix
        raise ValidationError(
            settings.env._("These settings cannot be checked: %(reason)s", reason=settings._explain(error))
        ) from error
    if not watched:
        return mailcore.check_account(**arguments)
    return run_watched(settings, lambda progress: mailcore.check_account(**arguments, progress=progress))


def check_report(settings, result):
    """The report of ``result`` (a mailcore AccountResult) checked with ``settings`` (an account or a
    wizard), as data to store: one entry per server with its side, server, security code, ok, what
    worked and the problem as stored messages (``mailcore.message``), and the certificate."""
    report = []
    for side in SIDES.values():
        item = getattr(result, side.name)
        if item is None:
            continue
        report.append(
            {
                "side": side.name,
                "server": f"{item.protocol.upper()} {item.host}:{item.port}",
                "security": item.security,
                "ok": item.ok,
                "worked": _achievements(settings, item, settings[side.field("tls_policy")]),
                "problem": mailcore.error_message(item.code, item.params) if item.code else None,
                "certificate": item.facts.get("certificate") if item.code in mailcore.CERTIFICATE_CODES else None,
            }
        )
    return report


def shown_report(env, report):
    """A stored report (``check_report``) in the language of ``env``: title, server, security, ok,
    worked (lines), problem and certificate of each server."""
    _ = env._
    security_labels = dict(env["email.account.settings.mixin"]._fields["smtp_security"]._description_selection(env))
    return [
        {
            **server,
            "title": render(SIDES[server["side"]].label, {}, _),
            "security": security_labels.get(server["security"], server["security"]),
            "worked": [mailcore.render_message(line, _) for line in server["worked"]],
            "problem": mailcore.render_message(server["problem"], _),
        }
        for server in report
    ]


def report_text(env, report):
    """A stored report as plain text in the language of ``env``, for the account's last check."""
    lines = []
    for server in shown_report(env, report):
        status = env._("OK") if server["ok"] else env._("failed")
        lines.append(f"{server['title']} ({server['server']}, {server['security']}): {status}")
        lines.extend(f"  - {line}" for line in server["worked"])
        if server["problem"]:
            lines.append(f"  {server['problem']}")
    return "\n".join(lines)


def _achievements(settings, item, tls_policy):
    """What the check got through, from the facts it gathered, so a failure still shows progress."""
    facts = item.facts
    worked = []
    if facts.get("address"):
        worked.append(
            mailcore.message(_lt("Connected to %(host)s (%(address)s)."), host=item.host, address=facts["address"])
        )
    if facts.get("tls_version") and item.code not in mailcore.CERTIFICATE_CODES:
        worked.append(mailcore.message(_lt("Encrypted with %(version)s."), version=facts["tls_version"]))
        if facts.get("certificate"):
            worked.append(_certificate_line(facts["certificate"], tls_policy))
    if facts.get("auth_mechanisms"):
        worked.append(
            mailcore.message(_lt("Login methods offered: %(methods)s."), methods=", ".join(facts["auth_mechanisms"]))
        )
    if facts.get("login_method") and (item.ok or item.stage != "auth"):
        worked.append(mailcore.message(_lt("Logged in with %(method)s."), method=facts["login_method"]))
    if "messages" in facts:
        worked.append(
            mailcore.message(_lt("Opened the mailbox; messages in it: %(count)s."), count=facts["messages"])
        )
    if item.ok and item.protocol == "smtp":
        worked.append(mailcore.message(_lt("The server accepts mail from %(email)s."), email=settings.email))
    return worked


def _certificate_line(certificate, tls_policy):
    fields = {name: certificate.get(name) for name in ("subject", "issuer", "not_after")}
    if tls_policy == "pin":
        return mailcore.message(
            _lt("Certificate of %(subject)s, valid until %(not_after)s, trusted by its fingerprint."), **fields
        )
    if tls_policy == "any":
        return mailcore.message(_lt("Certificate of %(subject)s accepted without verification."), **fields)
    return mailcore.message(
        _lt("Certificate of %(subject)s issued by %(issuer)s, valid until %(not_after)s."), **fields
    )
