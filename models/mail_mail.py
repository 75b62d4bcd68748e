"""Queued mail is routed in the company of the record it belongs to, as mail sent at once is.

The mail queue runs as one user in one company; without this, an address that two companies each have
an account for would be routed by the queue's company (see ``ir.mail_server._find_mail_server``).
"""

from odoo import models


class MailMail(models.Model):
    _inherit = "mail.mail"

    def _split_by_mail_configuration(self):
        for company, mails in self.grouped(lambda mail: mail.record_company_id).items():
            if company and (self.env.su or company in self.env.user.company_ids):
                mails = mails.with_company(company)
            yield from super(MailMail, mails)._split_by_mail_configuration()
