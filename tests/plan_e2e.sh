#!/bin/sh
# End-to-end test of `envbot plan` on the shipped example config: the
# December 2026 figures (dev stack, qa EC2, staging group, the holidays of the example), the holiday skip in the listing, --json
# parseable with the same numbers, and exit 2 on bad arguments.
# usage: plan_e2e.sh ENVBOT_BINARY SOURCE_DIR
set -u
bin=$1
cfg=$2/config/example.cfg
out=$(mktemp)
trap 'rm -f "$out"' EXIT
fail=0
check() { # description, then a command that must succeed
	desc=$1
	shift
	if "$@"; then
		echo "ok: $desc"
	else
		echo "FAIL: $desc"
		fail=1
	fi
}
has() { grep -Eq -- "$1" "$out"; }
# A sanitizer build (ASan, LSan at exit, UBSan) reports on stderr, which
# every run below sends to $out: a report fails the test whatever the exit
# status, and every run's exit status is checked.
clean() { ! grep -Eq 'ERROR: [A-Za-z]+Sanitizer|runtime error:|Sanitizer has encountered' "$out"; }

"$bin" -c "$cfg" plan --from 2026-12-01 >"$out" 2>&1
check "plan exits 0" test $? -eq 0
check "plan: no sanitizer report" clean
cat "$out"
check "dev row: 198 of 744 h, 179.30 vs 47.72, saved 131.58 (73.4 %)" \
	has '^ +dev +0\.241 +198\.0/744 +179\.30 +47\.72 +131\.58 +73\.4%'
check "qa row: 253 of 744 h, 68.45 vs 23.28, saved 45.17" \
	has '^ +qa +0\.092 +253\.0/744 +68\.45 +23\.28 +45\.17 +66\.0%'
check "staging row (a group: its own schedule and cost): 198 of 744 h, 312.48 vs 83.16" \
	has '^ +staging +0\.420 +198\.0/744 +312\.48 +83\.16 +229\.32 +73\.4%'
check "total row adds up: 560.23 vs 154.16, saved 406.07" \
	has '^ +total +649\.0/2232 +560\.23 +154\.16 +406\.07 +72\.5%'
check "first action: Tue 09:00 KST = 00:00 UTC" \
	has 'Tue 2026-12-01 09:00 KST +start +2026-12-01 00:00 UTC'
check "a week: 5 starts and 5 stops each for dev, qa and staging (Tue-Fri, Mon)" \
	test "$(grep -Ec 'KST +start' "$out"),$(grep -Ec 'KST +stop' "$out")" = "15,15"

"$bin" -c "$cfg" plan --from 2026-12-21 --env dev >"$out" 2>&1
check "plan --env exits 0" test $? -eq 0
check "plan --env: no sanitizer report" clean
check "holiday start skipped" has 'Fri 2026-12-25 09:00 KST +start .*skipped \(holiday\)'
check "holiday stop still listed" has 'Fri 2026-12-25 18:00 KST +stop +2026-12-25 09:00 UTC$'
check "--env lists only dev" sh -c "! grep -q '^qa ' '$out'"

"$bin" -c "$cfg" plan --from 2026-12-01 --json >"$out" 2>&1
check "--json exits 0" test $? -eq 0
check "--json: no sanitizer report" clean
check "--json parses with the same figures" python3 - "$out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
dev = next(e for e in d["environments"] if e["name"] == "dev")
c = dev["cost"]
assert (c["hours_up"], c["hours_month"]) == (198, 744), c
assert (c["always_on"], c["scheduled"], c["saved"], c["saved_pct"]) == (179.30, 47.72, 131.58, 73.4), c
t = d["total"]
envs = d["environments"]
for k in ("always_on", "scheduled", "saved"):
    assert round(sum(e["cost"][k] for e in envs), 2) == t[k], (k, t)
assert dev["actions"][0] == {"action": "start", "local": "2026-12-01T09:00:00+09:00",
                             "zone": "KST", "utc": "2026-12-01T00:00:00Z", "skipped": None}, dev["actions"][0]
assert len(dev["actions"]) == 10 and d["month"] == "2026-12"
PY

"$bin" -c "$cfg" plan --days 0 >/dev/null 2>&1
check "--days 0 is a usage error (2)" test $? -eq 2
"$bin" -c "$cfg" plan --from 2026-02-30 >/dev/null 2>&1
check "a bad date is a usage error (2)" test $? -eq 2
"$bin" -c "$cfg" plan --env nosuch >/dev/null 2>&1
check "an unknown environment is an error (2)" test $? -eq 2
# Overrides from the daemon's state file (a /env skip, a chat holiday) show
# in the plan with the daemon's own conflict rule.
sdir=$(mktemp -d)
cat >"$sdir/state.json" <<'JSON'
{"version": 1, "environments": {"dev": {"extends": [], "skips": [{"date": "2026-12-02",
 "set_at": 1795400735, "who": "alice"}], "uptime": {"up_since": 0, "intervals": []}}},
 "holidays": [{"date": "2026-12-03", "added_at": 1795400735, "label": "offsite",
 "who": "bob"}], "workflows": [], "audit": []}
JSON
sed "s|^state_file = .*|state_file = \"$sdir/state.json\";|" "$cfg" >"$sdir/p.cfg"
"$bin" -c "$sdir/p.cfg" plan --from 2026-12-01 --days 3 --env dev >"$out" 2>&1
check "plan with a state file exits 0" test $? -eq 0
check "plan with a state file: no sanitizer report" clean
check "a /env skip from the state file is shown" has 'Wed 2026-12-02 09:00 KST +start .*skipped \(/env skip by alice\)'
check "a chat holiday skips the start" has 'Thu 2026-12-03 09:00 KST +start .*skipped \(holiday 2026-12-03 \(offsite, added by bob\)\)'
check "the stop of a skipped day still runs" has 'Wed 2026-12-02 18:00 KST +stop +2026-12-02 09:00 UTC$'
rm -rf "$sdir"
exit $fail
