/** @odoo-module **/
// The list and form of email accounts: deleting one says that its Odoo mail servers go with it.

import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { formView } from "@web/views/form/form_view";
import { FormController } from "@web/views/form/form_controller";
import { listView } from "@web/views/list/list_view";
import { ListController } from "@web/views/list/list_controller";

// One literal each: Odoo's exporter reads the text of _t("...") as written.
const linkedServersGo = (many) =>
    many
        ? _t("Their outgoing and incoming mail servers in Odoo are deleted with them: Odoo stops sending and receiving mail through these mailboxes. The mailboxes at your provider are not touched. To pause the accounts instead, archive them.")
        : _t("Its outgoing and incoming mail servers in Odoo are deleted with it: Odoo stops sending and receiving mail through this mailbox. The mailbox at your provider is not touched. To pause the account instead, archive it.");

export class EmailAccountListController extends ListController {
    get deleteConfirmationDialogProps() {
        const props = super.deleteConfirmationDialogProps;
        const many = this.model.root.isDomainSelected || this.model.root.selection.length > 1;
        return { ...props, body: `${props.body} ${linkedServersGo(many)}` };
    }
}

export class EmailAccountFormController extends FormController {
    get deleteConfirmationDialogProps() {
        const props = super.deleteConfirmationDialogProps;
        return { ...props, body: `${props.body} ${linkedServersGo(false)}` };
    }
}

registry.category("views").add("email_account_list", { ...listView, Controller: EmailAccountListController });
registry.category("views").add("email_account_form", { ...formView, Controller: EmailAccountFormController });
