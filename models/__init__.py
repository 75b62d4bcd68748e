from . import email_account_password_mixin, email_account_settings_mixin, email_account, email_account_message
from . import email_account_job, email_account_linked_server_mixin, fetchmail_server, ir_mail_server
from . import ir_ui_menu, mail_mail, email_account_check_progress
from . import email_account_oauth
from . import email_account_mail_use, ir_mail_server_sender, mail_thread
