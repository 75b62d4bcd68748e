"""The sender of mail that goes out through an email account: always one its login owns.

Odoo's own mechanisms choose it: the account's ``from_filter`` (its address) and, for an account that
sends all of the company's mail, the alias domain's ``default_from`` (email_account_mail_use), which
make ``_prepare_email_message`` write "User Name <account address>". Two places would still hand
an account's login a sender it does not own, and are closed here: stock's last resort in
``_find_mail_server`` (the first server, whatever it serves) and a mail whose server was chosen for
it (``mail_server_id``) with someone else's ``From``.
"""

from odoo import models
from odoo.tools import email_normalize
from odoo.tools.mail import encapsulate_email


class IrMailServer(models.Model):
    _inherit = "ir.mail_server"

    def _find_mail_server(self, email_from, mail_servers=None):
        server, smtp_from = super()._find_mail_server(email_from, mail_servers=mail_servers)
        if server and server.sudo().email_account_ids and not self._match_from_filter(smtp_from, server.from_filter):
            if mail_servers is None:
                mail_servers = self.sudo().search([], order="sequence")
            return super()._find_mail_server(
                email_from, mail_servers=mail_servers.filtered(lambda other: not other.sudo().email_account_ids)
            )
        return server, smtp_from

    def _prepare_email_message(self, message, smtp_session):
        smtp_from, smtp_to_list, message = super()._prepare_email_message(message, smtp_session)
        account = getattr(smtp_session, "email_account", None)
        if account is None:
            return smtp_from, smtp_to_list, message
        owned = account.email
        if email_normalize(message["From"]) != email_normalize(owned):
            # The author's name stays; the address becomes the account's (Reply-To is left as Odoo set it).
            sender = encapsulate_email(message["From"] or owned, owned)
            del message["From"]
            message["From"] = sender
        if email_normalize(smtp_from) != email_normalize(owned):
            smtp_from = email_normalize(owned) or owned
        return smtp_from, smtp_to_list, message
