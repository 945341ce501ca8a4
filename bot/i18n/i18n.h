/* envbot's languages: the message catalogues of po/ (one <code>.po per
 * language, gettext's format, the English text as msgid) read once at
 * start-up, and the lookup every reply, embed and warning goes through with
 * the language of the person or channel it is for.
 *
 * Why not gettext(): glibc speaks one language per process (LC_MESSAGES,
 * LANGUAGE, and the system locale installed), while envbot answers each
 * interaction in its own user's language at the same time; so the .po files
 * are read with GNU gettext's own parser (libgettextpo) into a table of our
 * own, and tr() takes the language as an argument.
 *
 * The catalogue is process-wide like the logger: written by i18n_load before
 * any other thread starts, read-only afterwards, so tr() takes no lock and no
 * handle has to be threaded through every reply helper. */
#ifndef ENVBOT_I18N_H
#define ENVBOT_I18N_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/rc.h"

/* Marks a string of a static table (command descriptions, step labels) for
 * xgettext without translating it there: tr() translates it where it is
 * shown. */
#define N_(s) s

/* Reads every <code>.po of dir (ko.po: Korean), replacing what was loaded.
 * A fuzzy entry, an empty msgstr and the header are skipped: those fall back
 * to English. Returns BOT_OK; BOT_ENOTFOUND when dir has no .po file (err
 * says where it looked: English only); BOT_EPARSE when a file is malformed,
 * is not UTF-8, names another Language than its file name, or a translation
 * does not take the arguments of its msgid (err: "FILE:LINE: what", from
 * libgettextpo; what was loaded before stays); BOT_ENOMEM. Not thread-safe: call
 * before other threads use tr(). */
enum bot_rc i18n_load(const char *dir, char *err, size_t errlen);
/* Forgets every catalogue: tr() answers English. */
void i18n_unload(void);

/* Where the catalogues are: $ENVBOT_PO_DIR when set, else the installed
 * directory (share/envbot/po under the install prefix) when it exists, else
 * the source tree's po/, so a build runs from the tree. Static or
 * environment storage: not to be freed. */
const char *i18n_dir_default(void);

/* msgid in the language locale ("ko"): its translation, or msgid itself for
 * NULL, "en", a language without catalogue, or a msgid without a
 * translation. The result is borrowed from the catalogue (until the next
 * i18n_load) or is msgid. format_arg: a translated format string is checked
 * by the compiler against the msgid's arguments, and translators may reorder
 * them with positional arguments (%1$s, %2$s). */
const char *tr(const char *locale, const char *msgid) __attribute__((format_arg(2)));

/* The catalogue language of a Discord locale: a loaded catalogue's code when
 * it is the locale ("ko") or the locale's language ("pt" for "pt-BR"), else
 * "en". Borrowed (static, or the catalogue's until the next i18n_load). */
const char *i18n_locale_of(const char *discord_locale);

/* True when a catalogue of locale is loaded: tr() may answer other words
 * than the msgid. */
bool i18n_translates(const char *locale);

/* How many translations the catalogue of locale holds (0 when none). */
size_t i18n_count(const char *locale);
/* The loaded catalogues' codes ("ko"), i < i18n_n_locales(), in file-name
 * order; borrowed until the next i18n_load. */
size_t i18n_n_locales(void);
const char *i18n_locale_at(size_t i);

#endif
