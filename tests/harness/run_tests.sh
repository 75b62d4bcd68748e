#!/usr/bin/env bash
# The email_account test runner: `run_tests.sh [all|lint|pure|odoo|odoo-orm]`.
# `make test` runs `all`, `make lint` runs `lint`; `pure` / `odoo` start the servers and run one tier;
# `odoo-orm` runs the Odoo tests that need no mail server, without starting any.
#
#   1. lint: ruff + pylint-odoo over the repository, oca-checks-po over i18n/
#   2. start the harness mail servers (stopped again on exit, whatever happens)
#   3. pure tier: pytest tests/core
#   4. Odoo tier: odoo-bin --test-enable on a fresh database, with the Odoo that find_odoo resolves
#      (odoo_env.sh: ODOO_PATH, an importable odoo, else ODOO_SOURCE / ../shared/odoo unpacked into
#      .odoo/); an Odoo that cannot be had, a missing browser or a skipped test is a failure
#   5. one closing line "N passed, M failed" over both tiers; the exit status is non-zero if anything
#      failed (a lint failure or a tier that could not run counts as one failure).
#
# Expects the .venv made by `make deps`.  Environment knobs: HARNESS_STATE_DIR, HARNESS_BASE_PORT,
# ODOO_PATH, ODOO_PYTHON, ODOO_SOURCE, ODOO_TEST_TAGS, PYTEST_ADDOPTS.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 1
VENV_PY="$ROOT/.venv/bin/python"
HARNESS="$ROOT/tests/harness/mailservers.py"
STATE_DIR="${HARNESS_STATE_DIR:-$ROOT/.run/harness}"
REPORT_DIR="$(dirname "$STATE_DIR")/reports"  # beside the state dir, so parallel runs keep their own
ADDON=email_account

# shellcheck source=tests/harness/odoo_env.sh
source "$ROOT/tests/harness/odoo_env.sh"

passed=0
failed=0
problems=()
tmp_dirs=()
servers_started=0
odoo_db=""
odoo_session=""  # the Odoo tier's session while it runs (interrupted: ended with everything in it)

say() { printf '%s\n' "$*"; }
section() { printf '\n=== %s ===\n' "$*"; }
problem() {
    problems+=("$1")
    say "!!! $1"
}

cleanup() {
    local rc=$?
    if [[ -n "$odoo_session" ]]; then
        pkill -KILL -s "$odoo_session" 2>/dev/null
    fi
    if [[ -n "$odoo_db" ]]; then
        dropdb --if-exists "$odoo_db" >/dev/null 2>&1 || say "warning: could not drop database $odoo_db"
    fi
    if ((servers_started)); then
        "$VENV_PY" "$HARNESS" stop --state-dir "$STATE_DIR" || say "warning: stopping the harness servers failed"
    fi
    local d
    for d in "${tmp_dirs[@]}"; do rm -rf -- "$d"; done
    return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ----------------------------------------------------------------------------- lint

python_files() {
    find . \( -name .venv -o -name .odoo -o -name .run -o -name .git -o -name node_modules \) -prune -o -name '*.py' -print |
        sed 's|^\./||' | sort
}

run_lint() {
    local ok=0 lint_dir
    section "lint: ruff"
    "$ROOT/.venv/bin/ruff" check . || ok=1

    section "lint: pylint-odoo"
    mapfile -t files < <(python_files)
    if ((${#files[@]} == 0)); then
        say "no Python files"
    else
        # Lint through a symlink named like the addon, so module names (and pylint-odoo's
        # checks that use them) do not depend on the name of the clone's folder.
        lint_dir="$(linked_addons_dir lint)"
        tmp_dirs+=("$lint_dir")
        (cd "$lint_dir" && "$ROOT/.venv/bin/pylint" --rcfile="$ROOT/.pylintrc" --load-plugins=pylint_odoo \
            --valid-odoo-versions=18.0 "${files[@]/#/$ADDON/}") || ok=1
        ((ok)) || say "pylint: no findings"
    fi

    section "lint: oca-checks-po"
    "$ROOT/.venv/bin/oca-checks-po" "$ROOT"/i18n/*.po "$ROOT"/i18n/*.pot || ok=1
    return "$ok"
}

# ----------------------------------------------------------------------------- pure tier

# Prints "<passed> <failed>" read from a JUnit XML report (failed = failures + errors).
junit_counts() {
    "$VENV_PY" - "$1" <<'EOF'
import sys
import xml.etree.ElementTree as ET

try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print(0, 0)
    raise SystemExit
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
total = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(total - bad - skipped, bad)
EOF
}

run_pure_tier() {
    local rc counts p f xml="$REPORT_DIR/pytest-core.xml"
    section "pure tier: pytest tests/core"
    rm -f "$xml"
    "$VENV_PY" -m pytest tests/core -q -p no:cacheprovider --confcutdir="$ROOT/tests/core" --junitxml="$xml"
    rc=$?
    counts="$(junit_counts "$xml")"
    read -r p f <<<"$counts"
    passed=$((passed + p))
    failed=$((failed + f))
    case "$rc" in
        0) ;;
        5) problem "pure tier: pytest collected no tests" && failed=$((failed + 1)) ;;
        *) if ((f == 0)); then
               problem "pure tier: pytest exited with $rc"
               failed=$((failed + 1))
           fi ;;
    esac
}

# ----------------------------------------------------------------------------- Odoo tier

# Prints the browser Odoo's tours will use (Odoo looks for these names on PATH).
chrome_browser() {
    command -v chromium || command -v chromium-browser || command -v google-chrome || command -v google-chrome-stable
}

free_port() {
    "$VENV_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# run_odoo_tier TAGS [queue]: install the addon (with "queue": and OCA queue_job) in a fresh database and
# run the tests Odoo selects by TAGS.
run_odoo_tier() {
    local tags="$1" queue="${2:-}" version addons_dir browser rc result n_failed n_errors n_tests bad
    local odoo_pid skipped_lines n_skipped log="$REPORT_DIR/odoo${2:+-$2}.log" modules="$ADDON" before="" after=""
    section "Odoo tier${queue:+ with queue_job}${tags:+ ($tags)}"
    if ! find_odoo; then
        problem "Odoo tier: no Odoo 18 could be set up (see the line above); ODOO_PATH + ODOO_PYTHON name one by hand"
        failed=$((failed + 1))
        return
    fi
    if [[ ! -f "$ODOO_PATH/odoo-bin" ]]; then
        problem "Odoo tier: ODOO_PATH=$ODOO_PATH has no odoo-bin"
        failed=$((failed + 1))
        return
    fi
    version="$(odoo_major_version)"
    if [[ "$version" != 18 ]]; then
        problem "Odoo tier: $ODOO_PATH with $ODOO_PYTHON is not Odoo 18 (version '${version:-unknown}')"
        failed=$((failed + 1))
        return
    fi
    if [[ ! -f "$ROOT/__manifest__.py" ]]; then
        problem "Odoo tier: no __manifest__.py in $ROOT"
        failed=$((failed + 1))
        return
    fi
    if ! browser="$(chrome_browser)"; then
        problem "Odoo tier: no chromium for the browser tours: apt-get install chromium (make deps does)"
        failed=$((failed + 1))
        return
    fi
    say "Odoo: $ODOO_PATH (python: $ODOO_PYTHON; browser: $browser)"
    if ! ensure_postgres; then
        problem "Odoo tier: PostgreSQL could not be started (see the line above)"
        failed=$((failed + 1))
        return
    fi
    if ! ensure_odoo_python_requirements; then
        problem "Odoo tier: could not install requirements.txt into $ODOO_PYTHON"
        failed=$((failed + 1))
        return
    fi

    if [[ -n "$queue" ]]; then
        if ! after="$(queue_job_addons)"; then
            problem "Odoo tier: could not install requirements-queue.txt (OCA queue_job)"
            failed=$((failed + 1))
            return
        fi
        # queue_job's folder goes last; a base_sparse_field stand-in, if any, before Odoo's own stub.
        before="${after%"${after##*,}"}" after=",${after##*,}" modules="$ADDON,queue_job"
    fi
    addons_dir="$(linked_addons_dir odoo)"
    tmp_dirs+=("$addons_dir")
    mkdir -p "$addons_dir/.data"
    printf '[options]\n' >"$addons_dir/.odoo.conf"
    odoo_db="${ADDON}_test_$$"
    dropdb --if-exists "$odoo_db" >/dev/null 2>&1

    # In a session of its own, written to the log and shown from it while it runs: a browser that Odoo
    # gave up on (and left running) then neither holds the console's pipe open nor outlives the tier.
    : >"$log"  # there before tail looks for it
    setsid "$ODOO_PYTHON" "$ODOO_PATH/odoo-bin" --config="$addons_dir/.odoo.conf" \
        -d "$odoo_db" --addons-path="$before$ODOO_PATH/addons,$addons_dir$after" --data-dir="$addons_dir/.data" \
        -i "$modules" --test-enable --test-tags "$tags" --stop-after-init --without-demo=all \
        --http-port "$(free_port)" --max-cron-threads=0 --log-level=test >>"$log" 2>&1 </dev/null &
    odoo_pid=$!
    odoo_session=$odoo_pid
    tail -n +1 -f --pid="$odoo_pid" "$log" &
    wait "$odoo_pid"
    rc=$?
    wait $!
    pkill -KILL -s "$odoo_session" 2>/dev/null
    odoo_session=""

    # Odoo 18 closes a --test-enable run with (logger odoo.tests.result):
    #   "<f> failed, <e> error(s) of <n> tests when loading database '<db>'"
    result="$(grep -E 'failed, [0-9]+ error\(s\) of [0-9]+ tests when loading database' "$log" | tail -n 1)"
    # A skipped test proves nothing (Odoo skips a tour when the browser does not start, for one): it is
    # not counted as passed, and it fails the tier. OdooTestResult logs it under the test's own logger.
    skipped_lines="$(grep -E '^[0-9-]+ [0-9:,]+ [0-9]+ INFO [^ ]+ [^ ]+: skipped ' "$log")"
    n_skipped=$(grep -c . <<<"$skipped_lines")
    if [[ "$result" =~ ([0-9]+)\ failed,\ ([0-9]+)\ error\(s\)\ of\ ([0-9]+)\ tests ]]; then
        n_failed=${BASH_REMATCH[1]} n_errors=${BASH_REMATCH[2]} n_tests=${BASH_REMATCH[3]}
        passed=$((passed + n_tests - n_failed - n_errors - n_skipped))
        failed=$((failed + n_failed + n_errors))
    else
        n_failed=0 n_errors=0 n_tests=0
    fi
    bad=0
    if ((rc != 0)); then
        problem "Odoo tier: odoo-bin exited with $rc"
        bad=1
    fi
    if ((n_tests == 0)); then
        problem "Odoo tier: no $ADDON tests ran (no 'of N tests' summary with N > 0 in $log)"
        bad=1
    elif ! grep -qE "odoo\.tests\.stats: $ADDON: [0-9]+ tests" "$log"; then
        problem "Odoo tier: no odoo.tests.stats line for $ADDON in $log"
        bad=1
    fi
    if ((n_skipped)); then
        problem "Odoo tier: $n_skipped test(s) skipped, which counts as a failure:"
        head -n 20 <<<"$skipped_lines"
        bad=1
    fi
    if grep -qE ' (ERROR|CRITICAL) |FAIL:|Traceback' "$log"; then
        problem "Odoo tier: errors in the log ($log):"
        grep -nE ' (ERROR|CRITICAL) |FAIL:|Traceback' "$log" | head -n 20
        bad=1
    fi
    if ((bad && n_failed + n_errors == 0)); then
        failed=$((failed + 1))
    fi
    dropdb --if-exists "$odoo_db" && odoo_db=""
}

# ----------------------------------------------------------------------------- main

if [[ ! -x "$VENV_PY" ]]; then
    say "no .venv: run 'make deps' (or 'make test') first"
    exit 2
fi
mkdir -p "$REPORT_DIR"

# Starts the harness mail servers on the first free base port of a few (unless HARNESS_BASE_PORT
# names one), so two checkouts, or `make test` beside `make run`, do not collide.
start_servers() {
    local base started_at=$SECONDS
    section "starting the harness mail servers"
    servers_started=1
    for base in ${HARNESS_BASE_PORT:-21000 21500 22000 22500 23000 23500}; do
        if servers_json="$("$VENV_PY" "$HARNESS" start --state-dir "$STATE_DIR" --base-port "$base")"; then
            export EMAIL_ACCOUNT_TEST_SERVERS="$servers_json"
            say "EMAIL_ACCOUNT_TEST_SERVERS=$servers_json (base port $base, up in $((SECONDS - started_at))s)"
            return 0
        fi
    done
    problem "the harness mail servers did not start (see the lines above and $STATE_DIR)"
    failed=$((failed + 1))
    return 1
}

mode="${1:-all}"
tags="${ODOO_TEST_TAGS:-/$ADDON,-email_account_queue}"
# The queue_job bridge's tests run in a second database, where queue_job is installed; a run narrowed by
# ODOO_TEST_TAGS skips them unless ODOO_QUEUE_TEST_TAGS names some.
queue_tags="${ODOO_QUEUE_TEST_TAGS-email_account_queue}"
[[ -n "${ODOO_TEST_TAGS:-}" && -z "${ODOO_QUEUE_TEST_TAGS:-}" ]] && queue_tags=""
case "$mode" in
    lint)
        run_lint
        exit $?
        ;;
    all | pure | odoo) ;;
    odoo-orm) tags="/$ADDON,-email_account_servers" ;;
    *)
        say "usage: $0 [all|lint|pure|odoo|odoo-orm]"
        say "  pure/odoo: mail servers + that tier only, no lint; odoo-orm: the Odoo tests that need no mail server"
        say "  ODOO_TEST_TAGS=... narrows the Odoo tier (Odoo's --test-tags syntax, e.g. /$ADDON:TestAccess)"
        say "  ODOO_QUEUE_TEST_TAGS=... the same for the second database, with OCA queue_job (default email_account_queue)"
        exit 2
        ;;
esac

if [[ "$mode" == all ]] && ! run_lint; then
    problem "lint failed"
    failed=$((failed + 1))
fi

if [[ "$mode" == odoo-orm ]]; then
    run_odoo_tier "$tags"
elif start_servers; then
    [[ "$mode" == odoo ]] || run_pure_tier
    [[ "$mode" == pure ]] || run_odoo_tier "$tags"
    [[ "$mode" == pure || -z "$queue_tags" ]] || run_odoo_tier "$queue_tags" queue
fi

section "summary"
for p in "${problems[@]}"; do say "- $p"; done
say "$passed passed, $failed failed"
((failed == 0))
