#!/usr/bin/env bash
# `make run`: the harness's mail servers with a demo mailbox, and Odoo 18 on http://localhost:$DEMO_HTTP_PORT
# with email_account installed in the database $DEMO_DB. Ctrl-C stops everything.
#
# Knobs: ODOO_PATH / ODOO_PYTHON / ODOO_SOURCE (which Odoo: see find_odoo in odoo_env.sh),
# DEMO_HTTP_PORT (8069), DEMO_DB (email_account_demo), DEMO_STATE_DIR (.run/demo),
# DEMO_BASE_PORT (24000: the demo's mail ports, apart from the tests').
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

if ! find_odoo; then
    say "make run could not set up an Odoo 18 (the line above says why)."
    say "ODOO_PATH=/path/to/odoo ODOO_PYTHON=/path/to/python names one by hand."
    exit 2
fi
if [[ ! -f "$ODOO_PATH/odoo-bin" ]] || [[ "$(odoo_major_version)" != 18 ]]; then
    say "make run needs Odoo 18.0: $ODOO_PATH (python $ODOO_PYTHON) is not one"
    exit 2
fi
ensure_postgres || { say "PostgreSQL could not be started"; exit 1; }
command -v rtlcss >/dev/null || say "rtlcss is missing (make deps installs it): Arabic would be laid out left to right"
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

# A database whose install was interrupted is made again; one whose addon code changed is updated.
state="$(psql -tAq -d "$DB" -c "SELECT state FROM ir_module_module WHERE name = '$ADDON'" 2>/dev/null)"
code="$(git -C "$ROOT" ls-files -z --cached --others --exclude-standard | xargs -0 cat -- 2>/dev/null | sha256sum | cut -c1-16)"
code_stamp="$ROOT/.run/$DB.code"
if [[ "$state" != installed ]]; then
    PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists "$DB" || exit 1
    say "installing $ADDON into a new database $DB (about a minute)"
    "${odoo_bin[@]}" "${options[@]}" -i "$ADDON" --without-demo=all --stop-after-init --no-http --log-level=warn ||
        exit 1
elif [[ "$(cat "$code_stamp" 2>/dev/null)" != "$code" ]]; then
    say "the addon changed since the last make run: updating it in $DB"
    "${odoo_bin[@]}" "${options[@]}" -u "$ADDON" --stop-after-init --no-http --log-level=warn || exit 1
fi
printf '%s\n' "$code" >"$code_stamp"
# The demo servers' certificates come from the harness's own authority: trust it in this database
# (written straight into the table: starting an Odoo shell for one parameter would cost seconds).
psql -q -d "$DB" -v ca="$ca_file" >/dev/null <<'SQL' || exit 1
INSERT INTO ir_config_parameter (key, value, create_date, write_date)
VALUES ('email_account.ca_file', :'ca', now(), now())
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, write_date = now();
SQL

# The demo commands find these servers through DEMO_STATE_DIR: name it when it is not the default.
make_demo=make
[[ "$STATE_DIR" == "$ROOT/.run/demo" ]] || make_demo="DEMO_STATE_DIR=$STATE_DIR make"
cat <<INFO

  Odoo 18:       http://localhost:$HTTP_PORT   (login admin, password admin; database $DB)
  Open:          Settings > Master Data > Email Accounts > New
  Demo mailbox:  $email   password: $password
  Manual setup:  server localhost; outgoing port $submission STARTTLS; incoming IMAP port $imaps SSL (or POP3 $pop3s SSL)
  New mail:      $make_demo demo-mail [SUBJECT=... FROM=... IN_REPLY_TO=<message-id>]   (in another terminal)
  Sent mail:     $make_demo demo-outbox [FULL=1]   (what Odoo sent: nothing leaves this machine)
  Ctrl-C stops Odoo and the demo mail servers. The next make run starts them with empty mailboxes;
  the database $DB, with its accounts, stays.

INFO
"${odoo_bin[@]}" "${options[@]}" --http-port="$HTTP_PORT" --log-level=info
