#!/usr/bin/env bash
# Regenerate i18n/email_account.pot with Odoo 18's own exporter: `tests/harness/export_pot.sh`.
#
# Installs the addon in a throwaway database and runs `odoo-bin --i18n-export` on it. The exporter
# reads every .py under the addon's folder, so it works on a copy of the tracked files: a local .venv
# inside the folder would otherwise be scanned as addon code. Uses the Odoo that find_odoo resolves
# (as `make test` does; needs the .venv of `make deps`) and PostgreSQL.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ADDON=email_account
say() { printf '%s\n' "$*"; }
# shellcheck source=tests/harness/odoo_env.sh
source "$ROOT/tests/harness/odoo_env.sh"
find_odoo || { say "no Odoo 18 could be set up (the line above says why)"; exit 2; }
ensure_postgres

work="$(mktemp -d "${TMPDIR:-/tmp}/${ADDON}_pot.XXXXXX")"
db="${ADDON}_pot_$$"
trap 'dropdb --if-exists "$db" >/dev/null 2>&1; rm -rf -- "$work"' EXIT
mkdir -p "$work/addons/$ADDON" "$work/data"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf - 2>/dev/null) |
    tar -xf - -C "$work/addons/$ADDON"
printf '[options]\n' >"$work/odoo.conf"
odoo=("$ODOO_PYTHON" "$ODOO_PATH/odoo-bin" --config="$work/odoo.conf" -d "$db" --data-dir="$work/data"
    --addons-path="$ODOO_PATH/addons,$work/addons" --log-level=warn)
"${odoo[@]}" -i "$ADDON" --stop-after-init --without-demo=all --no-http --max-cron-threads=0
# No --language: the exporter then writes the template (.pot) with every msgstr empty.
"${odoo[@]}" --i18n-export="$ROOT/i18n/$ADDON.pot" --modules="$ADDON"
say "wrote $ROOT/i18n/$ADDON.pot"
