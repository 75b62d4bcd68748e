{
    "name": "Email Accounts",
    "version": "18.0.1.5.0",
    "category": "Productivity/Discuss",
    "summary": "Set up a mailbox for sending and receiving in one guided, checked step",
    "author": "email_account contributors",
    "license": "LGPL-3",
    "depends": ["mail"],
    "external_dependencies": {"python": ["scramp", "cryptography", "dnspython", "lxml"]},
    "data": [
        "security/email_account_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron.xml",
        "data/ir_actions_server.xml",
        "wizards/email_account_password_views.xml",
        "wizards/email_account_setup_views.xml",
        "views/email_account_views.xml",
        "views/ir_mail_server_views.xml",
        "views/fetchmail_server_views.xml",
        "views/email_account_menus.xml",
        "views/res_config_settings_views.xml",
    ],
    "uninstall_hook": "uninstall_hook",
    "assets": {
        "web.assets_backend": [
            "email_account/static/src/views/*",
            "email_account/static/src/check_progress/*",
        ],
        "web.assets_tests": [
            "email_account/static/tests/tours/*.js",
        ],
    },
}
