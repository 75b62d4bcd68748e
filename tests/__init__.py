import importlib.util

from . import (
    test_access,
    test_check_progress,
    test_email_account,
    test_email_account_discovery,
    test_email_account_setup,
    test_health_check,
    test_hostile_servers,
    test_i18n,
    test_mail_fetching,
    test_mail_flow,
    test_mail_flow_status,
    test_mail_sending,
    test_multi_company,
    test_oauth_sign_in,
    test_right_to_left,
    test_security,
    test_ui_tour,
    test_validation,
)

# Only where OCA queue_job is on the addons path: the Odoo tier's second database, which installs it.
if importlib.util.find_spec("odoo.addons.queue_job"):
    from . import test_queue_jobs, test_queue_worker_kill
