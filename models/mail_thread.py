"""New mail in an email account's mailbox goes where the account says, never back to its sender.

When an account sends all of its company's mail and also receives, its address is the alias domain's
catchall (so ``Reply-To`` reaches the mailbox Odoo fetches). Stock routing bounces mail written
directly to a catchall; for the mailbox itself that would bounce every new message, so while the
account's own mailbox is fetched its address is not a catchall: new mail goes to the account's
chosen model (``fetchmail.server.object_id``), stays in the mailbox when the account says so
(``NewMailStays``), or else is not placed (stock's "no route", which the account's status counts).
"""

from odoo import api, models
from odoo.tools import email_normalize

# Set by the fetch of an account's mailbox: that account's address, and whether its new mail stays there.
MAILBOX_CONTEXT = "email_account_mailbox"
STAYS_CONTEXT = "email_account_new_mail_stays"


class NewMailStays(Exception):  # a decision, not an error
    """A message that answers nothing Odoo sent, in a mailbox whose new mail has no destination."""


class MailThread(models.AbstractModel):
    _inherit = "mail.thread"

    @api.model
    def _detect_write_to_catchall(self, msg_dict):
        mailbox = self.env.context.get(MAILBOX_CONTEXT)
        if not mailbox:
            return super()._detect_write_to_catchall(msg_dict)
        catchalls = self.env.context.get("mail_catchall_aliases")
        if catchalls is None:
            catchalls = self.env["mail.alias.domain"].search([]).mapped("catchall_email")
        others = [address for address in catchalls if email_normalize(address) != email_normalize(mailbox)]
        if not others:
            return False
        return super(MailThread, self.with_context(mail_catchall_aliases=others))._detect_write_to_catchall(msg_dict)

    @api.model
    def message_route(self, message, message_dict, model=None, thread_id=None, custom_values=None):
        try:
            return super().message_route(message, message_dict, model, thread_id, custom_values)
        except ValueError:
            # message_route's answer for "no route": in the account's mailbox, without a destination, it stays.
            if self.env.context.get(STAYS_CONTEXT) and not model:
                raise NewMailStays() from None
            raise
