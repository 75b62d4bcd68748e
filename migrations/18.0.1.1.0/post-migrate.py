"""Up to 18.0.1.0.0 the linked stock servers held a copy of the account's password, which nothing read:
from 18.0.1.1.0 the account alone holds it."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    accounts = env["email.account"].with_context(active_test=False).search([])
    accounts.mail_server_id.write({"smtp_pass": False})
    accounts.fetchmail_server_id.write({"password": False})
