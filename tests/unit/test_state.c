/* The state module: every field survives a save and a load, the audit log is
 * bounded, saves are atomic and keep the previous file as .bak, a corrupt or
 * truncated file is moved aside and .bak loaded (never an empty start), a
 * newer format is refused, failed saves leave the old file alone, overrides
 * expire, and the conflict rule decides as state.h documents. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../bot/core/log.h"
#include "../../bot/state/state.h"
#include "check.h"

/* 2026-11-23 00:00:00 UTC */
#define T0 ((time_t)1795392000)

static char dir[64];

static void path_in(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *s = malloc(n + 1);
	memcpy(s, buf, n + 1);
	return s;
}

static void spit(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");
	fwrite(text, 1, len, f);
	fclose(f);
}

static bool exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

/* Names in dir starting with prefix. */
static int count_prefix(const char *prefix)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "ls -1 %s | grep -c '^%s' 2>/dev/null", dir, prefix);
	FILE *p = popen(cmd, "r");
	int n = 0;
	if (p) {
		if (fscanf(p, "%d", &n) != 1)
			n = 0;
		pclose(p);
	}
	return n;
}

static void clean_dir(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s/* %s/.[!.]* 2>/dev/null", dir, dir);
	if (system(cmd) != 0) {
		/* an empty directory makes the glob fail; nothing to do */
	}
}

/* A state with every kind of field set, distinct per `v`. */
static struct state *full_state(int v)
{
	struct state *st = state_create();
	char err[256];
	char who[32];
	snprintf(who, sizeof(who), "alice%d", v);
	CHECK_INT(state_extend_set(st, "dev", 20261123, T0 + 22 * 3600, who, T0 + 1, err,
				   sizeof(err)),
		  BOT_OK);
	CHECK_INT(state_extend_set(st, "dev", 20261124, T0 + 47 * 3600 + v, "bob", T0 + 2, err,
				   sizeof(err)),
		  BOT_OK);
	CHECK_INT(state_skip_add(st, "dev", 20261126, "carol", T0 + 3, err, sizeof(err)), BOT_OK);
	CHECK_INT(state_skip_add(st, "dev", 20261125, who, T0 + 4, err, sizeof(err)), BOT_OK);
	CHECK_INT(state_pause_set(st, "qa", 20261201, 0, "dave", T0 + 5, err, sizeof(err)), BOT_OK);
	CHECK_INT(state_pause_set(st, "dev", 0, T0 + 86400 * 3, "erin", T0 + 6, err, sizeof(err)),
		  BOT_OK);
	state_freeze(st, "bob", T0 + 7);
	CHECK_INT(state_holiday_add(st, 20261224, "Christmas Eve \xed\x81\xac\xeb\xa6\xac", who,
				    T0 + 8, err, sizeof(err)),
		  BOT_OK);
	CHECK_INT(state_holiday_add(st, 20261231, "", "frank", T0 + 9, err, sizeof(err)), BOT_OK);
	for (int i = 0; i < 5; i++) {
		char action[64];
		snprintf(action, sizeof(action), "/env extend dev %dh \"quoted\"", i + v);
		CHECK_INT(state_audit(st, T0 + 10 + i, "600000000000000006", "alice", action,
				      i % 2 ? "dev" : "",
				      i == 3 ? "refused: not an operator" : "ok"),
			  BOT_OK);
	}
	struct state_wf w;
	memset(&w, 0, sizeof(w));
	snprintf(w.env, sizeof(w.env), "dev");
	w.kind = ACTION_START;
	snprintf(w.id, sizeof(w.id), "wf-%d", v);
	snprintf(w.trigger, sizeof(w.trigger), "/env start by alice");
	w.started = T0 + 20;
	snprintf(w.stack_id, sizeof(w.stack_id),
		 "arn:aws:cloudformation:ap-northeast-2:123456789012:stack/ChatAppMasterStack/"
		 "0b5e2c30-7d3f-11ee-9f3a-0a1b2c3d4e5f");
	snprintf(w.token, sizeof(w.token), "envbot-dev-start-%d", v);
	snprintf(w.channel_id, sizeof(w.channel_id), "300000000000000003");
	snprintf(w.message_id, sizeof(w.message_id), "700000000000000007");
	snprintf(w.step, sizeof(w.step), "poll_create");
	snprintf(w.image_tag, sizeof(w.image_tag), "v1.2.%d", v);
	CHECK_INT(state_wf_put(st, &w, err, sizeof(err)), BOT_OK);
	snprintf(w.env, sizeof(w.env), "qa");
	w.kind = ACTION_STOP;
	w.stack_id[0] = w.token[0] = w.message_id[0] = '\0';
	snprintf(w.trigger, sizeof(w.trigger), "schedule");
	CHECK_INT(state_wf_put(st, &w, err, sizeof(err)), BOT_OK);
	CHECK_INT(state_up(st, "dev", T0 + 9 * 3600), BOT_OK);
	CHECK_INT(state_down(st, "dev", T0 + 18 * 3600), BOT_OK);
	CHECK_INT(state_up(st, "dev", T0 + 33 * 3600), BOT_OK);
	CHECK_INT(state_up(st, "qa", T0 + 100), BOT_OK);
	state_set_last_tick(st, T0 + 40 + v);
	return st;
}

/* The config's holidays as a list, asked the way the scheduler's
 * holidays_decide_fn is (bot/sched/holidays.c). */
struct day_list {
	const ymd_t *v;
	size_t n;
};

static bool in_list(void *ctx, ymd_t date, char *label, size_t len)
{
	const struct day_list *l = ctx;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == date) {
			if (len)
				label[0] = '\0';
			return true;
		}
	return false;
}

static void decide_list(const struct state *st, const char *env, enum action action, time_t at,
			ymd_t date, const ymd_t *days, size_t n, const struct tz *tz,
			struct state_decision *out)
{
	struct day_list l = { .v = days, .n = n };
	state_decide(st, env, action, at, date, in_list, &l, tz, out);
}

static void test_roundtrip(void)
{
	char path[128], err[256];
	path_in(path, sizeof(path), "state.json");
	struct state *st = full_state(1);
	char *before = state_dump(st);
	CHECK(before != NULL);
	CHECK_INT(state_save(st, path, err, sizeof(err)), BOT_OK);

	struct state *ld = NULL;
	struct state_load_info info;
	CHECK_INT(state_load(path, &ld, &info, err, sizeof(err)), BOT_OK);
	CHECK(ld != NULL);
	CHECK(!info.missing && !info.recovered);
	char *after = state_dump(ld);
	CHECK_STR(after, before);

	/* And field by field, so that a symmetric encoder bug cannot hide. */
	const struct state_extend *x = state_extend_for(ld, "dev", 20261123);
	CHECK(x && x->stop_at == T0 + 22 * 3600 && x->set_at == T0 + 1);
	CHECK_STR(x ? x->who : NULL, "alice1");
	CHECK(state_extend_for(ld, "dev", 20261125) == NULL);
	CHECK_INT(state_extend_count(ld, "dev"), 2);
	CHECK_INT(state_extend_at(ld, "dev", 1)->date, 20261124); /* date order */
	CHECK(state_extend_at(ld, "dev", 2) == NULL);
	CHECK_INT(state_extend_count(ld, "nope"), 0);
	CHECK(state_is_skipped(ld, "dev", 20261125));
	CHECK(state_is_skipped(ld, "dev", 20261126));
	CHECK(!state_is_skipped(ld, "dev", 20261124));
	CHECK(!state_is_skipped(ld, "qa", 20261125));
	CHECK_INT(state_skip_count(ld, "dev"), 2);
	CHECK_INT(state_skip_at(ld, "dev", 0)->date, 20261125); /* date order */
	CHECK_STR(state_skip_at(ld, "dev", 1)->who, "carol");
	const struct state_pause *p = state_pause_until(ld, "qa");
	CHECK(p && p->until_date == 20261201 && p->until_at == 0 && p->since == T0 + 5);
	p = state_pause_until(ld, "dev");
	CHECK(p && p->until_date == 0 && p->until_at == T0 + 86400 * 3);
	CHECK_STR(p ? p->who : NULL, "erin");
	const struct state_freeze *f = state_is_frozen(ld);
	CHECK(f && f->since == T0 + 7);
	CHECK_STR(f ? f->who : NULL, "bob");
	CHECK_INT(state_holiday_count(ld), 2);
	const struct state_holiday *h = state_holiday_find(ld, 20261224);
	CHECK_STR(h ? h->label : NULL, "Christmas Eve \xed\x81\xac\xeb\xa6\xac");
	CHECK(h && h->added_at == T0 + 8);
	CHECK_STR(state_holiday_at(ld, 1)->who, "frank");
	CHECK_INT(state_audit_count(ld), 5);
	const struct state_audit *a = state_audit_at(ld, 3);
	CHECK(a && a->time == T0 + 13);
	CHECK_STR(a ? a->action : NULL, "/env extend dev 4h \"quoted\"");
	CHECK_STR(a ? a->outcome : NULL, "refused: not an operator");
	CHECK_STR(a ? a->env : NULL, "dev");
	CHECK_STR(a ? a->user_id : NULL, "600000000000000006");
	CHECK_INT(state_wf_count(ld), 2);
	const struct state_wf *w = state_wf_find(ld, "dev");
	CHECK(w && w->kind == ACTION_START && w->started == T0 + 20);
	CHECK_STR(w ? w->stack_id : NULL,
		  "arn:aws:cloudformation:ap-northeast-2:123456789012:stack/ChatAppMasterStack/"
		  "0b5e2c30-7d3f-11ee-9f3a-0a1b2c3d4e5f");
	CHECK_STR(w ? w->token : NULL, "envbot-dev-start-1");
	CHECK_STR(w ? w->message_id : NULL, "700000000000000007");
	CHECK_STR(w ? w->channel_id : NULL, "300000000000000003");
	CHECK_STR(w ? w->step : NULL, "poll_create");
	CHECK_STR(w ? w->image_tag : NULL, "v1.2.1");
	CHECK_STR(w ? w->trigger : NULL, "/env start by alice");
	w = state_wf_find(ld, "qa");
	CHECK(w && w->kind == ACTION_STOP);
	CHECK_STR(w ? w->trigger : NULL, "schedule");
	CHECK_INT(state_last_tick(ld), T0 + 41);
	time_t since = 0;
	CHECK(state_is_up(ld, "dev", &since) && since == T0 + 33 * 3600);
	CHECK_INT(state_uptime_seconds(ld, "dev", T0, T0 + 86400, T0 + 86400), 9 * 3600);

	/* The file is private: it names users. */
	struct stat sb;
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);

	free(before);
	free(after);
	state_destroy(st);
	state_destroy(ld);
	clean_dir();
}

static void test_audit_bounded(void)
{
	struct state *st = state_create();
	char act[32], path[128], err[256];
	state_set_audit_max(st, 3);
	for (int i = 0; i < 7; i++) {
		snprintf(act, sizeof(act), "a%d", i);
		CHECK_INT(state_audit(st, T0 + i, NULL, "u", act, NULL, "ok"), BOT_OK);
	}
	CHECK_INT(state_audit_count(st), 3);
	CHECK_STR(state_audit_at(st, 0)->action, "a4"); /* oldest dropped first */
	CHECK_STR(state_audit_at(st, 2)->action, "a6");
	CHECK(state_audit_at(st, 3) == NULL);

	/* Growing the bound keeps everything, in order. */
	state_set_audit_max(st, 5);
	for (int i = 7; i < 10; i++) {
		snprintf(act, sizeof(act), "a%d", i);
		state_audit(st, T0 + i, NULL, "u", act, NULL, "ok");
	}
	CHECK_INT(state_audit_count(st), 5);
	CHECK_STR(state_audit_at(st, 0)->action, "a5");
	CHECK_STR(state_audit_at(st, 4)->action, "a9");

	/* Saved and loaded: same order; a smaller configured bound trims the
	 * oldest at load time. */
	path_in(path, sizeof(path), "audit.json");
	CHECK_INT(state_save(st, path, err, sizeof(err)), BOT_OK);
	struct state *ld = NULL;
	CHECK_INT(state_load(path, &ld, NULL, err, sizeof(err)), BOT_OK);
	CHECK_INT(state_audit_count(ld), 5);
	state_set_audit_max(ld, 2);
	CHECK_INT(state_audit_count(ld), 2);
	CHECK_STR(state_audit_at(ld, 0)->action, "a8");
	CHECK_STR(state_audit_at(ld, 1)->action, "a9");
	state_audit(ld, T0 + 10, NULL, "u", "a10", NULL, "ok");
	CHECK_INT(state_audit_count(ld), 2);
	CHECK_STR(state_audit_at(ld, 0)->action, "a9");

	/* Long text is truncated at a character boundary, never overflowing. */
	char longtext[600];
	memset(longtext, 'x', sizeof(longtext));
	memcpy(longtext + 250, "\xed\x81\xac\xed\x81\xac", 6); /* straddles byte 255 */
	longtext[sizeof(longtext) - 1] = '\0';
	state_audit(ld, T0 + 11, NULL, "u", longtext, NULL, "ok");
	const char *got = state_audit_at(ld, 1)->action;
	CHECK_INT(strlen(got), 253);
	CHECK_INT(memcmp(got + 250, "\xed\x81\xac", 3), 0);

	/* A big bound with many entries: the ring wraps many times. */
	state_set_audit_max(ld, 1000);
	for (int i = 0; i < 2500; i++)
		state_audit(ld, T0 + i, NULL, "u", "bulk", NULL, "ok");
	CHECK_INT(state_audit_count(ld), 1000);
	CHECK(state_audit_at(ld, 0)->time == T0 + 1500);
	CHECK(state_audit_at(ld, 999)->time == T0 + 2499);

	state_destroy(st);
	state_destroy(ld);
	clean_dir();
}

static void test_save_keeps_bak(void)
{
	char path[128], bak[128], tmp[128], err[256];
	path_in(path, sizeof(path), "s.json");
	path_in(bak, sizeof(bak), "s.json.bak");
	path_in(tmp, sizeof(tmp), "s.json.tmp");
	struct state *v1 = full_state(1), *v2 = full_state(2), *v3 = full_state(3);
	char *d1 = state_dump(v1), *d2 = state_dump(v2), *d3 = state_dump(v3);

	CHECK_INT(state_save(v1, path, err, sizeof(err)), BOT_OK);
	CHECK(!exists(bak)); /* nothing before the first save */
	CHECK_INT(state_save(v2, path, err, sizeof(err)), BOT_OK);
	CHECK(exists(bak));
	CHECK(!exists(tmp));
	char *f = slurp(path), *b = slurp(bak);
	/* The file is the dump plus a newline. */
	CHECK(f && strncmp(f, d2, strlen(d2)) == 0);
	CHECK(b && strncmp(b, d1, strlen(d1)) == 0);
	free(f);
	free(b);

	CHECK_INT(state_save(v3, path, err, sizeof(err)), BOT_OK);
	f = slurp(path);
	b = slurp(bak);
	CHECK(f && strncmp(f, d3, strlen(d3)) == 0);
	CHECK(b && strncmp(b, d2, strlen(d2)) == 0);
	free(f);
	free(b);

	/* A tmp file left by a crash, with a loose mode, is replaced. */
	spit(tmp, "junk", 4);
	chmod(tmp, 0644);
	CHECK_INT(state_save(v1, path, err, sizeof(err)), BOT_OK);
	CHECK(!exists(tmp));
	struct stat sb;
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);

	free(d1);
	free(d2);
	free(d3);
	state_destroy(v1);
	state_destroy(v2);
	state_destroy(v3);
	clean_dir();
}

/* Damages the file in a way, then checks the recovery path. */
static void check_recovers(const char *damage, size_t len, const char *what)
{
	char path[128], bak[128], err[256];
	path_in(path, sizeof(path), "c.json");
	path_in(bak, sizeof(bak), "c.json.bak");
	struct state *v1 = full_state(1), *v2 = full_state(2), *v3 = full_state(3);
	char *d1 = state_dump(v1), *d3 = state_dump(v3);
	CHECK_INT(state_save(v1, path, err, sizeof(err)), BOT_OK);
	CHECK_INT(state_save(v2, path, err, sizeof(err)), BOT_OK);
	spit(path, damage, len);

	struct state *ld = NULL;
	struct state_load_info info;
	fprintf(stderr, "(expected error logs follow: %s)\n", what);
	/* Read-only first: the .bak in memory, nothing moved. */
	CHECK_INT(state_load_readonly(path, &ld, &info, err, sizeof(err)), BOT_OK);
	CHECK(info.recovered && info.corrupt_path[0] == '\0');
	char *got = ld ? state_dump(ld) : NULL;
	CHECK_STR(got, d1);
	free(got);
	state_destroy(ld);
	ld = NULL;
	CHECK(exists(path));
	CHECK_INT(count_prefix("c.json.corrupt-"), 0);

	CHECK_INT(state_load(path, &ld, &info, err, sizeof(err)), BOT_OK);
	CHECK(info.recovered);
	CHECK(!info.missing);
	CHECK(info.reason[0] != '\0');
	/* The bad bytes are kept, byte for byte, where info says. */
	CHECK(strncmp(info.corrupt_path, path, strlen(path)) == 0);
	CHECK(strstr(info.corrupt_path, ".corrupt-") != NULL);
	char *kept = slurp(info.corrupt_path);
	CHECK(kept && memcmp(kept, damage, len) == 0);
	free(kept);
	CHECK(!exists(path));
	CHECK_INT(count_prefix("c.json.corrupt-"), 1);
	/* The last good copy is what was loaded. */
	got = ld ? state_dump(ld) : NULL;
	CHECK_STR(got, d1);
	free(got);

	/* The next save must not make the bad file the .bak. */
	CHECK_INT(state_save(v3, path, err, sizeof(err)), BOT_OK);
	char *b = slurp(bak);
	CHECK(b && strncmp(b, d1, strlen(d1)) == 0);
	free(b);
	state_destroy(ld);
	ld = NULL;
	CHECK_INT(state_load(path, &ld, &info, err, sizeof(err)), BOT_OK);
	CHECK(!info.recovered);
	got = ld ? state_dump(ld) : NULL;
	CHECK_STR(got, d3);
	free(got);

	/* A second corruption gets a second, distinct name. */
	spit(path, damage, len);
	state_destroy(ld);
	ld = NULL;
	CHECK_INT(state_load(path, &ld, &info, err, sizeof(err)), BOT_OK);
	CHECK(info.recovered);
	CHECK_INT(count_prefix("c.json.corrupt-"), 2);

	state_destroy(ld);
	free(d1);
	free(d3);
	state_destroy(v1);
	state_destroy(v2);
	state_destroy(v3);
	clean_dir();
}

static void test_corrupt_and_truncated(void)
{
	const char *garbage = "{\"version\": 1, \"environments\": {\"dev\": [1,2";
	check_recovers(garbage, strlen(garbage), "garbage");
	/* Truncated: the first half of a real file. */
	struct state *st = full_state(7);
	char *d = state_dump(st);
	check_recovers(d, strlen(d) / 2, "truncated");
	/* Valid JSON of the wrong shape is corrupt too. */
	check_recovers("[1, 2, 3]", 9, "wrong shape");
	const char *baddate = "{\"version\": 1, \"environments\": {}, \"holidays\": [{\"date\":"
			      " \"2026-02-30\", \"label\": \"\", \"who\": \"x\", \"added_at\": 1}],"
			      " \"workflows\": [], \"audit\": []}";
	check_recovers(baddate, strlen(baddate), "impossible date");
	check_recovers("", 0, "empty file");
	/* Trailing damage after a complete document. */
	char *tail = malloc(strlen(d) + 8);
	sprintf(tail, "%s}}junk", d);
	check_recovers(tail, strlen(tail), "trailing bytes");
	free(tail);
	free(d);
	state_destroy(st);
}

static void test_corrupt_without_bak(void)
{
	char path[128], err[256];
	path_in(path, sizeof(path), "n.json");
	spit(path, "{\"vers", 6);
	struct state *ld = NULL;
	struct state_load_info info;
	CHECK_INT(state_load(path, &ld, &info, err, sizeof(err)), BOT_EPARSE);
	CHECK(ld == NULL);
	CHECK(strstr(err, "corrupt") != NULL);
	/* Nothing moved: a restart must not find "no file" and start empty. */
	char *kept = slurp(path);
	CHECK(kept && memcmp(kept, "{\"vers", 6) == 0);
	free(kept);
	CHECK_INT(count_prefix("n.json.corrupt-"), 0);

	/* A .bak that is bad too: the same refusal. */
	char bak[128];
	path_in(bak, sizeof(bak), "n.json.bak");
	spit(bak, "nope", 4);
	CHECK_INT(state_load(path, &ld, &info, err, sizeof(err)), BOT_EPARSE);
	CHECK(exists(path));
	CHECK_INT(count_prefix("n.json.corrupt-"), 0);
	clean_dir();
}

static void test_version(void)
{
	char path[128], err[256];
	path_in(path, sizeof(path), "v.json");
	const char *future = "{\"version\": 2, \"environments\": {}, \"something_new\": true}";
	spit(path, future, strlen(future));
	struct state *ld = NULL;
	CHECK_INT(state_load(path, &ld, NULL, err, sizeof(err)), BOT_EINVAL);
	CHECK(ld == NULL);
	CHECK(strstr(err, "version 2") != NULL);
	CHECK(strstr(err, "newer") != NULL);
	char *kept = slurp(path);
	CHECK_STR(kept, future);
	free(kept);
	CHECK_INT(count_prefix("v.json.corrupt-"), 0);

	/* Even with a good .bak: a newer file is not damage, so it is not
	 * replaced by an older copy. */
	struct state *st = full_state(1);
	char bak[128];
	path_in(bak, sizeof(bak), "v.json.bak");
	CHECK_INT(state_save(st, bak, err, sizeof(err)), BOT_OK);
	CHECK_INT(state_load(path, &ld, NULL, err, sizeof(err)), BOT_EINVAL);
	state_destroy(st);

	/* Version 0, missing, or not a number: corrupt, not "newer". */
	CHECK_INT(state_parse("{\"version\": 0, \"environments\": {}}", &ld, err, sizeof(err)),
		  BOT_EPARSE);
	CHECK_INT(state_parse("{\"environments\": {}}", &ld, err, sizeof(err)), BOT_EPARSE);
	CHECK_INT(state_parse("{\"version\": \"1\"}", &ld, err, sizeof(err)), BOT_EPARSE);
	CHECK_INT(state_parse("{\"version\": 1e300}", &ld, err, sizeof(err)), BOT_EINVAL);
	/* The smallest valid document. */
	CHECK_INT(state_parse("{\"version\": 1, \"environments\": {}, \"holidays\": [],"
			      " \"workflows\": [], \"audit\": []}",
			      &ld, err, sizeof(err)),
		  BOT_OK);
	state_destroy(ld);
	/* Keys this version does not know are ignored (optional additions). */
	CHECK_INT(state_parse("{\"version\": 1, \"environments\": {}, \"holidays\": [],"
			      " \"workflows\": [], \"audit\": [], \"later\": {\"x\": 1}}",
			      &ld, err, sizeof(err)),
		  BOT_OK);
	state_destroy(ld);
	clean_dir();
}

/* Damaged documents of every shape: parse answers, never crashes (the
 * sanitizer build makes this meaningful), and OK only for a valid state. */
static void test_parse_mutations(void)
{
	struct state *st = full_state(5);
	char *d = state_dump(st);
	size_t n = strlen(d);
	char *m = malloc(n + 1);
	unsigned seed = 12345;
	int ok = 0, bad = 0;
	for (int i = 0; i < 3000; i++) {
		memcpy(m, d, n + 1);
		int edits = 1 + (int)(rand_r(&seed) % 4);
		for (int e = 0; e < edits; e++) {
			size_t at = (size_t)rand_r(&seed) % n;
			const char repl[] = "{}[]\",:0-9aZ \\e.";
			m[at] = repl[(size_t)rand_r(&seed) % (sizeof(repl) - 1)];
		}
		if (i % 7 == 0)
			m[(size_t)rand_r(&seed) % n] = '\0'; /* truncation */
		struct state *ld = NULL;
		char err[256];
		enum bot_rc rc = state_parse(m, &ld, err, sizeof(err));
		if (rc == BOT_OK) {
			ok++;
			/* Whatever was accepted encodes and decodes again. */
			char *again = state_dump(ld);
			struct state *ld2 = NULL;
			CHECK_INT(state_parse(again, &ld2, err, sizeof(err)), BOT_OK);
			state_destroy(ld2);
			free(again);
		} else {
			bad++;
			CHECK(rc == BOT_EPARSE || rc == BOT_EINVAL);
			CHECK(ld == NULL);
		}
		state_destroy(ld);
	}
	CHECK(bad > 1000);
	printf("mutations: %d accepted, %d refused\n", ok, bad);
	free(m);
	free(d);
	state_destroy(st);
}

static void test_missing(void)
{
	char path[128], bak[128], err[256];
	path_in(path, sizeof(path), "m.json");
	path_in(bak, sizeof(bak), "m.json.bak");
	struct state *ld = NULL;
	struct state_load_info info;
	CHECK_INT(state_load(path, &ld, &info, err, sizeof(err)), BOT_OK);
	CHECK(info.missing && !info.recovered);
	CHECK(ld && state_audit_count(ld) == 0 && state_wf_count(ld) == 0);
	state_destroy(ld);

	/* The file is gone but its last good copy is not: use it, loudly. */
	struct state *st = full_state(4);
	CHECK_INT(state_save(st, bak, err, sizeof(err)), BOT_OK);
	ld = NULL;
	fprintf(stderr, "(expected error log follows: missing file with .bak)\n");
	CHECK_INT(state_load(path, &ld, &info, err, sizeof(err)), BOT_OK);
	CHECK(info.recovered && !info.missing);
	char *a = state_dump(st), *b = ld ? state_dump(ld) : NULL;
	CHECK_STR(b, a);
	free(a);
	free(b);
	state_destroy(ld);
	state_destroy(st);
	clean_dir();
}

static void test_save_failures(void)
{
	char path[160], err[256];
	struct state *v1 = full_state(1), *v2 = full_state(2);
	char *d1 = state_dump(v1);

	/* The directory does not exist. */
	path_in(path, sizeof(path), "nodir/s.json");
	err[0] = '\0';
	CHECK_INT(state_save(v1, path, err, sizeof(err)), BOT_EIO);
	CHECK(strstr(err, "nodir") != NULL);

	/* The path is a directory: refused, the directory untouched. */
	path_in(path, sizeof(path), "isdir");
	mkdir(path, 0700);
	CHECK_INT(state_save(v1, path, err, sizeof(err)), BOT_EIO);
	struct stat sb;
	CHECK(stat(path, &sb) == 0 && S_ISDIR(sb.st_mode));
	char tmp[192];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	CHECK(!exists(tmp));

	/* A full disk, simulated with RLIMIT_FSIZE (works as root, unlike
	 * permissions): the write fails, the old file and its .bak stay. */
	path_in(path, sizeof(path), "full.json");
	CHECK_INT(state_save(v1, path, err, sizeof(err)), BOT_OK);
	struct rlimit old, lim;
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 512;
	signal(SIGXFSZ, SIG_IGN);
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	err[0] = '\0';
	CHECK_INT(state_save(v2, path, err, sizeof(err)), BOT_EIO);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	CHECK(strstr(err, "cannot write") != NULL);
	char *f = slurp(path);
	CHECK(f && strncmp(f, d1, strlen(d1)) == 0);
	free(f);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	CHECK(!exists(tmp));

	/* A read-only directory. Root ignores directory permissions, so this
	 * part can only be checked as an ordinary user; the cases above cover
	 * the same error path as root. */
	if (geteuid() != 0) {
		char ro[128];
		path_in(ro, sizeof(ro), "ro");
		mkdir(ro, 0700);
		snprintf(path, sizeof(path), "%s/s.json", ro);
		CHECK_INT(state_save(v1, path, err, sizeof(err)), BOT_OK);
		chmod(ro, 0500);
		CHECK_INT(state_save(v2, path, err, sizeof(err)), BOT_EIO);
		chmod(ro, 0700);
		f = slurp(path);
		CHECK(f && strncmp(f, d1, strlen(d1)) == 0);
		free(f);
	} else {
		printf("note: running as root: the read-only directory case is skipped\n");
	}

	free(d1);
	state_destroy(v1);
	state_destroy(v2);
	clean_dir();
}

static void test_mutators(void)
{
	struct state *st = state_create();
	char err[256];
	CHECK_INT(state_extend_set(st, "dev", 20261131, T0, "a", T0, err, sizeof(err)), BOT_EINVAL);
	CHECK(strstr(err, "date") != NULL);
	CHECK_INT(state_extend_set(st, "", 20261123, T0, "a", T0, err, sizeof(err)), BOT_EINVAL);
	char longname[100];
	memset(longname, 'n', sizeof(longname));
	longname[99] = '\0';
	CHECK_INT(state_skip_add(st, longname, 20261123, "a", T0, err, sizeof(err)), BOT_EINVAL);
	CHECK_INT(state_pause_set(st, "dev", 20261201, T0, "a", T0, err, sizeof(err)), BOT_EINVAL);
	CHECK_INT(state_pause_set(st, "dev", 0, 0, "a", T0, err, sizeof(err)), BOT_EINVAL);
	CHECK_INT(state_holiday_add(st, 20261225, "Xmas", "a", T0, err, sizeof(err)), BOT_OK);
	CHECK_INT(state_holiday_add(st, 20261225, "again", "b", T0, err, sizeof(err)), BOT_EINVAL);
	CHECK(strstr(err, "already a holiday") != NULL);
	CHECK(state_holiday_remove(st, 20261225));
	CHECK(!state_holiday_remove(st, 20261225));
	CHECK_INT(state_holiday_count(st), 0);

	/* A refused mutation changes nothing. */
	char *before = state_dump(st);
	struct state_wf w;
	memset(&w, 0, sizeof(w));
	snprintf(w.env, sizeof(w.env), "dev");
	memset(w.stack_id, 'a', sizeof(w.stack_id)); /* unterminated */
	CHECK_INT(state_wf_put(st, &w, err, sizeof(err)), BOT_EINVAL);
	CHECK(strstr(err, "stack_id") != NULL);
	char *after = state_dump(st);
	CHECK_STR(after, before);
	free(before);
	free(after);

	/* Replace semantics. */
	CHECK_INT(state_extend_set(st, "dev", 20261123, T0 + 100, "a", T0, err, sizeof(err)),
		  BOT_OK);
	CHECK_INT(state_extend_set(st, "dev", 20261123, T0 + 200, "b", T0, err, sizeof(err)),
		  BOT_OK);
	CHECK(state_extend_for(st, "dev", 20261123)->stop_at == T0 + 200);
	CHECK(state_extend_clear(st, "dev", 20261123));
	CHECK(state_extend_for(st, "dev", 20261123) == NULL);
	CHECK_INT(state_skip_add(st, "dev", 20261124, "a", T0, err, sizeof(err)), BOT_OK);
	CHECK_INT(state_skip_add(st, "dev", 20261124, "b", T0, err, sizeof(err)), BOT_OK);
	CHECK_INT(state_skip_count(st, "dev"), 1);
	CHECK_STR(state_skip_find(st, "dev", 20261124)->who, "b");
	CHECK(state_skip_remove(st, "dev", 20261124));
	CHECK(!state_is_skipped(st, "dev", 20261124));
	state_freeze(st, "first", T0);
	state_freeze(st, "second", T0 + 5);
	CHECK_STR(state_is_frozen(st)->who, "first");
	CHECK(state_unfreeze(st));
	CHECK(!state_unfreeze(st));
	CHECK(state_is_frozen(st) == NULL);
	snprintf(w.stack_id, sizeof(w.stack_id), "arn:x");
	CHECK_INT(state_wf_put(st, &w, err, sizeof(err)), BOT_OK);
	snprintf(w.step, sizeof(w.step), "done");
	CHECK_INT(state_wf_put(st, &w, err, sizeof(err)), BOT_OK);
	CHECK_INT(state_wf_count(st), 1);
	CHECK_STR(state_wf_find(st, "dev")->step, "done");
	CHECK(state_wf_remove(st, "dev"));
	CHECK(state_wf_find(st, "dev") == NULL);
	state_destroy(st);
}

static void test_uptime(void)
{
	struct state *st = state_create();
	/* Nov 30 22:00 -> Dec 1 02:00 straddles the month: split by the window. */
	time_t nov30 = T0 + 7 * 86400; /* 2026-11-30 00:00 UTC */
	time_t dec1 = nov30 + 86400;
	state_up(st, "dev", nov30 + 22 * 3600);
	state_up(st, "dev", nov30 + 23 * 3600); /* already up: no-op */
	state_down(st, "dev", dec1 + 2 * 3600);
	state_down(st, "dev", dec1 + 3 * 3600); /* already down: no-op */
	CHECK_INT(state_uptime_seconds(st, "dev", T0, dec1, dec1 + 86400), 2 * 3600);
	CHECK_INT(state_uptime_seconds(st, "dev", dec1, dec1 + 31 * 86400, dec1 + 86400), 2 * 3600);
	state_up(st, "dev", dec1 + 9 * 3600);
	/* The open interval counts up to now. */
	CHECK_INT(state_uptime_seconds(st, "dev", dec1, dec1 + 31 * 86400, dec1 + 10 * 3600),
		  3 * 3600);
	CHECK(state_is_up(st, "dev", NULL));
	CHECK(!state_is_up(st, "qa", NULL));
	CHECK_INT(state_uptime_seconds(st, "qa", 0, dec1, dec1), 0);
	state_down(st, "dev", dec1 + 10 * 3600);
	state_up(st, "qa", dec1);
	state_down(st, "qa", dec1 + 3600);
	/* dev's first interval ended before: dropped; qa's only one ended
	 * before too, but it is qa's newest (its last transitions): kept */
	CHECK_INT(state_uptime_prune(st, dec1 + 3 * 3600), 1);
	CHECK_INT(state_uptime_seconds(st, "dev", dec1, dec1 + 31 * 86400, dec1 + 10 * 3600),
		  1 * 3600);
	CHECK_INT(state_uptime_seconds(st, "qa", dec1, dec1 + 31 * 86400, dec1 + 10 * 3600), 3600);
	time_t up, down;
	state_last_transitions(st, "dev", &up, &down);
	CHECK(up == dec1 + 9 * 3600 && down == dec1 + 10 * 3600);
	CHECK_INT(state_uptime_prune(st, dec1 + 3 * 3600), 0);
	CHECK_INT(state_up(st, "", T0), BOT_EINVAL);
	state_destroy(st);
}

/* The scheduler's last tick is optional in the file (older files lack it),
 * strict when present; the last transitions come from the uptime record. */
static void test_last_tick(void)
{
	char err[256];
	struct state *st = state_create(), *ld = NULL;
	CHECK_INT(state_last_tick(st), 0);
	char *doc = state_dump(st);
	CHECK(doc && strstr(doc, "last_tick") == NULL);
	CHECK_INT(state_parse(doc, &ld, err, sizeof(err)), BOT_OK);
	CHECK(ld && state_last_tick(ld) == 0);
	state_destroy(ld);
	ld = NULL;
	free(doc);

	state_set_last_tick(st, T0 + 60);
	CHECK_INT(state_last_tick(st), T0 + 60);
	state_set_last_tick(st, -5); /* nonsense is "never" */
	CHECK_INT(state_last_tick(st), 0);
	state_set_last_tick(st, T0 + 120);
	doc = state_dump(st);
	CHECK_INT(state_parse(doc, &ld, err, sizeof(err)), BOT_OK);
	CHECK(ld && state_last_tick(ld) == T0 + 120);
	state_destroy(ld);
	ld = NULL;
	free(doc);
	CHECK_INT(state_parse("{\"version\":1,\"last_tick\":\"soon\",\"environments\":{}}", &ld,
			      err, sizeof(err)),
		  BOT_EPARSE);
	CHECK(ld == NULL && strstr(err, "last_tick") != NULL);
	CHECK_INT(state_parse("{\"version\":1,\"last_tick\":-3,\"environments\":{}}", &ld, err,
			      sizeof(err)),
		  BOT_EPARSE);

	time_t up = 1, down = 1;
	state_last_transitions(st, "dev", &up, &down);
	CHECK(up == 0 && down == 0);
	state_up(st, "dev", T0 + 100);
	state_last_transitions(st, "dev", &up, &down);
	CHECK(up == T0 + 100 && down == 0);
	state_down(st, "dev", T0 + 200);
	state_up(st, "dev", T0 + 300);
	state_down(st, "dev", T0 + 400);
	state_last_transitions(st, "dev", &up, NULL);
	state_last_transitions(st, "dev", NULL, &down);
	CHECK(up == T0 + 300 && down == T0 + 400);
	state_up(st, "dev", T0 + 500);
	state_last_transitions(st, "dev", &up, &down);
	CHECK(up == T0 + 500 && down == T0 + 400);
	state_destroy(st);
}

/* Leases: set, replace, clear; saved as the optional "lease" field and read
 * back; a version 1 file without it loads with none; bad ones refused. */
static void test_lease(void)
{
	char err[256];
	struct state *st = state_create(), *ld = NULL;
	CHECK(state_lease_of(st, "dev") == NULL);
	char *doc = state_dump(st);
	CHECK(doc && strstr(doc, "lease") == NULL);
	free(doc);
	CHECK_INT(
		state_lease_set(st, "dev", ACTION_START, T0 + 7200, "alice", T0, err, sizeof(err)),
		BOT_OK);
	CHECK_INT(state_lease_set(st, "qa", ACTION_STOP, 0, "bob", T0, err, sizeof(err)), BOT_OK);
	CHECK_INT(state_lease_set(st, "dev", ACTION_START, T0 - 1, "alice", T0, err, sizeof(err)),
		  BOT_EINVAL);
	const struct state_lease *l = state_lease_of(st, "dev");
	CHECK(l && l->action == ACTION_START && l->until == T0 + 7200 && l->set_at == T0 &&
	      strcmp(l->who, "alice") == 0);
	doc = state_dump(st);
	CHECK_INT(state_parse(doc, &ld, err, sizeof(err)), BOT_OK);
	free(doc);
	l = ld ? state_lease_of(ld, "dev") : NULL;
	CHECK(l && l->action == ACTION_START && l->until == T0 + 7200 && l->set_at == T0 &&
	      strcmp(l->who, "alice") == 0);
	l = ld ? state_lease_of(ld, "qa") : NULL;
	CHECK(l && l->action == ACTION_STOP && l->until == 0 && strcmp(l->who, "bob") == 0);
	state_destroy(ld);
	ld = NULL;
	CHECK(state_lease_clear(st, "dev"));
	CHECK(!state_lease_clear(st, "dev"));
	CHECK(state_lease_of(st, "dev") == NULL);
	state_destroy(st);

	/* An older file (no lease) loads; a bad lease is refused. */
	CHECK_INT(state_parse("{\"version\":1,\"environments\":{\"dev\":{\"extends\":[],"
			      "\"skips\":[],\"uptime\":{\"up_since\":0,\"intervals\":[]}}},"
			      "\"holidays\":[],\"workflows\":[],\"audit\":[]}",
			      &ld, err, sizeof(err)),
		  BOT_OK);
	CHECK(ld && state_lease_of(ld, "dev") == NULL);
	state_destroy(ld);
	ld = NULL;
	CHECK_INT(state_parse("{\"version\":1,\"environments\":{\"dev\":{\"extends\":[],"
			      "\"skips\":[],\"lease\":{\"action\":\"dance\",\"until\":1,"
			      "\"set_at\":1,\"who\":\"a\"},\"uptime\":{\"up_since\":0,"
			      "\"intervals\":[]}}},\"holidays\":[],\"workflows\":[],\"audit\":[]}",
			      &ld, err, sizeof(err)),
		  BOT_EPARSE);
	CHECK(ld == NULL && strstr(err, "lease") != NULL);
}

/* The test's zone: UTC+9 without DST, like Asia/Seoul. */
static ymd_t today_kst(void *ctx, const char *env, time_t t)
{
	(void)env;
	(*(int *)ctx)++;
	time_t l = t + 9 * 3600;
	struct tm tm;
	gmtime_r(&l, &tm);
	return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

static void test_expire(void)
{
	struct state *st = state_create();
	char err[256];
	/* now: 2026-11-23 20:00 KST = 11:00 UTC. */
	time_t now = T0 + 11 * 3600;
	/* Extends: tonight's 22:00 KST (13:00 UTC) is pending; yesterday's is
	 * long past; one ended 30 minutes ago is kept within a 2h grace. */
	state_extend_set(st, "dev", 20261123, T0 + 13 * 3600, "a", now, err, sizeof(err));
	state_extend_set(st, "dev", 20261122, T0 - 11 * 3600, "a", now, err, sizeof(err));
	state_extend_set(st, "qa", 20261123, now - 1800, "a", now, err, sizeof(err));
	/* Skips: yesterday goes, today and later stay. */
	state_skip_add(st, "dev", 20261122, "a", now, err, sizeof(err));
	state_skip_add(st, "dev", 20261123, "a", now, err, sizeof(err));
	state_skip_add(st, "dev", 20261130, "a", now, err, sizeof(err));
	/* Pauses: until today (exclusive, so over), until a later date. */
	state_pause_set(st, "dev", 20261123, 0, "a", now, err, sizeof(err));
	state_pause_set(st, "stage", 20261124, 0, "a", now, err, sizeof(err));
	state_pause_set(st, "prod", 0, now - 60, "a", now, err, sizeof(err));
	state_freeze(st, "bob", now - 86400 * 30);
	state_holiday_add(st, 20200101, "old", "a", now, err, sizeof(err));
	/* An environment with only a past skip is forgotten entirely. */
	state_skip_add(st, "gone", 20261101, "a", now, err, sizeof(err));

	int calls = 0;
	size_t n = state_expire(st, now, 0, today_kst, &calls);
	CHECK(calls > 0);
	/* dropped: dev 11-22 extend, qa extend, dev 11-22 skip, dev pause,
	 * prod pause, gone's skip */
	CHECK_INT(n, 6);
	CHECK(state_extend_for(st, "dev", 20261123) != NULL);
	CHECK(state_extend_for(st, "dev", 20261122) == NULL);
	CHECK(state_extend_for(st, "qa", 20261123) == NULL);
	CHECK(!state_is_skipped(st, "dev", 20261122));
	CHECK(state_is_skipped(st, "dev", 20261123));
	CHECK(state_is_skipped(st, "dev", 20261130));
	CHECK(state_pause_until(st, "dev") == NULL);
	CHECK(state_pause_until(st, "stage") != NULL);
	CHECK(state_pause_until(st, "prod") == NULL);
	CHECK(state_is_frozen(st) != NULL);
	CHECK(state_holiday_find(st, 20200101) != NULL);
	char *d = state_dump(st);
	CHECK(d && strstr(d, "\"gone\"") == NULL);
	CHECK(d && strstr(d, "\"prod\"") == NULL);
	free(d);
	CHECK_INT(state_expire(st, now, 0, today_kst, &calls), 0);

	/* With a grace, something that just passed is kept for catch-up. */
	state_extend_set(st, "qa", 20261123, now - 1800, "a", now, err, sizeof(err));
	state_skip_add(st, "qa", 20261122, "a", now - 86400, err, sizeof(err));
	/* now - 2h = 18:00 KST on 11-23: yesterday's skip still goes. */
	CHECK_INT(state_expire(st, now, 7200, today_kst, &calls), 1);
	CHECK(state_extend_for(st, "qa", 20261123) != NULL);
	/* Just after midnight KST a grace of 2h keeps yesterday's skip. */
	time_t after_midnight = T0 + 15 * 3600 + 1800; /* 11-24 00:30 KST */
	state_skip_add(st, "qa", 20261123, "a", now, err, sizeof(err));
	state_expire(st, after_midnight, 7200, today_kst, &calls);
	CHECK(state_is_skipped(st, "qa", 20261123));
	CHECK(state_pause_until(st, "stage") != NULL);
	state_expire(st, after_midnight, 0, today_kst, &calls);
	CHECK(!state_is_skipped(st, "qa", 20261123));
	/* 11-24 in KST: the pause "until 11-24" is over. */
	CHECK(state_pause_until(st, "stage") == NULL);

	/* A NULL callback means UTC dates. */
	state_skip_add(st, "utc", 20261123, "a", now, err, sizeof(err));
	CHECK_INT(state_expire(st, T0 + 86400 - 1, 0, NULL, NULL), 0);
	CHECK_INT(state_expire(st, T0 + 86400, 0, NULL, NULL), 1);
	CHECK(!state_is_skipped(st, "utc", 20261123));
	state_destroy(st);
}

static void test_decide(void)
{
	struct state *st = state_create();
	struct tz *seoul = tz_open("Asia/Seoul");
	CHECK(seoul != NULL);
	char err[256];
	struct state_decision dec;
	/* dev: start 09:00 KST (00:00 UTC), stop 18:00 KST (09:00 UTC) on 11-23. */
	time_t start = T0, stop = T0 + 9 * 3600;
	ymd_t day = 20261123;
	ymd_t cfg_holidays[] = { 20261225 };

	decide_list(st, "dev", ACTION_START, start, day, cfg_holidays, 1, seoul, &dec);
	CHECK(dec.run && dec.at == start && dec.rule == STATE_RULE_NONE);
	CHECK_STR(dec.reason, "scheduled");

	/* extend: the stop moves later, the start is unaffected. */
	state_extend_set(st, "dev", day, T0 + 13 * 3600, "alice", T0, err, sizeof(err));
	decide_list(st, "dev", ACTION_STOP, stop, day, cfg_holidays, 1, seoul, &dec);
	CHECK(dec.run && dec.at == T0 + 13 * 3600 && dec.rule == STATE_RULE_EXTEND);
	CHECK_STR(dec.reason, "extended to 22:00 KST by alice");
	decide_list(st, "dev", ACTION_START, start, day, cfg_holidays, 1, seoul, &dec);
	CHECK(dec.run && dec.at == start && dec.rule == STATE_RULE_NONE);
	/* Another date's stop is not moved. */
	decide_list(st, "dev", ACTION_STOP, stop + 86400, 20261124, cfg_holidays, 1, seoul, &dec);
	CHECK(dec.run && dec.at == stop + 86400 && dec.rule == STATE_RULE_NONE);
	/* Past midnight: the date is shown. */
	state_extend_set(st, "dev", day, T0 + 16 * 3600, "alice", T0, err, sizeof(err));
	decide_list(st, "dev", ACTION_STOP, stop, day, NULL, 0, seoul, &dec);
	CHECK_STR(dec.reason, "extended to 2026-11-24 01:00 KST by alice");
	/* Without a zone, UTC (same date there, so no date shown). */
	decide_list(st, "dev", ACTION_STOP, stop, day, NULL, 0, NULL, &dec);
	CHECK_STR(dec.reason, "extended to 16:00 UTC by alice");
	/* An extend earlier than the schedule is ignored: never stop sooner. */
	state_extend_set(st, "dev", day, stop - 3600, "alice", T0, err, sizeof(err));
	decide_list(st, "dev", ACTION_STOP, stop, day, NULL, 0, seoul, &dec);
	CHECK(dec.run && dec.at == stop && dec.rule == STATE_RULE_NONE);
	state_extend_set(st, "dev", day, T0 + 13 * 3600, "alice", T0, err, sizeof(err));

	/* skip beats extend for starts; stops still run (extended). */
	state_skip_add(st, "dev", day, "alice", T0, err, sizeof(err));
	decide_list(st, "dev", ACTION_START, start, day, cfg_holidays, 1, seoul, &dec);
	CHECK(!dec.run && dec.rule == STATE_RULE_SKIP);
	CHECK_STR(dec.reason, "skipped: /env skip by alice");
	decide_list(st, "dev", ACTION_STOP, stop, day, cfg_holidays, 1, seoul, &dec);
	CHECK(dec.run && dec.rule == STATE_RULE_EXTEND);
	/* Another environment is not skipped. */
	decide_list(st, "qa", ACTION_START, start, day, cfg_holidays, 1, seoul, &dec);
	CHECK(dec.run);

	/* Holidays: the config's and the chat's; starts only. */
	time_t xmas = T0 + 32 * 86400;
	decide_list(st, "qa", ACTION_START, xmas, 20261225, cfg_holidays, 1, seoul, &dec);
	CHECK(!dec.run && dec.rule == STATE_RULE_HOLIDAY);
	CHECK_STR(dec.reason, "skipped: holiday 2026-12-25");
	decide_list(st, "qa", ACTION_STOP, xmas + 9 * 3600, 20261225, cfg_holidays, 1, seoul, &dec);
	CHECK(dec.run && dec.rule == STATE_RULE_NONE);
	state_holiday_add(st, 20261224, "Christmas Eve", "carol", T0, err, sizeof(err));
	decide_list(st, "qa", ACTION_START, xmas - 86400, 20261224, cfg_holidays, 1, seoul, &dec);
	CHECK(!dec.run && dec.rule == STATE_RULE_HOLIDAY);
	CHECK_STR(dec.reason, "skipped: holiday 2026-12-24 (Christmas Eve, added by carol)");
	state_holiday_add(st, 20261231, "", "carol", T0, err, sizeof(err));
	decide_list(st, "qa", ACTION_START, xmas + 6 * 86400, 20261231, NULL, 0, seoul, &dec);
	CHECK_STR(dec.reason, "skipped: holiday 2026-12-31 (added by carol)");
	/* A skip on a holiday: the skip is named (same rank, the more specific). */
	state_skip_add(st, "qa", 20261224, "dave", T0, err, sizeof(err));
	decide_list(st, "qa", ACTION_START, xmas - 86400, 20261224, cfg_holidays, 1, seoul, &dec);
	CHECK_STR(dec.reason, "skipped: /env skip by dave");

	/* pause beats skip and extend, and holds stops too. */
	state_pause_set(st, "dev", 20261125, 0, "erin", T0, err, sizeof(err));
	decide_list(st, "dev", ACTION_START, start, day, cfg_holidays, 1, seoul, &dec);
	CHECK(!dec.run && dec.rule == STATE_RULE_PAUSE);
	CHECK_STR(dec.reason, "held: paused by erin until 2026-11-25");
	decide_list(st, "dev", ACTION_STOP, stop, day, cfg_holidays, 1, seoul, &dec);
	CHECK(!dec.run && dec.rule == STATE_RULE_PAUSE);
	/* until is exclusive: the actions of 11-25 run. */
	decide_list(st, "dev", ACTION_START, start + 2 * 86400, 20261125, NULL, 0, seoul, &dec);
	CHECK(dec.run);
	decide_list(st, "dev", ACTION_START, start + 86400, 20261124, NULL, 0, seoul, &dec);
	CHECK(!dec.run);
	/* A pause until an instant. */
	state_pause_set(st, "qa", 0, T0 + 5 * 3600, "erin", T0, err, sizeof(err));
	decide_list(st, "qa", ACTION_START, T0 + 5 * 3600 - 1, day, NULL, 0, seoul, &dec);
	CHECK(!dec.run && dec.rule == STATE_RULE_PAUSE);
	CHECK_STR(dec.reason, "held: paused by erin until 2026-11-23 14:00 KST");
	decide_list(st, "qa", ACTION_STOP, T0 + 5 * 3600, day, NULL, 0, seoul, &dec);
	CHECK(dec.run);

	/* freeze beats everything, everywhere. */
	state_freeze(st, "bob", T0 + 3600);
	const char *envs[] = { "dev", "qa", "never-seen" };
	for (size_t i = 0; i < 3; i++) {
		for (int a = ACTION_START; a <= ACTION_STOP; a++) {
			decide_list(st, envs[i], (enum action)a, start, day, cfg_holidays, 1, seoul,
				    &dec);
			CHECK(!dec.run && dec.rule == STATE_RULE_FREEZE);
			CHECK_STR(dec.reason, "held: frozen by bob since 2026-11-23 10:00 KST");
		}
	}
	state_unfreeze(st);
	decide_list(st, "never-seen", ACTION_STOP, stop, day, cfg_holidays, 1, seoul, &dec);
	CHECK(dec.run && dec.rule == STATE_RULE_NONE);

	CHECK_STR(action_name(ACTION_START), "start");
	CHECK_STR(action_name(ACTION_STOP), "stop");
	tz_destroy(seoul);
	state_destroy(st);
}

/* The outbox: a finished workflow's final picture survives a save and a load
 * field by field, the running record turns into it in one step (or not at
 * all), files from before the outbox load unchanged, and a damaged record is
 * refused like any other. */
static void test_outbox(void)
{
	char path[128], err[256];
	path_in(path, sizeof(path), "outbox.json");
	struct state *st = full_state(3), *ld = NULL;
	struct state_final *f = calloc(1, sizeof(*f));
	CHECK(f != NULL);
	if (!f)
		return;

	/* dev's running record becomes its final record. */
	CHECK(state_wf_find(st, "dev") != NULL);
	snprintf(f->env, sizeof(f->env), "dev");
	snprintf(f->id, sizeof(f->id), "wf-3");
	f->finished = T0 + 30;
	snprintf(f->channel_id, sizeof(f->channel_id), "300000000000000003");
	snprintf(f->message_id, sizeof(f->message_id), "700000000000000007");
	snprintf(f->message, sizeof(f->message),
		 "{\"embeds\":[{\"title\":\"dev is up \\\"ok\\\"\",\"color\":3066993,"
		 "\"description\":\"\xe2\x9c\x85 **Check**\\n\"}]}");
	CHECK_INT(state_wf_finish(st, f, err, sizeof(err)), BOT_OK);
	CHECK(state_wf_find(st, "dev") == NULL);
	CHECK_INT(state_wf_count(st), 1); /* qa still runs */
	CHECK_INT(state_final_count(st), 1);
	/* A second one, for an environment whose new workflow already runs:
	 * keyed by id, it does not replace anything of qa's. */
	snprintf(f->env, sizeof(f->env), "qa");
	snprintf(f->id, sizeof(f->id), "wf-qa-old");
	f->message_id[0] = '\0'; /* the create never answered */
	snprintf(f->message, sizeof(f->message), "{\"embeds\":[{\"title\":\"qa is down\"}]}");
	CHECK_INT(state_final_put(st, f, err, sizeof(err)), BOT_OK);
	CHECK(state_wf_find(st, "qa") != NULL);
	CHECK_INT(state_final_count(st), 2);

	char *before = state_dump(st);
	CHECK(before && strstr(before, "\"outbox\"") != NULL);
	CHECK_INT(state_save(st, path, err, sizeof(err)), BOT_OK);
	CHECK_INT(state_load(path, &ld, NULL, err, sizeof(err)), BOT_OK);
	char *after = ld ? state_dump(ld) : NULL;
	CHECK_STR(after, before);
	const struct state_final *g = ld ? state_final_find(ld, "wf-3") : NULL;
	CHECK(g && g->finished == T0 + 30);
	CHECK_STR(g ? g->env : NULL, "dev");
	CHECK_STR(g ? g->channel_id : NULL, "300000000000000003");
	CHECK_STR(g ? g->message_id : NULL, "700000000000000007");
	CHECK_STR(g ? g->message : NULL,
		  "{\"embeds\":[{\"title\":\"dev is up \\\"ok\\\"\",\"color\":3066993,"
		  "\"description\":\"\xe2\x9c\x85 **Check**\\n\"}]}");
	g = ld ? state_final_at(ld, 1) : NULL; /* insertion order */
	CHECK_STR(g ? g->id : NULL, "wf-qa-old");
	CHECK_STR(g ? g->message_id : NULL, "");
	CHECK(ld && state_final_at(ld, 2) == NULL);
	CHECK(ld && state_wf_find(ld, "dev") == NULL && state_wf_find(ld, "qa") != NULL);
	free(after);
	free(before);

	/* Learning the message id later replaces the record, it does not add. */
	snprintf(f->message_id, sizeof(f->message_id), "700000000000000008");
	CHECK_INT(state_final_put(ld, f, err, sizeof(err)), BOT_OK);
	CHECK_INT(state_final_count(ld), 2);
	CHECK_STR(state_final_find(ld, "wf-qa-old")->message_id, "700000000000000008");
	CHECK(state_final_remove(ld, "wf-3"));
	CHECK(!state_final_remove(ld, "wf-3"));
	CHECK_INT(state_final_count(ld), 1);
	CHECK_STR(state_final_at(ld, 0)->id, "wf-qa-old");
	CHECK(state_final_remove(ld, "wf-qa-old"));
	/* Nothing waits: no "outbox" key, as in files from before it. */
	before = state_dump(ld);
	CHECK(before && strstr(before, "outbox") == NULL);
	free(before);
	state_destroy(ld);
	ld = NULL;

	/* Refused records leave the running record alone. */
	struct state_wf w;
	memset(&w, 0, sizeof(w));
	snprintf(w.env, sizeof(w.env), "prod");
	snprintf(w.id, sizeof(w.id), "wf-p");
	CHECK_INT(state_wf_put(st, &w, err, sizeof(err)), BOT_OK);
	snprintf(f->env, sizeof(f->env), "prod");
	snprintf(f->id, sizeof(f->id), "wf-p");
	f->message[0] = '\0';
	CHECK_INT(state_wf_finish(st, f, err, sizeof(err)), BOT_EINVAL);
	CHECK(strstr(err, "message") != NULL);
	CHECK(state_wf_find(st, "prod") != NULL && state_final_find(st, "wf-p") == NULL);
	memset(f->message, 'x', sizeof(f->message)); /* unterminated: too long */
	CHECK_INT(state_wf_finish(st, f, err, sizeof(err)), BOT_EINVAL);
	CHECK(state_wf_find(st, "prod") != NULL);
	snprintf(f->message, sizeof(f->message), "{}");
	f->id[0] = '\0';
	CHECK_INT(state_final_put(st, f, err, sizeof(err)), BOT_EINVAL);
	snprintf(f->id, sizeof(f->id), "wf-p");
	f->env[0] = '\0';
	CHECK_INT(state_final_put(st, f, err, sizeof(err)), BOT_EINVAL);
	memset(f->message_id, '9', sizeof(f->message_id));
	snprintf(f->env, sizeof(f->env), "prod");
	CHECK_INT(state_final_put(st, f, err, sizeof(err)), BOT_EINVAL);
	f->message_id[0] = '\0';
	/* Bounded. */
	size_t held = state_final_count(st);
	for (size_t i = held; i < STATE_MAX_FINALS; i++) {
		snprintf(f->id, sizeof(f->id), "wf-bulk-%zu", i);
		if (state_final_put(st, f, err, sizeof(err)) != BOT_OK)
			break;
	}
	CHECK_INT(state_final_count(st), STATE_MAX_FINALS);
	snprintf(f->id, sizeof(f->id), "wf-one-too-many");
	CHECK_INT(state_final_put(st, f, err, sizeof(err)), BOT_EINVAL);
	CHECK_INT(state_final_count(st), STATE_MAX_FINALS);
	state_destroy(st);
	free(f);

	/* A file written before the outbox existed (and before last_tick): a
	 * workflow in flight, no "outbox". It loads, nothing waits, the
	 * workflow is there to resume, and a dump has no outbox key either. */
	const char *old_doc =
		"{\"version\":1,\"environments\":{},\"holidays\":[],"
		"\"workflows\":[{\"env\":\"dev\",\"kind\":\"start\",\"id\":\"wf-old\","
		"\"trigger\":\"schedule\",\"started\":1795392000,\"stack_id\":\"\",\"token\":"
		"\"wf-old\",\"channel_id\":\"300000000000000003\",\"message_id\":"
		"\"700000000000000007\",\"step\":\"poll_create\",\"image_tag\":\"v1\"}],"
		"\"audit\":[]}";
	path_in(path, sizeof(path), "old.json");
	spit(path, old_doc, strlen(old_doc));
	struct state_load_info info;
	CHECK_INT(state_load(path, &ld, &info, err, sizeof(err)), BOT_OK);
	CHECK(ld && !info.recovered);
	CHECK(ld && state_final_count(ld) == 0 && state_wf_count(ld) == 1);
	CHECK_STR(ld ? state_wf_find(ld, "dev")->message_id : NULL, "700000000000000007");
	before = ld ? state_dump(ld) : NULL;
	CHECK(before && strstr(before, "outbox") == NULL);
	free(before);
	state_destroy(ld);
	ld = NULL;

	/* Damaged records are refused like any other part of the file. */
	const char *bad[] = {
		"{\"version\":1,\"environments\":{},\"holidays\":[],\"workflows\":[],\"audit\":[],"
		"\"outbox\":{}}",
		"{\"version\":1,\"environments\":{},\"holidays\":[],\"workflows\":[],\"audit\":[],"
		"\"outbox\":[{\"env\":\"dev\",\"finished\":1,\"channel_id\":\"1\","
		"\"message_id\":\"2\",\"message\":\"{}\"}]}",
		"{\"version\":1,\"environments\":{},\"holidays\":[],\"workflows\":[],\"audit\":[],"
		"\"outbox\":[{\"env\":\"dev\",\"id\":\"x\",\"finished\":-1,\"channel_id\":\"1\","
		"\"message_id\":\"2\",\"message\":\"{}\"}]}",
		"{\"version\":1,\"environments\":{},\"holidays\":[],\"workflows\":[],\"audit\":[],"
		"\"outbox\":[{\"env\":\"dev\",\"id\":\"x\",\"finished\":1,\"channel_id\":\"1\","
		"\"message_id\":\"2\",\"message\":\"\"}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(state_parse(bad[i], &ld, err, sizeof(err)), BOT_EPARSE);
		CHECK(ld == NULL && strstr(err, "outbox") != NULL);
	}
	/* A message over STATE_MSG_MAX is refused, not cut (cut JSON is not
	 * JSON). */
	size_t big = STATE_MSG_MAX + 256;
	char *doc = malloc(big + 512);
	CHECK(doc != NULL);
	if (doc) {
		int n = snprintf(doc, 512,
				 "{\"version\":1,\"environments\":{},\"holidays\":[],\"workflows\":"
				 "[],\"audit\":[],\"outbox\":[{\"env\":\"dev\",\"id\":\"x\","
				 "\"finished\":1,\"channel_id\":\"1\",\"message_id\":\"2\","
				 "\"message\":\"");
		memset(doc + n, 'a', STATE_MSG_MAX);
		snprintf(doc + n + STATE_MSG_MAX, 16, "\"}]}");
		CHECK_INT(state_parse(doc, &ld, err, sizeof(err)), BOT_EPARSE);
		CHECK(ld == NULL && strstr(err, "message") != NULL);
		/* One byte less fits. */
		memmove(doc + n + STATE_MSG_MAX - 1, doc + n + STATE_MSG_MAX, 5);
		CHECK_INT(state_parse(doc, &ld, err, sizeof(err)), BOT_OK);
		CHECK(ld && strlen(state_final_find(ld, "x")->message) == STATE_MSG_MAX - 1);
		state_destroy(ld);
		free(doc);
	}
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/envbot-test-state-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_roundtrip();
	test_audit_bounded();
	test_save_keeps_bak();
	test_corrupt_and_truncated();
	test_corrupt_without_bak();
	test_version();
	test_parse_mutations();
	test_missing();
	test_save_failures();
	test_mutators();
	test_uptime();
	test_last_tick();
	test_lease();
	test_expire();
	test_decide();
	test_outbox();
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_done();
}
