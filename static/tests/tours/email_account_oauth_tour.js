/** @odoo-module **/

import { registry } from "@web/core/registry";
import { field, next, openSetupWizard } from "./email_account_tour_utils";

// Sign in with Microsoft, the whole round trip: the provider's page is the harness's OAuth 2 server
// (microsoft_outlook.endpoint), which consents at once and sends the browser back to Odoo. The Python
// test stores the address, host and ports in localStorage, which outlives the trip to the provider.
const values = () => JSON.parse(window.localStorage.getItem("emailAccountOAuthTour"));
const edit = (key) => (helpers) => helpers.edit(String(values()[key]));

registry.category("web_tour.tours").add("email_account_oauth_tour", {
    url: "/odoo",
    steps: () => [
        ...openSetupWizard(),
        { content: "Type the address", trigger: field("email"), run: edit("email") },
        { content: "Choose the manual setup", trigger: field("manual"), run: "click" },
        {
            content: "This mailbox signs in with Microsoft",
            trigger: '.modal .o_field_widget[name=sign_in_provider] input[data-value="microsoft"]',
            run: "click",
        },
        {
            content: "Microsoft is chosen",
            trigger: '.modal .o_field_widget[name=sign_in_provider] input[data-value="microsoft"]:checked',
        },
        {
            content: "Why a password will not do",
            trigger: ".modal .alert-info:contains(sign in with Microsoft instead)",
        },
        {
            content: "Microsoft is still chosen",
            trigger: '.modal .o_field_widget[name=sign_in_provider] input[data-value="microsoft"]:checked',
        },
        {
            content: "Sign in with Microsoft: to the provider's page and back",
            trigger: ".modal button[name=action_oauth_sign_in]:contains(Sign in with Microsoft)",
            run: "click",
        },
        { content: "Back in the wizard: outgoing server", trigger: field("smtp_host"), run: edit("host") },
        { content: "Outgoing port", trigger: field("smtp_port"), run: edit("smtpPort") },
        next,
        { content: "Incoming server", trigger: field("incoming_host"), run: edit("host") },
        { content: "Incoming port", trigger: field("incoming_port"), run: edit("incomingPort") },
        next,
        { content: "Description", trigger: field("name"), run: "edit Signed-in mailbox" },
        next,
        { content: "How Odoo uses this mailbox, with its defaults", trigger: ".modal [name=mail_use]" },
        { ...next, content: "Check and create" },
        { content: "The check succeeded", trigger: ".modal .alert-success:visible" },
        { content: "Open the account", trigger: ".modal button[name=action_open_account]", run: "click" },
        {
            content: "The account says how it signs in",
            trigger: ".o_form_view .o_field_widget[name=oauth_status]:contains(Signed in with Microsoft as)",
        },
        { content: "and offers to sign in again", trigger: ".o_form_view button[name=action_oauth_sign_in_again]" },
    ],
});
