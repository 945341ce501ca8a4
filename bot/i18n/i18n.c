/* The message catalogues: each po/<code>.po read with libgettextpo (GNU
 * gettext's own PO parser: the syntax, escapes, multi-line strings, flags
 * and file:line errors of msgfmt, with no parser of ours), checked like
 * `msgfmt --check` (a translation must take the arguments of its msgid),
 * then copied into a table sorted by msgid that tr() searches. */
#include "i18n.h"

#include <dirent.h>
#include <gettext-po.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "../core/log.h"

#define MOD      "i18n"
#define CATS_MAX 32 /* languages */
#define CODE_MAX 16 /* "ko", "pt-BR" */

#ifndef ENVBOT_PO_INSTALL_DIR
#define ENVBOT_PO_INSTALL_DIR ""
#endif
#ifndef ENVBOT_PO_SOURCE_DIR
#define ENVBOT_PO_SOURCE_DIR ""
#endif

struct entry {
	char *msgid, *msgstr; /* owned */
};

struct catalogue {
	char code[CODE_MAX];
	struct entry *e; /* sorted by msgid */
	size_t n;
};

struct set {
	struct catalogue c[CATS_MAX];
	size_t n;
};

/* What tr() reads; see i18n.h on why it is process-wide. */
static struct set loaded;

static void set_free(struct set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		for (size_t j = 0; j < s->c[i].n; j++) {
			free(s->c[i].e[j].msgid);
			free(s->c[i].e[j].msgstr);
		}
		free(s->c[i].e);
	}
	*s = (struct set){ 0 };
}

void i18n_unload(void)
{
	set_free(&loaded);
}

/* ---- libgettextpo's error handler ---- */

/* The problems of the file being read. libgettextpo's handler takes no
 * argument of ours, hence the pointer to the one load in progress (loads
 * happen at start-up, on one thread); and a fatal error must not return
 * into the library, hence the jump back to the reader. */
struct po_problems {
	jmp_buf fatal;
	const char *path;
	char first[512]; /* "FILE:LINE: what" of the first error */
	bool placed;     /* first has a line */
	unsigned errors;
};
static struct po_problems *reading;

static void problem(int severity, const char *filename, size_t lineno, const char *text)
{
	char line[400];
	snprintf(line, sizeof(line), "%s", text ? text : "error");
	line[strcspn(line, "\n")] = '\0';
	if (severity == PO_SEVERITY_WARNING) {
		log_warn(MOD, "msg=\"message catalogue: %s\" file=%s line=%zu", line,
			 filename ? filename : reading->path,
			 lineno == (size_t)-1 ? (size_t)0 : lineno);
		return;
	}
	reading->errors++;
	/* The first one with a line is the one to fix; libgettextpo's
	 * closing "found N fatal errors" has none. */
	bool placed = filename && lineno != (size_t)-1;
	if (reading->placed || (reading->first[0] && !placed))
		return;
	reading->placed = placed;
	if (placed)
		snprintf(reading->first, sizeof(reading->first), "%s:%zu: %s", filename, lineno,
			 line);
	else
		snprintf(reading->first, sizeof(reading->first), "%s: %s",
			 filename ? filename : reading->path, line);
}

static void on_xerror(int severity, po_message_t message, const char *filename, size_t lineno,
		      size_t column, int multiline_p, const char *message_text)
{
	(void)message;
	(void)column;
	(void)multiline_p;
	problem(severity, filename, lineno, message_text);
	if (severity == PO_SEVERITY_FATAL_ERROR)
		longjmp(reading->fatal, 1);
}

static void on_xerror2(int severity, po_message_t message1, const char *filename1, size_t lineno1,
		       size_t column1, int multiline_p1, const char *message_text1,
		       po_message_t message2, const char *filename2, size_t lineno2, size_t column2,
		       int multiline_p2, const char *message_text2)
{
	char both[512];
	(void)message1;
	(void)column1;
	(void)multiline_p1;
	(void)message2;
	(void)filename2;
	(void)column2;
	(void)multiline_p2;
	(void)message_text2;
	/* "duplicate message definition..." at the second, "...this is the
	 * location of the first definition" at the first. */
	snprintf(both, sizeof(both), "%s (see line %zu)", message_text1 ? message_text1 : "",
		 lineno2);
	problem(severity, filename1, lineno1, both);
	if (severity == PO_SEVERITY_FATAL_ERROR)
		longjmp(reading->fatal, 1);
}

static const struct po_xerror_handler handler = { .xerror = on_xerror, .xerror2 = on_xerror2 };

/* ---- reading one file ---- */

static int by_msgid(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->msgid, ((const struct entry *)b)->msgid);
}

/* The header's field, a new string or NULL. */
static char *header_field(po_file_t f, const char *field)
{
	/* libgettextpo hands the header over as a copy of its own. */
	char *h = (char *)po_file_domain_header(f, NULL);
	char *v = h ? po_header_field(h, field) : NULL;
	free(h);
	return v;
}

/* The charset and language the header declares, against the file's name. */
static enum bot_rc check_header(po_file_t f, const char *path, const char *code, char *err,
				size_t errlen)
{
	char *ct = header_field(f, "Content-Type"), *lang = header_field(f, "Language");
	enum bot_rc rc = BOT_EPARSE;
	if (!ct || !strcasestr(ct, "charset=UTF-8"))
		snprintf(err, errlen,
			 "%s: the header must say Content-Type: text/plain; "
			 "charset=UTF-8",
			 path);
	else if (!lang || strcmp(lang, code) != 0)
		snprintf(err, errlen, "%s: the header says Language: %s, the file name %s", path,
			 lang ? lang : "(none)", code);
	else
		rc = BOT_OK;
	free(ct);
	free(lang);
	return rc;
}

/* Every msgid with a '%' is a C format string in envbot (tr() results are
 * printf formats): marked so, whatever the translator's file says, and
 * checked, so that a translation that would read other arguments than the
 * English one does is refused (msgfmt --check's format check). Fuzzy entries
 * are not used, so not judged. Message by message rather than
 * po_file_check_all: that one also evaluates the header's plural formula
 * (envbot has no plurals) and leaks a few bytes inside libgettextpo doing
 * so, which the sanitizer pass would report at every start. */
static void check_formats(po_file_t f)
{
	po_message_iterator_t it = po_message_iterator(f, NULL);
	po_message_t m;
	while ((m = po_next_message(it)) != NULL) {
		bool fmt = strchr(po_message_msgid(m), '%') != NULL && !po_message_is_fuzzy(m);
		po_message_set_format(m, "c-format", fmt);
		if (fmt && !po_message_is_obsolete(m))
			po_message_check_format(m, &handler);
	}
	po_message_iterator_free(it);
}

/* The usable entries of f into c (copied). */
static enum bot_rc copy_entries(po_file_t f, struct catalogue *c)
{
	po_message_iterator_t it = po_message_iterator(f, NULL);
	po_message_t m;
	size_t cap = 0;
	enum bot_rc rc = BOT_OK;
	while ((m = po_next_message(it)) != NULL) {
		const char *id = po_message_msgid(m), *str = po_message_msgstr(m);
		/* The header (msgid ""), obsolete and fuzzy entries, plurals and
		 * contexts (envbot uses neither), untranslated ones: English. */
		if (!id[0] || !str || !str[0] || po_message_is_obsolete(m) ||
		    po_message_is_fuzzy(m) || po_message_msgid_plural(m) || po_message_msgctxt(m))
			continue;
		if (c->n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct entry *ne = realloc(c->e, ncap * sizeof(*ne));
			if (!ne) {
				rc = BOT_ENOMEM;
				break;
			}
			c->e = ne;
			cap = ncap;
		}
		struct entry *e = &c->e[c->n];
		e->msgid = strdup(id);
		e->msgstr = strdup(str);
		if (!e->msgid || !e->msgstr) {
			free(e->msgid);
			free(e->msgstr);
			rc = BOT_ENOMEM;
			break;
		}
		c->n++;
	}
	po_message_iterator_free(it);
	if (c->n)
		qsort(c->e, c->n, sizeof(*c->e), by_msgid);
	return rc;
}

/* Reads path (language code) into c. */
static enum bot_rc read_po(const char *path, const char *code, struct catalogue *c, char *err,
			   size_t errlen)
{
	struct po_problems pp = { .path = path };
	po_file_t volatile f = NULL;
	snprintf(c->code, sizeof(c->code), "%s", code);
	reading = &pp;
	if (setjmp(pp.fatal) == 0) {
		f = po_file_read(path, &handler);
		if (f && pp.errors == 0) {
			check_formats(f);
		}
	}
	reading = NULL;
	/* Declared after the jump's target: nothing of it to be clobbered. */
	enum bot_rc rc = BOT_EPARSE;
	if (!f && pp.errors == 0) {
		snprintf(err, errlen, "%s: cannot be read", path);
		rc = BOT_EIO;
	} else if (pp.errors) {
		snprintf(err, errlen, "%s", pp.first[0] ? pp.first : path);
	} else if ((rc = check_header(f, path, code, err, errlen)) == BOT_OK) {
		rc = copy_entries(f, c);
		if (rc != BOT_OK)
			snprintf(err, errlen, "%s: out of memory", path);
	}
	/* After a jump the file may be half-built: libgettextpo gave it back
	 * only if the read returned. */
	if (f)
		po_file_free(f);
	return rc;
}

/* "ko", "pt-BR": what a catalogue's file name may be called. */
static bool code_ok(const char *s, size_t n)
{
	if (n < 2 || n >= CODE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (i > 0 && s[i] == '-') || (i > 2 && s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .po file names in dir, sorted; *n of them. A new array of new
 * strings; NULL with *n 0 when none or on error. */
static char **po_names(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	*n = 0;
	if (!d)
		return NULL;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && *n < CATS_MAX) {
		size_t len = strlen(de->d_name);
		if (len < 4 || strcmp(de->d_name + len - 3, ".po") != 0 ||
		    !code_ok(de->d_name, len - 3))
			continue;
		char **nn = realloc(names, (*n + 1) * sizeof(*nn));
		if (!nn || !(nn[*n] = strdup(de->d_name))) {
			names = nn ? nn : names;
			break;
		}
		names = nn;
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(names, *n, sizeof(*names), by_name);
	return names;
}

enum bot_rc i18n_load(const char *dir, char *err, size_t errlen)
{
	struct set next = { 0 };
	enum bot_rc rc = BOT_ENOTFOUND;
	size_t n = 0;
	char **names = dir && dir[0] ? po_names(dir, &n) : NULL;
	err[0] = '\0';
	if (n == 0) {
		snprintf(err, errlen, "no message catalogue (*.po) in %s",
			 dir && dir[0] ? dir : "(no directory)");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char path[4096], code[CODE_MAX];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		snprintf(code, sizeof(code), "%.*s", (int)(strlen(names[i]) - 3), names[i]);
		rc = read_po(path, code, &next.c[next.n], err, errlen);
		next.n++; /* freed with the set whatever happened */
		if (rc != BOT_OK)
			goto out;
	}
	set_free(&loaded);
	loaded = next;
	next = (struct set){ 0 };
	rc = BOT_OK;
out:
	set_free(&next);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

const char *i18n_dir_default(void)
{
	const char *env = getenv("ENVBOT_PO_DIR");
	struct stat st;
	if (env && env[0])
		return env;
	if (ENVBOT_PO_INSTALL_DIR[0] && stat(ENVBOT_PO_INSTALL_DIR, &st) == 0 &&
	    S_ISDIR(st.st_mode))
		return ENVBOT_PO_INSTALL_DIR;
	return ENVBOT_PO_SOURCE_DIR;
}

/* ---- lookups ---- */

static const struct catalogue *find(const char *locale)
{
	for (size_t i = 0; locale && i < loaded.n; i++)
		if (strcmp(loaded.c[i].code, locale) == 0)
			return &loaded.c[i];
	return NULL;
}

const char *tr(const char *locale, const char *msgid)
{
	const struct catalogue *c = msgid ? find(locale) : NULL;
	if (!c)
		return msgid;
	struct entry key = { .msgid = (char *)msgid };
	const struct entry *e = bsearch(&key, c->e, c->n, sizeof(*c->e), by_msgid);
	return e ? e->msgstr : msgid;
}

const char *i18n_locale_of(const char *discord_locale)
{
	if (!discord_locale || !discord_locale[0])
		return "en";
	size_t lang = strcspn(discord_locale, "-_");
	for (size_t i = 0; i < loaded.n; i++)
		if (strcasecmp(loaded.c[i].code, discord_locale) == 0)
			return loaded.c[i].code;
	for (size_t i = 0; i < loaded.n; i++)
		if (strlen(loaded.c[i].code) == lang &&
		    strncasecmp(loaded.c[i].code, discord_locale, lang) == 0)
			return loaded.c[i].code;
	return "en";
}

bool i18n_translates(const char *locale)
{
	return find(locale) != NULL;
}

size_t i18n_count(const char *locale)
{
	const struct catalogue *c = find(locale);
	return c ? c->n : 0;
}

size_t i18n_n_locales(void)
{
	return loaded.n;
}

const char *i18n_locale_at(size_t i)
{
	return i < loaded.n ? loaded.c[i].code : NULL;
}
