from . import email_account_setup
