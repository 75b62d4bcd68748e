#!/usr/bin/env bash
# `make run`: the harness's mail servers with a demo mailbox, and Odoo 18 on http://localhost:8069
# with email_account installed in the database email_account_demo. Ctrl-C stops everything.
#
# Knobs: ODOO_PATH / ODOO_PYTHON (which Odoo), DEMO_HTTP_PORT (8069), DEMO_DB (email_account_demo),
# DEMO_STATE_DIR (.run/demo), DEMO_BASE_PORT (24000: the demo's mail ports, apart from the tests').
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 1
VENV_PY="$ROOT/.venv/bin/python"
HARNESS="$ROOT/tests/harness/mailservers.py"
STATE_DIR="${DEMO_STATE_DIR:-$ROOT/.run/demo}"
DB="${DEMO_DB:-email_account_demo}"
HTTP_PORT="${DEMO_HTTP_PORT:-8069}"
ADDON=email_account

say() { printf '%s\n' "$*"; }
# shellcheck source=tests/harness/odoo_env.sh
source "$ROOT/tests/harness/odoo_env.sh"

if ! find_odoo || [[ ! -f "$ODOO_PATH/odoo-bin" ]] || [[ "$(odoo_major_version)" != 18 ]]; then
    say "make run needs Odoo 18.0 (community). Point it at one:"
    say "  ODOO_PATH=/path/to/odoo   (the folder that holds odoo-bin)"
    say "  ODOO_PYTHON=/path/to/python   (a Python with Odoo's requirements installed)"
    say "e.g.  make run ODOO_PATH=~/src/odoo-18.0 ODOO_PYTHON=~/venvs/odoo18/bin/python"
    exit 2
fi
ensure_postgres || { say "PostgreSQL could not be started"; exit 1; }
ensure_odoo_python_requirements || { say "could not install requirements.txt into $ODOO_PYTHON"; exit 1; }

addons_dir="$(linked_addons_dir demo)" || exit 1
odoo_bin=("$ODOO_PYTHON" "$ODOO_PATH/odoo-bin")
options=(--addons-path="$ODOO_PATH/addons,$addons_dir" --data-dir="$ROOT/.run/odoo-data" -d "$DB" --db-filter="^$DB\$")

stop_servers() {
    "$VENV_PY" "$HARNESS" stop --state-dir "$STATE_DIR" >/dev/null
    rm -rf -- "$addons_dir"
}
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

servers_json="$("$VENV_PY" "$HARNESS" start --state-dir "$STATE_DIR" --base-port "${DEMO_BASE_PORT:-24000}")" || exit 1
read -r email password submission imaps pop3s ca_file < <("$VENV_PY" - "$servers_json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
alice, main = s["users"]["alice"], s["dovecot"]["main"]
print(alice["email"], alice["password"], main["submission"], main["imaps"], main["pop3s"], s["ca_file"])
PY
)
printf 'From: Odoo demo <demo@example.test>\r\nTo: %s\r\nSubject: Welcome to the demo mailbox\r\n\r\nThis message waits in the IMAP/POP3 mailbox of the demo account.\r\n' \
    "$email" | "$VENV_PY" "$HARNESS" deliver --state-dir "$STATE_DIR" --user "$email" - >/dev/null

if ! psql -lqt | cut -d '|' -f 1 | grep -qw "$DB"; then
    say "installing $ADDON into a new database $DB (about a minute)"
    "${odoo_bin[@]}" "${options[@]}" -i "$ADDON" --without-demo=all --stop-after-init --no-http --log-level=warn ||
        exit 1
fi
# The demo servers' certificates come from the harness's own authority: trust it in this database.
echo "env['ir.config_parameter'].set_param('email_account.ca_file', '$ca_file'); env.cr.commit()" |
    "${odoo_bin[@]}" shell "${options[@]}" --no-http --log-level=warn >/dev/null || exit 1

cat <<INFO

  Odoo 18:       http://localhost:$HTTP_PORT   (login admin, password admin)
  Open:          Settings > Master Data > Email Accounts > New
  Demo mailbox:  $email   password: $password
  Manual setup:  server localhost; outgoing port $submission STARTTLS; incoming IMAP port $imaps SSL (or POP3 $pop3s SSL)
  Ctrl-C stops Odoo and the demo mail servers.

INFO
"${odoo_bin[@]}" "${options[@]}" --http-port="$HTTP_PORT" --log-level=info
