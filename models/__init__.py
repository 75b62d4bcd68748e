from . import email_account_settings_mixin, email_account, email_account_message, fetchmail_server, ir_mail_server
from . import ir_ui_menu, mail_mail
