/** @odoo-module **/

import { stepUtils } from "@web_tour/tour_service/tour_utils";

// What the setup tours share: the way to the wizard and its fields.
export const field = (name) => `.modal .o_field_widget[name=${name}] input`;
export const next = { content: "Next", trigger: ".modal button[name=action_next]:visible", run: "click" };

export function openAccounts() {
    return [
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
    ];
}

export function openSetupWizard() {
    return [
        ...openAccounts(),
        {
            content: "New opens the setup wizard",
            trigger: ".o_control_panel button.btn-primary:contains(New)",
            run: "click",
        },
    ];
}
