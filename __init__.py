from . import controllers, models, wizards


def uninstall_hook(env):
    """Stock Odoo would go on using the linked servers its own way: a STARTTLS mailbox fetched in plain
    text, no certificate pinning or safe logon. Archived (and holding no password), they are used no more."""
    accounts = env["email.account"].sudo().with_context(active_test=False).search([])
    accounts.mail_server_id.write({"active": False})
    accounts.fetchmail_server_id.write({"active": False})
