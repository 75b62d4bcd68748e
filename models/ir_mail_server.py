"""Odoo's outgoing mail through an email account's server, with the account's settings.

Stock ``ir.mail_server`` knows no safe logon, certificate policy or POP-before-SMTP, and does not
verify certificates. A server linked to an account connects through the core instead; every other
server, and the test mode in which Odoo sends nothing, stay exactly as stock Odoo has them.
"""

import contextlib
import smtplib

from odoo import fields, models, modules
from odoo.addons.base.models.ir_mail_server import MailDeliveryException


def _delivery_text(error):
    """What stock Odoo says of a failed delivery, without the title it adds again."""
    if isinstance(error, MailDeliveryException) and len(error.args) > 1:
        return str(error.args[1])
    return f"{type(error).__name__}: {error}"


class IrMailServer(models.Model):
    _name = "ir.mail_server"
    _inherit = ["ir.mail_server", "email.account.linked.server.mixin"]

    email_account_ids = fields.One2many("email.account", "mail_server_id", readonly=True)

    def connect(
        self,
        host=None,
        port=None,
        user=None,
        password=None,
        encryption=None,
        smtp_from=None,
        ssl_certificate=None,
        ssl_private_key=None,
        smtp_debug=False,
        mail_server_id=None,
        allow_archived=False,
    ):
        server, smtp_from_used = self._email_account_server(host, mail_server_id, smtp_from, allow_archived)
        if not server:
            return super().connect(
                host, port, user, password, encryption, smtp_from, ssl_certificate, ssl_private_key,
                smtp_debug, mail_server_id, allow_archived,
            )  # fmt: skip
        account = server.email_account_ids[:1]
        connection = account._open_session("outgoing")
        connection.set_debuglevel(smtp_debug or server.smtp_debug)
        # What stock sessions carry for _prepare_email_message, and the account to report to.
        connection.from_filter = server.from_filter
        connection.smtp_from = smtp_from_used
        connection.email_account = account
        return connection

    def test_smtp_connection(self, autodetect_max_email_size=False):
        """A server of an account is tested by the account's check: its settings, its report. Detecting
        the size limit stays stock's, over the account's connection (see ``connect``)."""
        if not autodetect_max_email_size:
            result = self._email_account_test()
            if result is not None:
                return result
        return super().test_smtp_connection(autodetect_max_email_size=autodetect_max_email_size)

    def _email_account_server(self, host, mail_server_id, smtp_from, allow_archived):
        """The usable server linked to an account that this connection would use, and the envelope
        sender it would use; an empty server when stock behaviour applies."""
        if modules.module.current_test or host:
            return self.browse(), smtp_from
        if mail_server_id:
            server = self.sudo().browse(mail_server_id)
            if not (server.active or allow_archived):
                return self.browse(), smtp_from  # stock refuses archived servers with its own message
        else:
            server, smtp_from = self.sudo()._find_mail_server(smtp_from)
        if not server or server.smtp_authentication == "cli" or not server.email_account_ids:
            return self.browse(), smtp_from
        server.email_account_ids[:1].with_env(self.env)._ensure_caller_may_use()
        return server, smtp_from

    def send_email(
        self,
        message,
        mail_server_id=None,
        smtp_server=None,
        smtp_port=None,
        smtp_user=None,
        smtp_password=None,
        smtp_encryption=None,
        smtp_ssl_certificate=None,
        smtp_ssl_private_key=None,
        smtp_debug=False,
        smtp_session=None,
    ):
        stock_args = (
            smtp_server, smtp_port, smtp_user, smtp_password, smtp_encryption,
            smtp_ssl_certificate, smtp_ssl_private_key, smtp_debug,
        )  # fmt: skip
        if smtp_session is None and not smtp_server:
            server, _smtp_from = self._email_account_server(None, mail_server_id, message["From"], False)
            if server:
                # Open the account's session here, so its outcome is known; stock code then sends on it.
                session = self.connect(smtp_from=message["From"], smtp_debug=smtp_debug, mail_server_id=mail_server_id)
                try:
                    return self.send_email(message, mail_server_id, *stock_args, smtp_session=session)
                finally:
                    with contextlib.suppress(smtplib.SMTPException, OSError):
                        session.quit()
        account = getattr(smtp_session, "email_account", None)
        if account is None:
            return super().send_email(message, mail_server_id, *stock_args, smtp_session=smtp_session)
        try:
            message_id = super().send_email(message, mail_server_id, *stock_args, smtp_session=smtp_session)
        except AssertionError:  # stock's verdict on the addresses, before any server was involved
            raise
        except Exception as error:  # noqa: BLE001 - every other failure of this send is the mail's, reported
            # Stock wraps what the server said into a MailDeliveryException: the server's error is its context.
            cause = error if isinstance(error, smtplib.SMTPException | OSError) else error.__context__
            failure = smtp_session.send_failure(cause) if cause is not None else None
            if failure:
                account._mail_flow_failed("outgoing", failure.code, failure.params)
            # Always a delivery failure of this mail, with the server's words sanitised: stock re-raises a
            # lost connection as it is, which stops the whole mail queue, other accounts' mail included.
            raise MailDeliveryException(
                self.env._("Mail Delivery Failed"), account._sanitize(_delivery_text(error))
            ) from None
        account._mail_flow_succeeded("outgoing")
        return message_id

    def _find_mail_server(self, email_from, mail_servers=None):
        """Two companies may each have an account for one address, so two servers share a from_filter:
        stock routing would take the first. Route by the sending company (``self.env.company``: the
        company of the mail's record, see mail.mail, else the user's current one): its accounts'
        servers first, servers of no account next, and never the account of another company."""
        if mail_servers is None:
            mail_servers = self.sudo().search([], order="sequence")
        company = self.env.company
        own, others = [], []
        for server in mail_servers.sudo():  # accounts are company-restricted; routing sees them all
            companies = server.email_account_ids.company_id
            if company in companies:
                own.append(server.id)
            elif not companies:
                others.append(server.id)
        return super()._find_mail_server(email_from, mail_servers=mail_servers.browse(own + others))
