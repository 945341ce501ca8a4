/* Tests of the holiday calendars above the parser: which days keep which
 * environment down and where each comes from (bot/sched/holidays.c), a
 * calendar's text or file into a state copy over the daemon's span
 * (bot/sched/calfetch.c: calfetch_parse, calfetch_file), the conflict rule
 * asking them (state_decide), and the daemon's refresher on local files
 * with a real event loop (bot/sched/calendars.c): a good copy cached, a
 * broken file keeping it with the failure recorded and one message per
 * streak, a file gone from the config dropped, the fence respected.
 *
 * usage: test_holidays DATADIR (tests/data/ical) */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../bot/core/loop.h"
#include "../../bot/kinds/kinds.h"
#include "../../bot/sched/calendars.h"
#include "../../bot/sched/calfetch.h"
#include "../../bot/sched/holidays.h"
#include "check.h"

#define TODAY 20261204 /* the day the copies are made: [2026-11-03, 2028-01-08] */

static const char *datadir;
static char tmp[] = "/tmp/envbot-holidays-XXXXXX";

static char *path_in(const char *dir, const char *name)
{
	static char buf[8][2048];
	static int k;
	char *p = buf[k++ % 8];
	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void copy_fixture(const char *name, const char *to)
{
	char text[1 << 16];
	FILE *f = fopen(path_in(datadir, name), "rb");
	size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
	if (!f) {
		fprintf(stderr, "cannot read fixture %s\n", name);
		exit(1);
	}
	fclose(f);
	text[n] = '\0';
	write_file(to, text);
}

/* The days of a copy must be exactly want (0-terminated). */
static void check_days(const struct state_cal_day *days, size_t n, const ymd_t *want)
{
	size_t k = 0;
	while (want[k])
		k++;
	CHECK_INT(n, k);
	for (size_t i = 0; i < n && i < k; i++)
		CHECK_INT(days[i].date, want[i]);
}

static struct cfg *make_cfg(const char *text)
{
	struct cfg *cfg = NULL;
	char err[2048] = "";
	if (cfg_load_string(text, "test.cfg", envbot_kinds, &cfg, err, sizeof(err)) != BOT_OK) {
		fprintf(stderr, "config: %s\n", err);
		exit(1);
	}
	return cfg;
}

/* dev takes every calendar (no holidays_from), qa only company, ops none. */
static struct cfg *three_envs(const char *ko, const char *company)
{
	char text[4096];
	snprintf(text, sizeof(text),
		 "discord: { application_id = \"1\"; channel_id = \"2\"; };\n"
		 "aws: { region = \"ap-northeast-2\"; };\n"
		 "timezone = \"Asia/Seoul\";\n"
		 "holidays = [ \"2027-01-01\" ];\n"
		 "holiday_calendars = [ \"%s\", \"%s\" ];\n"
		 "environments = (\n"
		 " { name = \"dev\"; kind = \"ec2\"; tag = { key = \"k\"; value = \"v\"; };\n"
		 "   schedule: { start = \"0 9 * * *\"; stop = \"0 18 * * *\"; }; },\n"
		 " { name = \"qa\"; kind = \"ec2\"; tag = { key = \"k\"; value = \"w\"; };\n"
		 "   holidays_from = [ \"company\" ];\n"
		 "   schedule: { start = \"0 9 * * *\"; stop = \"0 18 * * *\"; }; },\n"
		 " { name = \"ops\"; kind = \"ec2\"; tag = { key = \"k\"; value = \"x\"; };\n"
		 "   holidays_from = [ ];\n"
		 "   schedule: { start = \"0 9 * * *\"; stop = \"0 18 * * *\"; }; }\n"
		 ");\n",
		 ko, company);
	return make_cfg(text);
}

static void set_copy(struct state *st, const char *name, const ymd_t *dates,
		     const char *const *summaries, size_t n)
{
	struct state_cal_day days[16];
	char err[256];
	for (size_t i = 0; i < n; i++) {
		days[i].date = dates[i];
		snprintf(days[i].summary, sizeof(days[i].summary), "%s", summaries[i]);
	}
	CHECK_INT(state_calendar_set(st, name, 1764800000, days, n, err, sizeof(err)), BOT_OK);
}

/* ---- calfetch_parse / calfetch_file ---- */

static void test_parse(void)
{
	char text[1 << 16], err[256];
	struct state_cal_day *days = NULL;
	size_t n = 99;
	FILE *f = fopen(path_in(datadir, "seollal.ics"), "rb");
	size_t len = f ? fread(text, 1, sizeof(text), f) : 0;
	if (f)
		fclose(f);
	CHECK(len > 0);
	/* Seollal 02-06..08 (DTEND exclusive), Chuseok 09-14..16, Christmas
	 * yearly from 2020 (twice in the span), the winter Fridays (weekly,
	 * COUNT=5, one EXDATE); the cancelled picnic is not a day. */
	static const ymd_t want[] = { 20261225, 20270101, 20270108, 20270122, 20270129,
				      20270206, 20270207, 20270208, 20270914, 20270915,
				      20270916, 20271225, 0 };
	CHECK_INT(calfetch_parse(text, len, TODAY, &days, &n, err, sizeof(err)), BOT_OK);
	check_days(days, n, want);
	if (n == 12) {
		CHECK_STR(days[5].summary, "\xEC\x84\xA4\xEB\x82\xA0 Seollal");
		CHECK_STR(days[8].summary, "Chuseok");
		CHECK_STR(days[0].summary, "Christmas Day");
		CHECK_STR(days[1].summary, "Winter Friday off");
	}
	free(days);

	/* The span: 31 days back (this month's /cost), 400 ahead. */
	static const char edges[] = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"
				    "BEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20260101T000000Z\r\n"
				    "DTSTART;VALUE=DATE:20261102\r\nSUMMARY:too early\r\n"
				    "END:VEVENT\r\n"
				    "BEGIN:VEVENT\r\nUID:b\r\nDTSTAMP:20260101T000000Z\r\n"
				    "DTSTART;VALUE=DATE:20261103\r\nSUMMARY:first\r\n"
				    "END:VEVENT\r\n"
				    "BEGIN:VEVENT\r\nUID:c\r\nDTSTAMP:20260101T000000Z\r\n"
				    "DTSTART;VALUE=DATE:20280108\r\nSUMMARY:last\r\n"
				    "END:VEVENT\r\n"
				    "BEGIN:VEVENT\r\nUID:d\r\nDTSTAMP:20260101T000000Z\r\n"
				    "DTSTART;VALUE=DATE:20280109\r\nSUMMARY:too late\r\n"
				    "END:VEVENT\r\nEND:VCALENDAR\r\n";
	static const ymd_t want_edges[] = { 20261103, 20280108, 0 };
	CHECK_INT(when_add_days(TODAY, -CALFETCH_DAYS_BEFORE), 20261103);
	CHECK_INT(when_add_days(TODAY, CALFETCH_DAYS_AFTER), 20280108);
	CHECK_INT(calfetch_parse(edges, strlen(edges), TODAY, &days, &n, err, sizeof(err)), BOT_OK);
	check_days(days, n, want_edges);
	if (n == 2) {
		CHECK_STR(days[0].summary, "first");
		CHECK_STR(days[1].summary, "last");
	}
	free(days);

	/* Events, none in the span: a good copy with no day. */
	static const char old[] = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"
				  "BEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20200101T000000Z\r\n"
				  "DTSTART;VALUE=DATE:20200101\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
	days = (void *)1;
	CHECK_INT(calfetch_parse(old, strlen(old), TODAY, &days, &n, err, sizeof(err)), BOT_OK);
	CHECK(days == NULL);
	CHECK_INT(n, 0);

	/* Broken: BOT_EPARSE, nothing out, one line saying why. */
	f = fopen(path_in(datadir, "broken.ics"), "rb");
	len = f ? fread(text, 1, sizeof(text), f) : 0;
	if (f)
		fclose(f);
	days = (void *)1;
	n = 7;
	err[0] = '\0';
	CHECK_INT(calfetch_parse(text, len, TODAY, &days, &n, err, sizeof(err)), BOT_EPARSE);
	CHECK(days == NULL);
	CHECK_INT(n, 0);
	CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
	CHECK_INT(calfetch_parse("<html>404</html>", 16, TODAY, &days, &n, err, sizeof(err)),
		  BOT_EPARSE);
	CHECK(strlen(err) > 0);
	CHECK_INT(calfetch_parse("", 0, TODAY, &days, &n, err, sizeof(err)), BOT_EPARSE);
}

static void test_file(void)
{
	char err[256];
	struct state_cal_day *days = NULL;
	size_t n = 0;
	const char *ko = path_in(tmp, "ko.ics");
	copy_fixture("seollal.ics", ko);
	CHECK_INT(calfetch_file(ko, TODAY, &days, &n, err, sizeof(err)), BOT_OK);
	CHECK_INT(n, 12);
	free(days);

	err[0] = '\0';
	CHECK_INT(calfetch_file(path_in(tmp, "missing.ics"), TODAY, &days, &n, err, sizeof(err)),
		  BOT_EIO);
	CHECK(strstr(err, "cannot open") && strstr(err, "missing.ics") &&
	      strstr(err, "No such file"));
	CHECK(days == NULL && n == 0);
	CHECK_INT(calfetch_file(tmp, TODAY, &days, &n, err, sizeof(err)), BOT_EIO);
	CHECK(strstr(err, "is not a regular file") != NULL);
	/* A FIFO in the file's place: refused at once, not waited on. */
	const char *fifo = path_in(tmp, "fifo.ics");
	CHECK_INT(mkfifo(fifo, 0600), 0);
	CHECK_INT(calfetch_file(fifo, TODAY, &days, &n, err, sizeof(err)), BOT_EIO);
	CHECK(strstr(err, "is not a regular file") != NULL);
	unlink(fifo);
	/* Larger than CALFETCH_MAX_BYTES. */
	const char *big = path_in(tmp, "big.ics");
	FILE *f = fopen(big, "w");
	CHECK(f && ftruncate(fileno(f), (off_t)CALFETCH_MAX_BYTES + 1) == 0);
	if (f)
		fclose(f);
	CHECK_INT(calfetch_file(big, TODAY, &days, &n, err, sizeof(err)), BOT_EIO);
	CHECK(strstr(err, "larger than 4 MiB") != NULL);
	unlink(big);
	/* A broken calendar: the parser's reason. */
	const char *broken = path_in(tmp, "broken.ics");
	copy_fixture("broken.ics", broken);
	CHECK_INT(calfetch_file(broken, TODAY, &days, &n, err, sizeof(err)), BOT_EPARSE);
	CHECK(days == NULL && n == 0);
	unlink(broken);
	unlink(ko);
}

/* ---- holidays.c ---- */

static void test_applies(void)
{
	struct cfg *cfg = three_envs("https://example.com/cal/ko.ics", "/etc/envbot/company.ics");
	const struct cfg_env *dev = cfg_find_env(cfg, "dev"), *qa = cfg_find_env(cfg, "qa"),
			     *ops = cfg_find_env(cfg, "ops");
	CHECK(dev && qa && ops);
	CHECK_INT(cfg->n_calendars, 2);
	CHECK_STR(cfg->calendars[0].name, "ko");
	CHECK_STR(cfg->calendars[1].name, "company");
	CHECK(holidays_applies(NULL, "ko"));
	CHECK(holidays_applies(dev, "ko") && holidays_applies(dev, "company"));
	CHECK(!holidays_applies(qa, "ko") && holidays_applies(qa, "company"));
	CHECK(!holidays_applies(ops, "ko") && !holidays_applies(ops, "company"));
	cfg_destroy(cfg);
}

static void test_find_and_list(void)
{
	struct cfg *cfg = three_envs("https://example.com/cal/ko.ics", "/etc/envbot/company.ics");
	const struct cfg_env *dev = cfg_find_env(cfg, "dev"), *qa = cfg_find_env(cfg, "qa"),
			     *ops = cfg_find_env(cfg, "ops");
	struct state *st = state_create();
	struct holiday h;
	char err[256], label[512];

	/* No copy yet: only the config's day. */
	CHECK(!holidays_find(cfg, st, dev, 20270208, &h));
	CHECK(holidays_find(cfg, st, ops, 20270101, &h));
	CHECK_INT(h.source, HOLIDAY_CONFIG);
	CHECK(holidays_find(cfg, NULL, dev, 20270101, &h));
	CHECK(!holidays_find(cfg, NULL, dev, 20270208, &h));

	static const ymd_t ko_d[] = { 20270101, 20270206, 20270207, 20270208 };
	static const char *const ko_s[] = { "New Year", "Seollal", "Seollal", "Seollal" };
	static const ymd_t co_d[] = { 20270208, 20270301 };
	static const char *const co_s[] = { "Lunar New Year", "" };
	set_copy(st, "ko", ko_d, ko_s, 4);
	set_copy(st, "company", co_d, co_s, 2);
	/* a copy of a calendar the config does not name counts for nobody */
	set_copy(st, "gone", (const ymd_t[]){ 20270505 }, (const char *const[]){ "x" }, 1);

	CHECK(holidays_find(cfg, st, dev, 20270207, &h));
	CHECK_INT(h.source, HOLIDAY_CALENDAR);
	CHECK_STR(h.calendar, "ko");
	CHECK_STR(h.label, "Seollal");
	CHECK(!holidays_find(cfg, st, qa, 20270207, &h)); /* qa takes company only */
	CHECK(!holidays_find(cfg, st, ops, 20270207, &h));
	/* the first calendar in config order names a shared day */
	CHECK(holidays_find(cfg, st, dev, 20270208, &h) && strcmp(h.calendar, "ko") == 0);
	CHECK(holidays_find(cfg, st, qa, 20270208, &h) && strcmp(h.calendar, "company") == 0);
	CHECK_STR(h.label, "Lunar New Year");
	/* the config's day first, whatever the calendars say */
	CHECK(holidays_find(cfg, st, dev, 20270101, &h) && h.source == HOLIDAY_CONFIG);
	CHECK(!holidays_find(cfg, st, dev, 20270505, &h));
	CHECK(!holidays_find(cfg, st, dev, 20270209, &h));
	CHECK(holidays_find(cfg, st, NULL, 20270301, &h) && strcmp(h.calendar, "company") == 0);

	/* the labels a decision's reason carries */
	holidays_find(cfg, st, dev, 20270207, &h);
	holidays_label(&h, label, sizeof(label));
	CHECK_STR(label, "Seollal, calendar ko");
	holidays_find(cfg, st, dev, 20270301, &h);
	holidays_label(&h, label, sizeof(label));
	CHECK_STR(label, "calendar company");
	holidays_find(cfg, st, dev, 20270101, &h);
	holidays_label(&h, label, sizeof(label));
	CHECK_STR(label, "");

	/* the list: by date, then config, calendars in config order, chat */
	CHECK_INT(state_holiday_add(st, 20270208, "offsite", "bob", 1764800000, err, sizeof(err)),
		  BOT_OK);
	CHECK_INT(state_holiday_add(st, 20261231, "", "alice", 1764800000, err, sizeof(err)),
		  BOT_OK);
	struct holiday *v = NULL;
	size_t n = 0;
	CHECK_INT(holidays_list(cfg, st, NULL, &v, &n), BOT_OK);
	struct {
		ymd_t date;
		enum holiday_source src;
		const char *cal;
	} want[] = {
		{ 20261231, HOLIDAY_CHAT, NULL },          { 20270101, HOLIDAY_CONFIG, NULL },
		{ 20270101, HOLIDAY_CALENDAR, "ko" },      { 20270206, HOLIDAY_CALENDAR, "ko" },
		{ 20270207, HOLIDAY_CALENDAR, "ko" },      { 20270208, HOLIDAY_CALENDAR, "ko" },
		{ 20270208, HOLIDAY_CALENDAR, "company" }, { 20270208, HOLIDAY_CHAT, NULL },
		{ 20270301, HOLIDAY_CALENDAR, "company" },
	};
	CHECK_INT(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n && i < sizeof(want) / sizeof(want[0]); i++) {
		CHECK_INT(v[i].date, want[i].date);
		CHECK_INT(v[i].source, want[i].src);
		if (want[i].cal)
			CHECK_STR(v[i].calendar, want[i].cal);
		else
			CHECK(v[i].calendar == NULL);
	}
	if (n == 9) {
		CHECK_STR(v[7].who, "bob");
		CHECK_STR(v[7].label, "offsite");
		CHECK_STR(v[6].label, "Lunar New Year");
		holidays_label(&v[7], label, sizeof(label));
		CHECK_STR(label, "offsite, added by bob");
		holidays_label(&v[0], label, sizeof(label));
		CHECK_STR(label, "added by alice");
	}
	free(v);
	/* one environment's: qa has no ko days, ops only the config's and chat's */
	CHECK_INT(holidays_list(cfg, st, qa, &v, &n), BOT_OK);
	CHECK_INT(n, 5);
	for (size_t i = 0; i < n; i++)
		CHECK(v[i].source != HOLIDAY_CALENDAR || strcmp(v[i].calendar, "company") == 0);
	free(v);
	CHECK_INT(holidays_list(cfg, st, ops, &v, &n), BOT_OK);
	CHECK_INT(n, 3);
	free(v);
	/* nothing at all */
	struct state *empty = state_create();
	struct cfg *bare = make_cfg("discord: { application_id = \"1\"; channel_id = \"2\"; };\n"
				    "aws: { region = \"ap-northeast-2\"; };\n"
				    "environments = ( { name = \"dev\"; kind = \"ec2\";\n"
				    "  tag = { key = \"k\"; value = \"v\"; }; } );\n");
	v = (void *)1;
	CHECK_INT(holidays_list(bare, empty, NULL, &v, &n), BOT_OK);
	CHECK(v == NULL && n == 0);
	cfg_destroy(bare);
	state_destroy(empty);

	/* the conflict rule asking them */
	struct state_decision d;
	struct holidays_of ho = { .cfg = cfg, .st = st, .env = dev };
	state_decide(st, "dev", ACTION_START, 1801000000, 20270207, holidays_decide_fn, &ho, NULL,
		     &d);
	CHECK(!d.run);
	CHECK_INT(d.rule, STATE_RULE_HOLIDAY);
	CHECK_STR(d.reason, "skipped: holiday 2027-02-07 (Seollal, calendar ko)");
	state_decide(st, "dev", ACTION_STOP, 1801000000, 20270207, holidays_decide_fn, &ho, NULL,
		     &d);
	CHECK(d.run); /* stops still run */
	ho.env = qa;
	state_decide(st, "qa", ACTION_START, 1801000000, 20270207, holidays_decide_fn, &ho, NULL,
		     &d);
	CHECK(d.run);
	/* a calendar's day comes before the chat's on the same date */
	state_decide(st, "qa", ACTION_START, 1801000000, 20270208, holidays_decide_fn, &ho, NULL,
		     &d);
	CHECK_STR(d.reason, "skipped: holiday 2027-02-08 (Lunar New Year, calendar company)");
	ho.env = ops;
	state_decide(st, "ops", ACTION_START, 1801000000, 20270208, holidays_decide_fn, &ho, NULL,
		     &d);
	CHECK_STR(d.reason, "skipped: holiday 2027-02-08 (offsite, added by bob)");
	state_decide(st, "ops", ACTION_START, 1801000000, 20270101, holidays_decide_fn, &ho, NULL,
		     &d);
	CHECK_STR(d.reason, "skipped: holiday 2027-01-01");
	/* without a function only the chat's */
	state_decide(st, "dev", ACTION_START, 1801000000, 20270207, NULL, NULL, NULL, &d);
	CHECK(d.run);
	state_destroy(st);
	cfg_destroy(cfg);
}

static void test_source_shown(void)
{
	char buf[512];
	char name[] = "company", file_src[] = "/etc/envbot/company.ics", ko[] = "ko";
	char url_src[] = "https://user:secret@calendar.example.com:8443/cal/private-0123abcd/"
			 "basic.ics?key=s3cr3t";
	char local_src[] = "http://127.0.0.1:8080/ko.ics";
	struct cfg_calendar file = { .name = name, .source = file_src };
	holidays_source_shown(&file, buf, sizeof(buf));
	CHECK_STR(buf, "/etc/envbot/company.ics");
	struct cfg_calendar url = { .name = ko, .source = url_src, .is_url = true };
	holidays_source_shown(&url, buf, sizeof(buf));
	CHECK_STR(buf, "https://calendar.example.com/\xE2\x80\xA6");
	CHECK(strstr(buf, "secret") == NULL && strstr(buf, "private") == NULL);
	struct cfg_calendar local = { .name = ko, .source = local_src, .is_url = true };
	holidays_source_shown(&local, buf, sizeof(buf));
	CHECK_STR(buf, "http://127.0.0.1/\xE2\x80\xA6");
}

/* ---- the refresher (calendars.c) on files, with a real loop ---- */

struct watch {
	struct loop *loop;
	int saves, posts;
	char last_post[1024];
	int stop_after; /* saves; 0 outside run_until, -1 timed out */
};

static void on_save(void *arg)
{
	struct watch *w = arg;
	/* only while run_until runs the loop: a stop asked outside would end
	 * the next run at once */
	if (++w->saves >= w->stop_after && w->stop_after > 0)
		loop_stop(w->loop);
}

static void on_post(void *arg, const char *text)
{
	struct watch *w = arg;
	w->posts++;
	snprintf(w->last_post, sizeof(w->last_post), "%s", text);
}

static void on_timeout(void *arg)
{
	struct watch *w = arg;
	w->stop_after = -1;
	loop_stop(w->loop);
}

/* Runs the loop until `saves` more saves happened (or 10 s passed). */
static bool run_until(struct watch *w, int saves)
{
	w->stop_after = w->saves + saves;
	struct loop_timer *t = loop_timer_add(w->loop, 10000, on_timeout, w);
	loop_run(w->loop);
	bool timed_out = w->stop_after == -1;
	w->stop_after = 0;
	if (timed_out)
		return false;
	loop_timer_cancel(w->loop, t);
	return true;
}

static void test_refresher(void)
{
	const char *ko = path_in(tmp, "ko.ics"), *company = path_in(tmp, "company.ics");
	copy_fixture("seollal.ics", ko);
	write_file(company, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"
			    "BEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20260101T000000Z\r\n"
			    "DTSTART;VALUE=DATE:20270301\r\nSUMMARY:Founders\r\n"
			    "RRULE:FREQ=YEARLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
	struct cfg *cfg = three_envs(ko, company);
	struct state *st = state_create();
	struct watch w = { .loop = loop_create() };
	struct calendars_deps deps = {
		.loop = w.loop, .st = st, .save = on_save, .post = on_post, .arg = &w
	};
	unsetenv("ENVBOT_TEST_CALENDAR_REFRESH_S");
	struct calendars *c = calendars_create(&deps, cfg);
	CHECK(c != NULL);
	if (!c || !w.loop)
		return;

	/* first round: both files read, cached, nothing posted */
	calendars_start(c);
	CHECK(state_calendar_find(st, "ko") == NULL); /* done never runs inside start */
	CHECK(run_until(&w, 2));
	const struct state_calendar *sk = state_calendar_find(st, "ko"),
				    *sc = state_calendar_find(st, "company");
	CHECK(sk && sk->fetched > 0 && sk->failed_at == 0 && sk->n_days > 0);
	CHECK(sc && sc->fetched > 0 && sc->n_days >= 1);
	size_t ko_days = sk ? sk->n_days : 0;
	time_t ko_fetched = sk ? sk->fetched : 0;
	CHECK_INT(w.posts, 0);

	/* ko broken: the copy stays, the failure is recorded, one post */
	copy_fixture("broken.ics", ko);
	calendars_refresh(c);
	CHECK(run_until(&w, 2));
	sk = state_calendar_find(st, "ko");
	CHECK(sk && sk->n_days == ko_days && sk->fetched == ko_fetched);
	CHECK(sk && sk->failed_at > 0 && sk->error[0]);
	CHECK_INT(w.posts, 1);
	CHECK(strstr(w.last_post, "Holiday calendar **ko** could not be refreshed") != NULL);
	CHECK(strstr(w.last_post, "is still used") != NULL);
	CHECK(strchr(w.last_post, '\n') == NULL);
	struct holiday h;
	CHECK(holidays_find(cfg, st, cfg_find_env(cfg, "dev"), 20270207, &h));

	/* still broken: no second post in the same streak */
	calendars_refresh(c);
	CHECK(run_until(&w, 2));
	CHECK_INT(w.posts, 1);
	sk = state_calendar_find(st, "ko");
	CHECK(sk && sk->n_days == ko_days && sk->failed_at > 0);

	/* the file gone: still the copy, still one post */
	unlink(ko);
	calendars_refresh(c);
	CHECK(run_until(&w, 2));
	CHECK_INT(w.posts, 1);
	sk = state_calendar_find(st, "ko");
	CHECK(sk && strstr(sk->error, "cannot open") != NULL && sk->n_days == ko_days);

	/* mended: failure cleared; a new failure opens a new streak */
	copy_fixture("seollal.ics", ko);
	calendars_refresh(c);
	CHECK(run_until(&w, 2));
	sk = state_calendar_find(st, "ko");
	CHECK(sk && sk->failed_at == 0 && sk->error[0] == '\0');
	write_file(ko, "not a calendar\n");
	calendars_refresh(c);
	CHECK(run_until(&w, 2));
	CHECK_INT(w.posts, 2);

	/* SIGHUP without company: its copy dropped, a round at once */
	char text[4096];
	snprintf(text, sizeof(text),
		 "discord: { application_id = \"1\"; channel_id = \"2\"; };\n"
		 "aws: { region = \"ap-northeast-2\"; };\n"
		 "holiday_calendars = [ \"%s\" ];\n"
		 "environments = ( { name = \"dev\"; kind = \"ec2\";\n"
		 "  tag = { key = \"k\"; value = \"v\"; }; } );\n",
		 ko);
	copy_fixture("seollal.ics", ko);
	struct cfg *fresh = make_cfg(text);
	int before = w.saves;
	calendars_set_config(c, fresh);
	CHECK(state_calendar_find(st, "company") == NULL);
	CHECK(w.saves == before + 1); /* the drop is saved */
	CHECK(run_until(&w, 1));
	sk = state_calendar_find(st, "ko");
	CHECK(sk && sk->failed_at == 0);
	CHECK_INT(state_calendar_count(st), 1);
	calendars_destroy(c);

	/* A closed fence (a standby): nothing is read, nothing changes. */
	struct state *st2 = state_create();
	struct fence closed;
	fence_init(&closed);
	deps.st = st2;
	deps.fence = &closed;
	c = calendars_create(&deps, fresh);
	calendars_start(c);
	w.saves = 0;
	loop_timer_add(w.loop, 300, on_timeout, &w);
	loop_run(w.loop);
	w.stop_after = 0;
	CHECK_INT(w.saves, 0);
	CHECK(state_calendar_find(st2, "ko") == NULL);
	/* opened: the next call reads it */
	fence_open_until(&closed, fence_now_ms() + 60000);
	calendars_refresh(c);
	CHECK(run_until(&w, 1));
	CHECK(state_calendar_find(st2, "ko") != NULL);
	calendars_destroy(c);

	/* The test knob: a round every second by itself. */
	setenv("ENVBOT_TEST_CALENDAR_REFRESH_S", "1", 1);
	deps.st = st;
	deps.fence = NULL;
	c = calendars_create(&deps, fresh);
	calendars_start(c);
	CHECK(run_until(&w, 2)); /* the first round and the one a second later */
	calendars_destroy(c);    /* with a round's timer pending */
	unsetenv("ENVBOT_TEST_CALENDAR_REFRESH_S");

	state_destroy(st2);
	state_destroy(st);
	cfg_destroy(fresh);
	cfg_destroy(cfg);
	loop_destroy(w.loop);
	unlink(ko);
	unlink(company);
}

int main(int argc, char **argv)
{
	static const char *const needed[] = { "seollal.ics", "broken.ics", NULL };
	datadir = argc > 1 ? argv[1] : NULL;
	check_testdata(datadir, needed);
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	test_parse();
	test_file();
	test_applies();
	test_find_and_list();
	test_source_shown();
	test_refresher();
	curl_global_cleanup();
	rmdir(tmp);
	return check_done();
}
