from . import email_account_password, email_account_setup
from . import email_account_setup_oauth
