#!/usr/bin/env bash
# The whole suite with the clock moved, for every process at once (Python, Postgres, nginx) through
# libfaketime: each date gets its own fresh cluster (state dir and port), so the database's now() moves
# with everything else. Run from the repo root after `make setup`:  make test-dates
# (or a date of your own: tests/clock/on_other_dates.sh "2027-01-01 12:00:00")
set -euo pipefail
cd "$(dirname "$0")/../.."
LIB=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -1)
[ -n "$LIB" ] || { echo "libfaketime is missing (apt-get install faketime)"; exit 1; }
if [ $# -gt 0 ]; then dates=("$@"); else
  dates=(
    "2027-03-14 07:30:00"   # US spring-forward Sunday, 02:30 EST: the hour that does not exist in New York
    "2027-11-07 06:30:00"   # US fall-back Sunday, 01:30 EDT: the hour that happens twice
    "2026-12-03 08:30:00"   # Thursday 03:30 EST: inside Kalshi's 03:00-05:00 ET maintenance window
    "2027-01-01 00:10:00"   # New Year, just after midnight UTC (still Dec 31 in every Milkbot city)
  )
fi
failed=0
for d in "${dates[@]}"; do
  state=$(mktemp -d /var/tmp/mbclock-XXXXXX); chmod 755 "$state"
  port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  echo "== suite with the clock at $d UTC (state $state, port $port)"
  set +e
  # FAKETIME_DONT_FAKE_MONOTONIC: Debian 12's libfaketime fakes the monotonic clock too, and then
  # threading.Event().wait(1) never returns (the executor and the supervisor hung after one pass); not
  # faking it breaks time.sleep instead, which tests/clock/sitecustomize.py mends (see there)
  env TZ=UTC LD_PRELOAD="$LIB" FAKETIME="@$d" FAKETIME_DONT_RESET=1 FAKETIME_DONT_FAKE_MONOTONIC=1 \
      PYTHONPATH="$PWD/tests/clock${PYTHONPATH:+:$PYTHONPATH}" \
      MILKBOT_STATE_DIR="$state" MILKBOT_PG_PORT="$port" \
      bash -c 'date -u; .venv/bin/milkbot db up >/dev/null && .venv/bin/pytest -q -p no:randomly; rc=$?; .venv/bin/milkbot db down >/dev/null; exit $rc'
  rc=$?
  set -e
  rm -rf "$state"
  [ $rc -eq 0 ] || { echo "!! suite failed with the clock at $d"; failed=1; }
done
exit $failed
