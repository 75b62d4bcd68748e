/** @odoo-module **/

import { registry } from "@web/core/registry";
import { openSetupWizard } from "./email_account_tour_utils";

// The harness's address, password, host and ports, which only the Python test knows: it sets
// window.emailAccountTour before starting the tour, so they are read when a step runs.
const edit = (key) => (helpers) => helpers.edit(String(window.emailAccountTour[key]));
const field = (name) => `.modal .o_field_widget[name=${name}] input`;
const next = { content: "Next", trigger: ".modal button[name=action_next]", run: "click" };
const step = (text) => ({
    content: `The wizard says ${text}`,
    trigger: `.modal .o_email_account_step:contains(${text})`,
});
const advanced = (name) => ({
    content: `${name} is under Advanced`,
    trigger: `.modal .o_inner_group:contains(Advanced) .o_field_widget[name=${name}]`,
});

registry.category("web_tour.tours").add("email_account_setup_tour", {
    url: "/odoo",
    steps: () => [
        ...openSetupWizard(),
        step("Step 1 of 3"),
        { content: "Type the address", trigger: field("email"), run: edit("email") },
        { content: "Choose the manual setup", trigger: field("manual"), run: "click" },
        step("Step 1 of 6"),
        { ...next, content: "Next without a password" },
        {
            content: "An empty password is refused at its step",
            trigger: ".o_error_dialog:contains(Enter the password)",
        },
        { content: "Close the message", trigger: ".o_error_dialog .modal-footer .btn-primary", run: "click" },
        { content: "Type the password", trigger: field("password_input"), run: edit("password") },
        next,
        step("Step 2 of 6"),
        advanced("smtp_safe_logon"),
        advanced("smtp_login_before_send"),
        { content: "Outgoing server", trigger: field("smtp_host"), run: edit("host") },
        {
            content: "STARTTLS",
            trigger: '.modal .o_field_widget[name=smtp_security] input[data-value="starttls"]',
            run: "click",
        },
        { content: "Outgoing port", trigger: field("smtp_port"), run: edit("smtpPort") },
        next,
        step("Step 3 of 6"),
        advanced("incoming_safe_logon"),
        { content: "Incoming server", trigger: field("incoming_host"), run: edit("host") },
        { content: "Incoming port", trigger: field("incoming_port"), run: edit("incomingPort") },
        next,
        step("Step 4 of 6"),
        { content: "Description", trigger: field("name"), run: "edit Tour mailbox" },
        next,
        step("Step 5 of 6"),
        {
            content: "How Odoo uses this mailbox: all of the company's mail",
            trigger: '.modal .o_field_widget[name=send_scope] input[data-value="company"]',
            run: "click",
        },
        {
            content: "Mail from users goes out under their name at this address",
            trigger: ".modal .o_field_widget[name=sending_summary]:contains(User Name <)",
        },
        {
            content: "IMAP keeps every message",
            trigger: ".modal .o_field_widget[name=keeping_summary]:contains(never deletes)",
        },
        {
            content: "The days to keep copies: a number's width, not the row's",
            trigger: ".modal .o_field_widget.o_email_account_days",
            run() {
                if (this.anchor.offsetWidth > 100) {
                    throw new Error(`the days field is ${this.anchor.offsetWidth} px wide`);
                }
            },
        },
        { ...next, content: "Check and create" },
        { content: "The check succeeded", trigger: ".modal .alert-success:visible" },
        step("Step 6 of 6"),
        { content: "Open the account", trigger: ".modal button[name=action_open_account]", run: "click" },
        {
            content: "The account works: a badge, not a step bar",
            trigger: ".o_form_view .o_field_widget[name=state] .badge:contains(Working)",
        },
        {
            content: "Check the one account",
            trigger: ".o_form_view button[name=action_check_connection]",
            run: "click",
        },
        {
            content: "Its own result, not a summary of one",
            trigger: ".o_notification:contains(Tour mailbox works):not(:contains(working,))",
        },
        { content: "Reconfigure", trigger: ".o_form_view button[name=action_reconfigure]", run: "click" },
        { ...next, content: "Keep the address and the saved password" },
        { ...next, content: "Keep the outgoing server" },
        step("Step 3 of 6"),
        {
            content: "Point the incoming server at one with an expired certificate",
            trigger: field("incoming_port"),
            run: edit("expiredPort"),
        },
        next,
        { ...next, content: "Keep how Odoo uses the mailbox" },
        { ...next, content: "Check" },
        {
            content: "An expired certificate must be renewed, says the check",
            trigger: ".modal .alert-danger:visible ~ * .text-danger:contains(must renew its certificate)",
        },
        {
            content: "and it offers no one-click trust",
            trigger: ".modal:not(:has(button[name=action_trust_incoming_certificate]:visible)) .alert-danger:visible",
        },
        { content: "Cancel", trigger: ".modal .modal-footer button:contains(Cancel)", run: "click" },
        { content: "The incoming server's tab", trigger: ".o_notebook a[name=incoming]", run: "click" },
        {
            content: "Trust a pinned certificate",
            trigger: ".o_field_widget[name=incoming_tls_policy] select",
            run: 'select "pin"',
        },
        {
            content: "The fingerprint has the whole row",
            trigger: ".o_field_widget[name=incoming_pinned_fingerprint] textarea",
            run(helpers) {
                helpers.edit("ab".repeat(32));
                if (this.anchor.offsetWidth < 2 * this.anchor.closest(".o_notebook").offsetWidth / 3) {
                    throw new Error(`the fingerprint is ${this.anchor.offsetWidth} px wide`);
                }
            },
        },
        { content: "Discard", trigger: ".o_form_button_cancel", run: "click" },
        { content: "Open the actions", trigger: ".o_cp_action_menus .dropdown-toggle", run: "click" },
        { content: "Delete", trigger: ".o-dropdown--menu .dropdown-item:contains(Delete)", run: "click" },
        {
            content: "The dialog says the linked mail servers go too",
            trigger: ".modal:contains(mail servers in Odoo are deleted with it)",
        },
        { content: "Keep it", trigger: ".modal .modal-footer button:contains(No, keep it)", run: "click" },
        {
            content: "Back to the list",
            trigger: ".o_breadcrumb .breadcrumb-item a:contains(Email Accounts)",
            run: "click",
        },
        {
            content: "One company: the list is not grouped",
            trigger: ".o_list_view:not(:has(.o_group_header)) .o_data_row:contains(Tour mailbox)",
        },
        {
            content: "Open the contact",
            trigger: ".o_list_view",
            run: () => {
                window.location.href = `/odoo/res.partner/${window.emailAccountTour.partnerId}`;
            },
        },
        { content: "Send message", trigger: ".o-mail-Chatter-sendMessage", run: "click" },
        { content: "Write it", trigger: ".o-mail-Composer-input", run: "edit Our offer from the tour" },
        { content: "Send it", trigger: ".o-mail-Composer-send:enabled", run: "click" },
        {
            content: "The message is in the chatter",
            trigger: ".o-mail-Message-body:contains(Our offer from the tour)",
        },
    ],
});

// Finding the accounts: from the settings search, and from the stock mail server lists (the test
// starts this tour on each of those pages).
registry.category("web_tour.tours").add("email_account_settings_search_tour", {
    url: "/odoo/settings",
    steps: () => [
        { content: "Search the settings", trigger: ".o_control_panel .o_searchview_input", run: "edit mail server" },
        {
            content: "Email Accounts is found, with its link",
            trigger: ".o_setting_box#email_account_setting:visible button:contains(Email Accounts)",
            run: "click",
        },
        { content: "The email accounts open", trigger: ".o_breadcrumb:contains(Email Accounts)" },
    ],
});

// No url: the test opens each list itself (a tour's url would send the browser there instead).
registry.category("web_tour.tours").add("email_account_stock_list_tour", {
    steps: () => [
        {
            content: "The stock list links to the email accounts",
            trigger: ".o_control_panel button:contains(Email Accounts)",
            run: "click",
        },
        { content: "The email accounts open", trigger: ".o_breadcrumb:contains(Email Accounts)" },
    ],
});
