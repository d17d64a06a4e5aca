#!/usr/bin/env bash
# The whole test suite: lint, migrations check, tests on SQLite (with the browser tests),
# and beside them, from the start, the tests that use the database on PostgreSQL when one
# answers (CI always has one).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
# Python keeps the bytecode it compiles (src/, and pytest's assertion-rewritten tests/), even
# where the environment says not to: the PostgreSQL run compiles first, and the SQLite run
# and every process the tests start then read it. Collecting the tests took 23.6 s of CPU
# compiling, 16.2 s reading the bytecode; importing Cherish's URLconf in a new process 3.6-3.9
# s, 2.8-3.0 s (2026-12-02 02:05-02:13, load average 17-23).
unset PYTHONDONTWRITEBYTECODE

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "Installing Debian's chromium for the browser tests…"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "warning: could not install chromium; browser tests will be skipped"
  else
    echo "warning: /usr/bin/chromium missing and not root; browser tests will be skipped"
  fi
fi

# The fault suite (docs/reliability.md): R1, R2 and R3 at 1,000 complaints each against real
# `cherish serve` processes, killing web workers, task workers and whole process trees
# (PRAGMA integrity_check after each), after the tests: beside them its restarts took most of
# the CPU and the tests ran at a quarter of their speed (2026-12-01 23:12).
# CHERISH_CI_FAULTS=ci runs the smallest size (150 each), =off skips the fault suite.
EVAL_PID=""
PG_PID=""
TEST_TMP=""
# Whatever stops us (a failed step, Ctrl-C) leaves nothing running and no temporary tree.
cleanup() {
  local pid
  for pid in "$EVAL_PID" "$PG_PID"; do
    [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
  done
  [ -z "$TEST_TMP" ] || rm -rf "$TEST_TMP"
}
trap cleanup EXIT
FAULTS_MODE="${CHERISH_CI_FAULTS:-short}"
case "$FAULTS_MODE" in
  off) FAULTS_WHAT="" ;;
  ci) FAULTS_WHAT="--ci" ;;
  *) FAULTS_WHAT="--short --parallel" ;;
esac

# The tests' temporary files (the SQLite test database, data directories, tmp_path, and the
# processes the tests start) go to memory where the machine has a tmpfs at /dev/shm. SQLite
# commits synchronously (FULL), and each commit waited for the disk: 100 took 0.375 s in
# /tmp, 0.002 s in /dev/shm (2026-12-02 01:25, load average 12); a transactional test's
# flush alone commits some fifty times.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  TEST_TMP="$(mktemp -d /dev/shm/cherish-test.XXXXXX)"
fi
TEST_TMPDIR="${TEST_TMP:-${TMPDIR:-/tmp}}"

# PostgreSQL beside SQLite: the two runs share no database, Redis db or port, and running
# them together keeps CI near 10 minutes on two cores instead of one run after the other.
PG_URL="${CHERISH_TEST_POSTGRES_URL:-}"
if [ -z "$PG_URL" ] && (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  PG_URL="postgres://postgres@127.0.0.1:5432/test"
fi
PG_LOG="$(mktemp)"
if [ -n "$PG_URL" ]; then
  REDIS_URL_SQLITE="${CHERISH_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"
  # The PostgreSQL run takes the next Redis database, so the two RQ tests never share a queue.
  REDIS_URL_PG="${REDIS_URL_SQLITE%/*}/$(( ${REDIS_URL_SQLITE##*/} - 1 ))"
  # Only the tests that use the database (marked so by tests/conftest.py): the others
  # cannot tell PostgreSQL from SQLite, and the SQLite run has them.
  TMPDIR="$TEST_TMPDIR" CHERISH_TEST_DATABASE_URL="$PG_URL" CHERISH_TEST_REDIS_URL="$REDIS_URL_PG" \
    $BIN/python -m pytest -m "database and not browser" -p no:cacheprovider --durations=30 "$@" \
    >"$PG_LOG" 2>&1 &
  PG_PID=$!
fi

# Lint while the PostgreSQL run (started above) sets up its database: the checks are
# single-threaded, about 33 s of CPU on a fresh clone (mypy 23 of them, 2026-12-02), and
# the second core waited for them. A failure still stops here, and the trap ends the run.
echo "== ruff"
$BIN/ruff check src tests bench faults
echo "== mypy (domain code)"
bash scripts/mypy.sh
echo "== import boundaries (import-linter, contracts in pyproject.toml)"
$BIN/lint-imports --no-cache
echo "== migrations are up to date"
CHERISH_DATA_DIR="$(mktemp -d)" $BIN/cherish makemigrations --check --dry-run >/dev/null

# The triage evaluation is CPU-bound and single-threaded like the tests: run it beside them
# on the second core and report it at the end.
SHARED_DATA="${CHERISH_SHARED_DATA:-$(cd .. && pwd)/shared/data}"
EVAL_LOG="$(mktemp)"
if [ -d "$SHARED_DATA" ]; then
  CHERISH_DATA_DIR="$(mktemp -d)" CHERISH_SHARED_DATA="$SHARED_DATA" \
    $BIN/cherish triage eval >"$EVAL_LOG" 2>&1 &
  EVAL_PID=$!
fi

echo "== tests on SQLite"
sqlite_status=0
# --durations: every run's log names its 30 slowest tests, where CI's minutes go.
TMPDIR="$TEST_TMPDIR" $BIN/python -m pytest --durations=30 "$@" || sqlite_status=$?

if [ -n "$EVAL_PID" ]; then
  echo "== triage figures on the public data sets (fails below eval_floor.json)"
  status=0
  wait "$EVAL_PID" || status=$?
  EVAL_PID=""  # waited for: its number may be reused by now
  cat "$EVAL_LOG"
  [ "$status" = 0 ] || { echo "triage eval failed"; exit "$status"; }
else
  echo "== triage eval skipped: no public data sets at $SHARED_DATA (set CHERISH_SHARED_DATA)"
fi

# PostgreSQL after SQLite, so its closing line comes before the fault suite's table.
pg_status=0
if [ -n "$PG_PID" ]; then
  wait "$PG_PID" || pg_status=$?
  PG_PID=""  # waited for: its number may be reused by now
  echo "== tests on PostgreSQL ($PG_URL)"
  cat "$PG_LOG"
else
  echo "== PostgreSQL not reachable: skipped the PostgreSQL run (set CHERISH_TEST_POSTGRES_URL)"
fi
[ "$sqlite_status" = 0 ] || { echo "SQLite run failed"; exit "$sqlite_status"; }
# 5: pytest collected nothing, as when the tests named on the command line use no database.
[ "$pg_status" = 0 ] || [ "$pg_status" = 5 ] || exit "$pg_status"

if [ -n "$FAULTS_WHAT" ]; then
  echo "== fault suite (python -m faults $FAULTS_WHAT)"
  # shellcheck disable=SC2086
  $BIN/python -m faults $FAULTS_WHAT
else
  echo "== fault suite skipped (CHERISH_CI_FAULTS=off)"
fi
