#!/bin/sh
# deploy/envbot.service: `systemd-analyze verify` must pass without a single
# message, the hardening (docs/OPERATIONS.md, 5a) must be there, and the offline
# security audit must rate the exposure 1.5 or lower. verify insists that
# ExecStart's binary exists, so a copy of the unit points at the built one.
# Skips (77) without systemd-analyze (Debian package: systemd).
# usage: deploy_systemd_verify.sh PATH/TO/envbot   (run from the source root)
# shellcheck disable=SC2015,SC2016 # ok() cannot fail; $MAINPID is literal
set -u
bin=$1
unit=deploy/envbot.service
command -v systemd-analyze >/dev/null 2>&1 || {
	echo "SKIP: systemd-analyze not installed (apt-get install systemd)"
	exit 77
}
[ -x "$bin" ] || { echo "FAIL: $bin is not an executable"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

sed "s#^ExecStart=/usr/local/bin/envbot #ExecStart=$bin #" "$unit" >"$tmp/envbot.service"
grep -q "^ExecStart=$bin " "$tmp/envbot.service" && ok || bad "ExecStart is not /usr/local/bin/envbot ..."

# verify: exit 0 is not enough, unknown keys are only warnings.
out=$(systemd-analyze verify --man=no "$tmp/envbot.service" 2>&1)
rc=$?
[ $rc -eq 0 ] && [ -z "$out" ] && ok || bad "systemd-analyze verify (rc $rc): $out"

# The same check must catch a typo (proves the empty-output test is not vacuous).
mkdir "$tmp/typo"
sed 's/^ProtectSystem=strict/ProtectSytem=strict/' "$tmp/envbot.service" >"$tmp/typo/envbot.service"
out=$(systemd-analyze verify --man=no "$tmp/typo/envbot.service" 2>&1)
[ -n "$out" ] && ok || bad "verify did not report a misspelt key"

for line in 'DynamicUser=yes' 'StateDirectory=envbot' 'ConfigurationDirectory=envbot' \
	'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' 'NoNewPrivileges=yes' \
	'CapabilityBoundingSet=' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
	'SystemCallFilter=@system-service' 'Restart=on-failure' 'RestartPreventExitStatus=2 3' \
	'ExecReload=/bin/kill -HUP $MAINPID' 'EnvironmentFile=-/etc/envbot/envbot.env'; do
	grep -qxF "$line" "$unit" && ok || bad "missing line: $line"
done

# Offline security audit (systemd >= 250); the threshold is 10x the score.
if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
	if out=$(systemd-analyze security --offline=true --threshold=15 --no-pager \
		"$tmp/envbot.service" 2>&1); then
		ok
	else
		bad "exposure above 1.5: $(echo "$out" | tail -1)"
	fi
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
