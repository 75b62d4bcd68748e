/** @odoo-module **/
/**
 * Shows a running connection check or discovery (which server, which stage, time left) in the form
 * that started it, with a Cancel that stops it. The check's own request is busy until it ends, so
 * this polls the progress row the server commits aside (email.account.check.progress) while the
 * button's call runs, and asks that row to cancel.
 */
import { Component, onMounted, onWillUnmount, status, useRef, useState } from "@odoo/owl";
import { browser } from "@web/core/browser/browser";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { standardWidgetProps } from "@web/views/widgets/standard_widget_props";

const MODEL = "email.account.check.progress";
// The buttons whose call runs a check or a discovery.
const CHECK_BUTTONS = new Set([
    "action_next",
    "action_retry",
    "action_trust_outgoing_certificate",
    "action_trust_incoming_certificate",
    "action_check_connection",
]);
const POLL_MS = 500;
// How long to wait for the check's row before concluding that the click ran no check.
const FIRST_ROW_MS = 5000;
// The longest check (the account form's 90 s budget), with room to spare: polling stops after it.
const LONGEST_MS = 120000;

export class CheckProgress extends Component {
    static template = "email_account.CheckProgress";
    static props = { ...standardWidgetProps };

    setup() {
        this.orm = useService("orm");
        this.root = useRef("root");
        this.state = useState({ shown: false, title: "", lines: [], rowId: false, cancelling: false });
        this.timer = null;
        this.onClick = (ev) => {
            const button = ev.target.closest("button[name]");
            if (button && CHECK_BUTTONS.has(button.getAttribute("name"))) {
                this.start();
            }
        };
        onMounted(() => {
            this.scope = this.root.el.closest(".modal-content") || this.root.el.closest(".o_form_view");
            this.scope?.addEventListener("click", this.onClick, true);
        });
        onWillUnmount(() => {
            this.scope?.removeEventListener("click", this.onClick, true);
            this.stop();
        });
    }

    start() {
        this.stop();
        this.startedAt = Date.now();
        Object.assign(this.state, { shown: false, title: "", lines: [], rowId: false, cancelling: false });
        this.timer = browser.setTimeout(() => this.poll(), POLL_MS);
    }

    stop() {
        if (this.timer) {
            browser.clearTimeout(this.timer);
        }
        this.timer = null;
    }

    async poll() {
        this.timer = null;
        const { resModel, resId } = this.props.record;
        let info = false;
        try {
            info = await this.orm.silent.call(MODEL, "poll", [resModel, resId || false]);
        } catch {
            info = false; // a failed poll hides nothing the check itself will say
        }
        if (status(this) === "destroyed") {
            return;
        }
        const elapsed = Date.now() - this.startedAt;
        if (info && info.running) {
            Object.assign(this.state, {
                shown: true,
                title: info.title,
                lines: info.lines,
                rowId: info.id,
                cancelling: this.state.cancelling || info.cancelling,
            });
        } else if (this.state.rowId || elapsed > FIRST_ROW_MS) {
            this.state.shown = false; // the check ended, or the click ran none
            return;
        }
        if (elapsed < LONGEST_MS) {
            this.timer = browser.setTimeout(() => this.poll(), POLL_MS);
        }
    }

    async cancel() {
        if (!this.state.rowId || this.state.cancelling) {
            return;
        }
        this.state.cancelling = true;
        await this.orm.call(MODEL, "action_cancel", [[this.state.rowId]]);
    }
}

export const checkProgress = { component: CheckProgress };

registry.category("view_widgets").add("email_account_check_progress", checkProgress);
