from . import (
    test_access,
    test_email_account,
    test_email_account_discovery,
    test_email_account_setup,
    test_health_check,
    test_hostile_servers,
    test_i18n,
    test_mail_fetching,
    test_mail_sending,
    test_multi_company,
    test_ui_tour,
    test_validation,
)
