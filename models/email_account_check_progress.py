"""A check or discovery while it runs: where it is, for the form that started it, and the way to stop it.

The request that runs a check holds its transaction open until the check ends, so what it writes
there is seen by nobody else. Its progress goes instead into a row of its own, written and committed
through a separate cursor twice a second; the browser polls that row and shows it, and its Cancel
sets the row's flag in a request of its own, which the running check reads at its next report and
turns into an abort of every deadline (mailcore.progress). The row is in the database, so any worker
may serve the poll or the cancel; it is its user's alone (record rule), like the wizard.

The row is written as superuser and names its user by id, not by a foreign key: a user created in the
request's own, still open transaction (a test's, say) would hold up the separate transaction's insert.
"""

import logging

import psycopg2

from odoo import SUPERUSER_ID, api, fields, models

from .. import mailcore
from ..mailcore.text import _lt, render

_logger = logging.getLogger(__name__)

STAGES = {
    "resolve": _lt("looking up the server name"),
    "connect": _lt("connecting"),
    "tls": _lt("setting up encryption"),
    "greeting": _lt("waiting for the server to answer"),
    "capabilities": _lt("asking what the server offers"),
    "auth": _lt("logging in"),
    "mailbox": _lt("opening the mailbox"),
    "sender": _lt("asking whether it accepts mail from this address"),
    "done": _lt("done"),
}
DISCOVERING = _lt("Looking for the settings of %(domain)s…")
CHECKING = _lt("Checking the connection…")
SERVER_LINE = _lt("%(protocol)s %(host)s:%(port)s: %(stage)s")
MORE_SERVERS = _lt("and %(count)s more servers")
TIME_LEFT = _lt("At most %(seconds)s s left.")
# The servers a progress report names at most (guessing probes twenty at once): the latest ones.
SHOWN_SERVERS = 4


class EmailAccountCheckProgress(models.TransientModel):
    _name = "email.account.check.progress"
    _description = "Email Account Check Progress"
    _order = "id desc"

    user_id = fields.Integer(readonly=True, help="The user whose check this is: who sees and may cancel it.")
    res_model = fields.Char("Model", required=True, readonly=True)
    res_id = fields.Integer("Record ID", readonly=True)
    domain = fields.Char(readonly=True, help="Set while discovery looks for this domain's settings.")
    snapshot = fields.Json(readonly=True)
    running = fields.Boolean(default=True, readonly=True)
    cancel_requested = fields.Boolean(readonly=True)

    @api.model
    def poll(self, res_model, res_id=False):
        """The caller's latest check of this record (of this model, for a record not saved yet), in
        the caller's language: {id, running, cancelling, title, lines}; False when there is none."""
        domain = [("res_model", "=", res_model), ("user_id", "=", self.env.uid)]
        if res_id:
            domain.append(("res_id", "=", res_id))
        row = self.search(domain, limit=1)
        if not row:
            return False
        return {
            "id": row.id,
            "running": row.running,
            "cancelling": row.cancel_requested,
            "title": row._title(),
            "lines": row._lines(),
        }

    def action_cancel(self):
        """Ask the running check to stop; it ends within a moment, as cancelled."""
        self.check_access("write")
        self.sudo().write({"cancel_requested": True})
        return True

    def _title(self):
        _ = self.env._
        return render(DISCOVERING, {"domain": self.domain}, _) if self.domain else render(CHECKING, {}, _)

    def _lines(self):
        _ = self.env._
        snapshot = self.snapshot or {}
        servers = snapshot.get("servers") or []
        lines = [
            render(
                SERVER_LINE,
                {
                    "protocol": str(server.get("protocol", "")).upper(),
                    "host": server.get("host"),
                    "port": server.get("port"),
                    "stage": render(STAGES.get(server.get("stage"), "%(stage)s"), server, _),
                },
                _,
            )
            for server in servers[-SHOWN_SERVERS:]
        ]
        if len(servers) > SHOWN_SERVERS:
            lines.append(render(MORE_SERVERS, {"count": len(servers) - SHOWN_SERVERS}, _))
        if self.running and snapshot.get("remaining") is not None:
            lines.append(render(TIME_LEFT, {"seconds": round(snapshot["remaining"])}, _))
        return lines


def run_watched(record, work, domain=False):
    """``work(progress)`` (a core call given a mailcore.progress.Progress) for ``record`` (a wizard or
    an account), its progress published for the caller's browser and its cancel honoured. Returns
    ``(outcome, cancelled)``."""
    progress = mailcore.Progress()
    values = {
        "user_id": record.env.uid,
        "res_model": record._name,
        "res_id": record.id if len(record) == 1 else 0,
        "domain": domain,
    }
    row_id = _in_own_transaction(record.env, lambda rows: rows.create(values).id)

    def report(snapshot):
        def publish(rows):
            row = rows.browse(row_id)
            row.write({"snapshot": snapshot})
            return row.cancel_requested

        return _in_own_transaction(record.env, publish)

    try:
        outcome = mailcore.run_aside(lambda: work(progress), progress, report)
    finally:
        _in_own_transaction(record.env, lambda rows: rows.browse(row_id).write({"running": False}))
    return outcome, progress.cancelled


def _in_own_transaction(env, function):
    """``function(progress rows)`` in a transaction committed at once, as superuser (the rows are the
    addon's record of the caller's check); a clash with the caller's own cancel (both write the row)
    skips this report, the next one comes half a second later."""
    try:
        with env.registry.cursor() as cr:
            rows = api.Environment(cr, SUPERUSER_ID, {})["email.account.check.progress"]
            outcome = function(rows)
            # Explicitly: the commit flushes only the environments still alive, and nothing else holds this one.
            rows.env.flush_all()
            return outcome
    except psycopg2.errors.SerializationFailure:
        _logger.info("progress report skipped: the row was being written by its cancel")
        return False
