#!/bin/sh
# ctest po_check: the catalogues are what the code needs, so a reply never
# falls back to English by accident.
#  - po/envbot.pot is what po/update-pot.sh makes from the sources now (a
#    new or changed message is in the template translators work from);
#  - every msgid of it is in each po/<code>.po, translated: none missing,
#    none fuzzy, none empty (msgcmp; msgattrib);
#  - each catalogue passes msgfmt --check (syntax, header, and every
#    translation takes the arguments of its msgid: a %s more or less would
#    read the wrong memory).
# (That the command descriptions' translations fit Discord's 100 characters
# is unit_i18n's, on the definitions built from po/ko.po.)
# usage: po/check.sh [SOURCE_DIR]
set -eu
src=${1:-$(dirname "$0")/..}
for t in xgettext msgfmt msgcmp msgattrib; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "po_check: $t not found (apt-get install gettext)" >&2
		exit 1
	}
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

"$src/po/update-pot.sh" "$src" "$tmp/envbot.pot"
# Messages only (the header and locations may differ).
msgids() { msgattrib --no-location --no-wrap --sort-output --clear-fuzzy "$1" | grep -v '^#'; }
if ! msgids "$src/po/envbot.pot" >"$tmp/have" || ! msgids "$tmp/envbot.pot" >"$tmp/want" ||
	! cmp -s "$tmp/have" "$tmp/want"; then
	echo "po_check: po/envbot.pot is out of date: run po/update-pot.sh (cmake --build . -t pot)" >&2
	diff "$tmp/have" "$tmp/want" | head -20 >&2 || true
	fail=1
fi

n=0
for po in "$src"/po/*.po; do
	[ -e "$po" ] || continue
	n=$((n + 1))
	name=$(basename "$po")
	if ! msgfmt --check -o /dev/null "$po"; then
		echo "po_check: $name: msgfmt --check failed" >&2
		fail=1
	fi
	# Every message the code uses, translated (fuzzy and empty count as
	# missing here).
	if ! msgcmp "$po" "$tmp/envbot.pot" 2>"$tmp/cmp"; then
		grep -v 'warning: this message is not used' "$tmp/cmp" >&2 || true
		echo "po_check: $name: messages the code uses are missing (msgmerge --update $name envbot.pot, then translate)" >&2
		fail=1
	fi
	if [ -n "$(msgattrib --only-fuzzy --no-obsolete "$po" | grep '^msgid' | grep -v '^msgid ""$' || true)" ]; then
		echo "po_check: $name: fuzzy entries (review them, then drop the fuzzy flag):" >&2
		msgattrib --only-fuzzy --no-obsolete "$po" | grep '^msgid' | grep -v '^msgid ""$' | head -10 >&2
		fail=1
	fi
	if [ -n "$(msgattrib --untranslated --no-obsolete "$po" | grep '^msgid' | grep -v '^msgid ""$' || true)" ]; then
		echo "po_check: $name: untranslated (empty) entries:" >&2
		msgattrib --untranslated --no-obsolete "$po" | grep '^msgid' | grep -v '^msgid ""$' | head -10 >&2
		fail=1
	fi
done
if [ "$n" -eq 0 ]; then
	echo "po_check: no catalogue in $src/po" >&2
	fail=1
fi
[ "$fail" -eq 0 ] && echo "po_check: $n catalogue(s) complete and valid"
exit "$fail"
