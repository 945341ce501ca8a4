#!/bin/sh
# deploy/install-deps.sh with stub dpkg-query, apt-get, id and sudo first on
# PATH: nothing missing means no apt-get at all (not even update); a missing
# package means one update and an install of exactly the missing ones; not
# root means sudo; the flags select the documented package sets.
# Run from the source root.
# shellcheck disable=SC2015,SC2016 # ok() cannot fail; stubs expand at their run
set -u
script=$PWD/deploy/install-deps.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

mkdir "$tmp/bin"
# dpkg-query: reports every package as installed except those in $MISSING.
cat >"$tmp/bin/dpkg-query" <<'STUB'
#!/bin/sh
shift 2 # -W -f=FORMAT
for p in "$@"; do
	case " $MISSING " in *" $p "*) ;; *) echo "$p installed" ;; esac
done
STUB
printf '#!/bin/sh\necho "apt-get $*" >>"$LOG"\n' >"$tmp/bin/apt-get"
printf '#!/bin/sh\necho "sudo $1" >>"$LOG"\nexec "$@"\n' >"$tmp/bin/sudo"
printf '#!/bin/sh\necho "${FAKE_UID:-0}"\n' >"$tmp/bin/id"
chmod +x "$tmp/bin/"*
export LOG="$tmp/log" PATH="$tmp/bin:$PATH"

# usage: run MISSING FAKE_UID ARGS...
run() {
	: >"$LOG"
	out=$(MISSING=$1 FAKE_UID=$2 && export MISSING FAKE_UID && shift 2 && sh "$script" "$@" 2>&1)
	rc=$?
}

run "" 0 --test
[ $rc -eq 0 ] && [ ! -s "$LOG" ] && ok || bad "all installed: apt-get ran: $(cat "$LOG")"
echo "$out" | grep -q "already installed" && ok || bad "all installed: no message ($out)"

run "libcjson-dev faketime" 0 --test
[ $rc -eq 0 ] && ok || bad "missing: rc $rc"
[ "$(sed -n 1p "$LOG")" = "apt-get update -q" ] && ok || bad "missing: no update first"
grep -qx "apt-get install -y -q --no-install-recommends libcjson-dev faketime" "$LOG" && ok ||
	bad "missing: wrong install line: $(cat "$LOG")"
[ "$(wc -l <"$LOG")" -eq 2 ] && ok || bad "missing: more than update + install"

run libcjson-dev 1000
grep -q "^sudo apt-get" "$LOG" && ok || bad "not root: no sudo ($(cat "$LOG"))"

run faketime 0
[ ! -s "$LOG" ] && ok || bad "a test-only package is not installed without --test"

run "" 0 --runtime --list
[ "$out" = "libwebsockets17 libcurl4 libcjson1 libconfig9 libxml2 libcairo2 libssl3 zlib1g libical3 libgettextpo0 ca-certificates tzdata" ] &&
	ok || bad "--runtime --list: $out"
run "" 0 --list
echo "$out" | grep -q "libwebsockets-dev" && ! echo "$out" | grep -q "python3-aiohttp" && ok ||
	bad "--list: $out"
run "" 0 --test --list
for p in python3-aiohttp faketime systemd clang valgrind python3-yaml libwebsockets-dev gettext libgettextpo-dev; do
	echo "$out" | grep -qw -- "$p" && ok || bad "--test lacks $p"
done
run "" 0 --bogus
[ $rc -eq 2 ] && ok || bad "unknown option: rc $rc"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
