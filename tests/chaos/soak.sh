#!/usr/bin/env bash
# The long soak (not in CI): `envbot run` for hours against the fake
# Discord and the fake AWS while /env list, holidays and start/stop
# workflows flow, the gateway connection dropped every few minutes; the
# daemon's RSS is printed every minute and at the end, and the invariants
# of the chaos suite are checked at the end (nothing lost, nothing twice,
# still serving).
#
# usage: tests/chaos/soak.sh [ENVBOT_BINARY] [SECONDS] [DROP_EVERY_SECONDS]
#        defaults: build/envbot, 10800 (3 hours), 180
# Output: the chaos suite's lines, "soak: t=...s RSS ... kB" every minute,
# and a final summary; exit 0 when every check passed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../build/envbot}
export CHAOS_SOAK_SECONDS=${2:-10800}
export CHAOS_DROP_EVERY=${3:-180}
exec /usr/bin/python3 "$here/chaos.py" "$bin" soak
