#!/bin/sh
# End-to-end test of `envbot check-config` (the real binary):
#  - config/example.cfg loads cleanly: exit 0 and the summary on stdout;
#  - every tests/config-bad/*.cfg is refused: exit 2, nothing on stdout, and
#    each "# expect: FILE:LINE: setting: message" line at the top of the file
#    appears verbatim in stderr (files are run from their own directory, so
#    FILE is the bare file name);
#  - a missing file is refused with exit 2 and the reason.
# usage: check_config_e2e.sh ENVBOT_BINARY SOURCE_DIR
set -u
# The test changes directory: make the binary path absolute first.
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=$2
failed=0
passed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
unset DISCORD_TOKEN ENVBOT_CONFIG

fail() {
	echo "FAIL: $*" >&2
	failed=$((failed + 1))
}

# The reference config.
if "$bin" -c "$src/config/example.cfg" check-config >"$tmp/out" 2>"$tmp/err"; then
	for want in "environments (3)" "ChatAppMasterStack" "AutoStopStart=Yes" \
		"1. rds-cluster chat-docdb" "3. asg chat-ecs-asg (restore 1/2/4)" \
		"at 09:00" "Asia/Seoul" "2026-12-25" "400000000000000004"; do
		if ! grep -qF -- "$want" "$tmp/out"; then
			fail "example.cfg: summary lacks '$want'"
			cat "$tmp/out" >&2
		fi
	done
	passed=$((passed + 1))
else
	fail "example.cfg: exit $? (want 0)"
	cat "$tmp/err" >&2
fi

# One bad config per kind of mistake.
cd "$src/tests/config-bad" || exit 1
n=0
for f in *.cfg; do
	n=$((n + 1))
	"$bin" -c "$f" check-config >"$tmp/out" 2>"$tmp/err"
	status=$?
	if [ "$status" -ne 2 ]; then
		fail "$f: exit $status (want 2)"
		cat "$tmp/err" >&2
		continue
	fi
	if [ -s "$tmp/out" ]; then
		fail "$f: printed a summary although the config is bad"
	fi
	grep '^# expect: ' "$f" | sed 's/^# expect: //' >"$tmp/expect"
	if [ ! -s "$tmp/expect" ]; then
		fail "$f: has no '# expect:' line"
		continue
	fi
	ok=1
	while IFS= read -r want; do
		if ! grep -qF -- "$want" "$tmp/err"; then
			fail "$f: stderr lacks: $want"
			ok=0
		fi
	done <"$tmp/expect"
	if [ "$ok" -eq 0 ]; then
		echo "--- stderr of $f:" >&2
		cat "$tmp/err" >&2
	else
		passed=$((passed + 1))
	fi
done
if [ "$n" -lt 40 ]; then
	fail "only $n bad configs found in tests/config-bad"
fi

# A file that does not exist.
"$bin" -c "$tmp/nonexistent.cfg" check-config >/dev/null 2>"$tmp/err"
status=$?
if [ "$status" -eq 2 ] && grep -qF "nonexistent.cfg" "$tmp/err" &&
	grep -qF "No such file" "$tmp/err"; then
	passed=$((passed + 1))
else
	fail "missing file: exit $status"
	cat "$tmp/err" >&2
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
