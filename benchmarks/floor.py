"""The protocol floor: the same handshakes and logins as an account check, with bare stdlib clients.

Standard library only, so both the project's Python and Odoo's can time it beside the check they
compare with. One call: SMTP STARTTLS + EHLO + AUTH + MAIL FROM/RCPT TO the own address + RSET + QUIT,
then IMAP over SSL + LOGIN + EXAMINE INBOX + LOGOUT, one after the other, certificates verified
against the same trust as the check: the system store plus ``cafile`` (loading the system store
costs tens of milliseconds per context; ``system_store=False`` trusts ``cafile`` only).
"""

import imaplib
import smtplib
import ssl


def bare_check(host, smtp_port, imaps_port, login, password, sender, cafile, timeout=10, system_store=True):
    context = ssl.create_default_context() if system_store else ssl.create_default_context(cafile=cafile)
    if system_store:
        context.load_verify_locations(cafile=cafile)
    with smtplib.SMTP(host, smtp_port, timeout=timeout) as smtp:
        smtp.ehlo()
        smtp.starttls(context=context)
        smtp.ehlo()
        smtp.login(login, password)
        _expect(smtp.mail(sender), 250)
        _expect(smtp.rcpt(sender), 250)
        smtp.rset()
    imap = imaplib.IMAP4_SSL(host, imaps_port, ssl_context=context, timeout=timeout)
    try:
        imap.login(login, password)
        _expect(imap.select("INBOX", readonly=True), "OK")
    finally:
        imap.logout()


def _expect(reply, wanted):
    if reply[0] != wanted:
        raise RuntimeError(f"unexpected reply {reply!r}")
