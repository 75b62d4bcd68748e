"""The protocol floor: the same handshakes and logins as an account check, with bare stdlib clients.

Standard library only, so both the project's Python and Odoo's can time it beside the check they
compare with. One call: SMTP STARTTLS + EHLO + AUTH + MAIL FROM/RCPT TO the own address + QUIT, and
IMAP over SSL + LOGIN + EXAMINE INBOX + LOGOUT, certificates verified against the same trust as the
check (the system store plus ``cafile``, loaded once, as the check does). ``concurrent``: the two
servers at once, as the check runs them; otherwise one after the other.
"""

import functools
import imaplib
import smtplib
import ssl
import threading


@functools.lru_cache
def context(cafile):
    trusted = ssl.create_default_context()
    trusted.load_verify_locations(cafile=cafile)
    return trusted


def bare_check(host, smtp_port, imaps_port, login, password, sender, cafile, concurrent=False, timeout=10):
    def smtp():
        with smtplib.SMTP(host, smtp_port, timeout=timeout) as client:
            client.ehlo()
            client.starttls(context=context(cafile))
            client.ehlo()
            client.login(login, password)
            _expect(client.mail(sender), 250)
            _expect(client.rcpt(sender), 250)

    def imap():
        client = imaplib.IMAP4_SSL(host, imaps_port, ssl_context=context(cafile), timeout=timeout)
        try:
            client.login(login, password)
            _expect(client.select("INBOX", readonly=True), "OK")
        finally:
            client.logout()

    if not concurrent:
        smtp()
        imap()
        return
    failures = []

    def imap_beside():
        try:
            imap()
        except Exception as error:  # noqa: BLE001 - re-raised in the calling thread
            failures.append(error)

    beside = threading.Thread(target=imap_beside)
    beside.start()
    smtp()
    beside.join()
    if failures:
        raise failures[0]


def _expect(reply, wanted):
    if reply[0] != wanted:
        raise RuntimeError(f"unexpected reply {reply!r}")
