from . import test_email_account, test_email_account_setup, test_ui_tour
