from . import email_account_settings_mixin, email_account
