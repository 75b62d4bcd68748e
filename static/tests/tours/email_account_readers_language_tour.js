/** @odoo-module **/

import { registry } from "@web/core/registry";
import { openAccounts } from "./email_account_tour_utils";

// A check written in French, read by an Arabic user: the Last Check tab speaks the reader's language.
// The Python test sets window.emailAccountReader (the account's address, a piece of the expected text)
// before it starts the tour; Odoo also builds the steps earlier, to see the tour is ready.
const reader = () => window.emailAccountReader || {}; // read again when the tour starts

registry.category("web_tour.tours").add("email_account_readers_language_tour", {
    url: "/odoo",
    steps: () => [
        ...openAccounts(),
        {
            content: "Open the account",
            trigger: `.o_data_row:contains(${reader().email}) td.o_data_cell`,
            run: "click",
        },
        { content: "Open the Last Check tab", trigger: ".o_notebook a[name=last_check]", run: "click" },
        {
            content: "The report is in the reader's language",
            trigger: `.o_field_widget[name=last_check_message]:contains(${reader().expected})`,
        },
    ],
});
