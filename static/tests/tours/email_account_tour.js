/** @odoo-module **/

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

// The harness's address, password, host and ports, which only the Python test knows: it sets
// window.emailAccountTour before starting the tour, so they are read when a step runs.
const edit = (key) => (helpers) => helpers.edit(String(window.emailAccountTour[key]));
const field = (name) => `.modal .o_field_widget[name=${name}] input`;
const next = { content: "Next", trigger: ".modal button[name=action_next]", run: "click" };

registry.category("web_tour.tours").add("email_account_setup_tour", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            content: "Open Settings",
            trigger: '.o_app[data-menu-xmlid="base.menu_administration"]',
            run: "click",
        },
        {
            content: "Open Master Data",
            trigger: '.o_main_navbar [data-menu-xmlid="email_account.email_account_menu_master_data"]',
            run: "click",
        },
        {
            content: "Open Email Accounts",
            trigger: '.o-dropdown--menu [data-menu-xmlid="email_account.email_account_menu"]',
            run: "click",
        },
        {
            content: "New opens the setup wizard",
            trigger: ".o_control_panel button.btn-primary:contains(New)",
            run: "click",
        },
        { content: "Type the address", trigger: field("email"), run: edit("email") },
        { content: "Type the password", trigger: field("password_input"), run: edit("password") },
        { content: "Choose the manual setup", trigger: field("manual"), run: "click" },
        next,
        { content: "Outgoing server", trigger: field("smtp_host"), run: edit("host") },
        {
            content: "STARTTLS",
            trigger: '.modal .o_field_widget[name=smtp_security] input[data-value="starttls"]',
            run: "click",
        },
        { content: "Outgoing port", trigger: field("smtp_port"), run: edit("smtpPort") },
        next,
        { content: "Incoming server", trigger: field("incoming_host"), run: edit("host") },
        { content: "Incoming port", trigger: field("incoming_port"), run: edit("incomingPort") },
        next,
        { content: "Description", trigger: field("name"), run: "edit Tour mailbox" },
        { ...next, content: "Check and create" },
        { content: "The check succeeded", trigger: ".modal .alert-success:visible" },
        { content: "Open the account", trigger: ".modal button[name=action_open_account]", run: "click" },
        {
            content: "The account works",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains(Working)",
        },
    ],
});
