#!/bin/sh
# Installs envbot's build (default), runtime (--runtime) or build + test
# (--test) dependencies on Debian 12 "bookworm". Idempotent and fast when
# nothing is missing: dpkg-query decides, and apt-get (with its update) only
# runs for packages that are not installed yet. Uses sudo when not root.
#
# usage: deploy/install-deps.sh [--runtime] [--test] [--list]
#   --runtime  only the shared libraries the envbot binary needs to run
#   --test     also what the test suite uses (fakes, fuzzers, sanitizers, linters)
#   --list     print the package names and exit (nothing installed)
# The runtime list must match the final stage of deploy/Dockerfile
# (tests/deploy_docker_files.sh checks it).
set -eu

RUNTIME_PKGS="libwebsockets17 libcurl4 libcjson1 libconfig9 libxml2 libcairo2 libssl3 zlib1g libical3 libgettextpo0 ca-certificates tzdata"
BUILD_PKGS="build-essential cmake pkg-config libwebsockets-dev libcurl4-openssl-dev libcjson-dev libssl-dev libconfig-dev zlib1g-dev libxml2-dev libcairo2-dev libical-dev libgettextpo-dev libfontconfig-dev"
# python3-aiohttp: the fake Discord and AWS servers; faketime: schedule tests;
# systemd: systemd-analyze for the unit test; python3-yaml: deploy file checks;
# python3-prometheus-client: parses /metrics; clang: fuzzers; valgrind, curl;
# gettext: msgfmt, xgettext and msgcmp for po_check (the message catalogues);
# and shellcheck for these scripts.
TEST_PKGS="python3 python3-aiohttp python3-yaml python3-prometheus-client faketime libfaketime systemd clang clang-format valgrind curl gettext shellcheck"

runtime=0
test=0
list=0
for arg in "$@"; do
	case $arg in
	--runtime) runtime=1 ;;
	--test) test=1 ;;
	--list) list=1 ;;
	-h | --help)
		sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "install-deps.sh: unknown option '$arg' (try --help)" >&2
		exit 2
		;;
	esac
done

pkgs=$RUNTIME_PKGS
[ $runtime -eq 1 ] && [ $test -eq 0 ] || pkgs="$pkgs $BUILD_PKGS"
if [ $test -eq 1 ]; then
	pkgs="$pkgs $TEST_PKGS"
	# The discord.js realism test needs node and npm; any install will do
	# (a NodeSource one is left alone), Debian's only if there is none.
	command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
	command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
fi

if [ $list -eq 1 ]; then
	# shellcheck disable=SC2086 # one line, single spaces
	echo $pkgs
	exit 0
fi

# One dpkg-query for all; packages it does not know are simply not listed.
# shellcheck disable=SC2086,SC2016 # split the list; ${...} is dpkg's syntax
installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' $pkgs 2>/dev/null |
	awk '$2 == "installed" { print $1 }' || true)
missing=
for p in $pkgs; do
	echo "$installed" | grep -qxF "$p" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps.sh: all $(echo "$pkgs" | wc -w) packages already installed"
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	SUDO=
elif command -v sudo >/dev/null 2>&1; then
	SUDO=sudo
else
	echo "install-deps.sh: not root and no sudo; install as root:$missing" >&2
	exit 1
fi
echo "install-deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086 # word splitting of the package list is intended
$SUDO apt-get install -y -q --no-install-recommends $missing
