"""A message Odoo imported from an account's mailbox, remembered by its server key.

The key (IMAP UID with the mailbox's UIDVALIDITY, or POP3 UIDL) is what lets a mailbox that keeps
its copies be fetched again and again without importing anything twice, and tells the fetch when a
copy is due for deletion. The row goes once the message is no longer on the server.
"""

from odoo import fields, models


class EmailAccountMessage(models.Model):
    _name = "email.account.message"
    _description = "Email Account Imported Message"
    _order = "imported_date, id"

    account_id = fields.Many2one("email.account", required=True, index=True, ondelete="cascade")
    uidvalidity = fields.Char("UIDVALIDITY", required=True, help="'UIDL' for POP3, whose keys need none.")
    uid = fields.Char("Server Key", required=True, help="The IMAP UID or POP3 UIDL of the message.")
    imported_date = fields.Datetime(required=True, default=fields.Datetime.now)
    message_id = fields.Char("Message-ID")
    left_in_mailbox = fields.Boolean(
        help="New mail the account has no destination for: Odoo left it in the mailbox and never deletes it."
    )

    _sql_constraints = [
        (
            "key_uniq",
            "unique (account_id, uidvalidity, uid)",
            "A message of a mailbox is imported only once.",
        ),
    ]
