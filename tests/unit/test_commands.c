/* Unit tests of the slash commands' pure parts (commands/cmdutil.c): role
 * levels, where interactions may come from, escaping of echoed text, the
 * duration/day/until forms and their bad forms, today's stop and the extend
 * computation with max_extend, the custom ids of confirm and snooze
 * buttons, what a snooze click does (idempotent: until the warned stop +
 * N h), the conflict notes, replies of any length cut into Discord
 * messages, and the next action in words as the scheduler answers it. */
#include <stdlib.h>
#include <string.h>

#include "../../bot/kinds/kinds.h"
#include "../../bot/sched/plan.h"
#include "../../bot/sched/sched.h"
#include "../../commands/commands.h"
#include "check.h"

/* Monday 2026-11-23 01:00 UTC = 10:00 KST. */
#define MON_10_KST ((time_t)1795395600)
#define H          3600

static const char cfg_text[] =
	"discord: { application_id = \"1\"; guild_id = \"900\"; channel_id = \"2\";\n"
	"  roles: { operator = [ \"40\" ]; admin = [ \"50\" ]; }; };\n"
	"aws: { region = \"us-east-1\"; };\n"
	"timezone = \"Asia/Seoul\";\n"
	"holidays = [ \"2026-12-25\" ];\n"
	"environments = ( { name = \"qa\"; kind = \"ec2\";\n"
	"  tag = { key = \"k\"; value = \"v\"; };\n"
	"  schedule: { start = \"0 9 * * MON-FRI\"; stop = \"0 18 * * MON-FRI\"; }; },\n"
	" { name = \"nostop\"; kind = \"ec2\"; tag = { key = \"k\"; value = \"v\"; };\n"
	"  schedule: { start = \"0 9 * * *\"; }; },\n"
	" { name = \"manual\"; kind = \"ec2\"; tag = { key = \"k\"; value = \"v\"; }; } );\n";

static struct ix *make_ix(const char *guild, const char *role)
{
	struct ix *ix = calloc(1, sizeof(*ix));
	snprintf(ix->guild_id, sizeof(ix->guild_id), "%s", guild);
	snprintf(ix->user_id, sizeof(ix->user_id), "%s", "777");
	if (role) {
		ix->roles = calloc(1, sizeof(char *));
		ix->roles[0] = strdup(role);
		ix->n_roles = 1;
	}
	return ix;
}

static void free_ix(struct ix *ix)
{
	for (size_t i = 0; i < ix->n_roles; i++)
		free(ix->roles[i]);
	free(ix->roles);
	free(ix);
}

static void test_roles_and_place(const struct cfg *cfg)
{
	struct ix *a = make_ix("900", "50"), *o = make_ix("900", "40"), *n = make_ix("900", "41"),
		  *none = make_ix("900", NULL), *dm = make_ix("", "50"),
		  *other = make_ix("901", "50");
	CHECK_INT(cmd_member_level(cfg, a), CMD_ADMIN);
	CHECK_INT(cmd_member_level(cfg, o), CMD_OPERATOR);
	CHECK_INT(cmd_member_level(cfg, n), CMD_ANYONE);
	CHECK_INT(cmd_member_level(cfg, none), CMD_ANYONE);
	CHECK(cmd_check_place(cfg, a) == NULL);
	CHECK(cmd_check_place(cfg, dm) != NULL && strstr(cmd_check_place(cfg, dm), "direct"));
	CHECK(cmd_check_place(cfg, other) != NULL);
	CHECK_STR(cmd_level_name(CMD_ADMIN), "an admin");
	CHECK_STR(cmd_level_name(CMD_OPERATOR), "an operator");
	free_ix(a);
	free_ix(o);
	free_ix(n);
	free_ix(none);
	free_ix(dm);
	free_ix(other);
}

static void test_escape(void)
{
	char out[64];
	cmd_escape("a`b*c_d", out, sizeof(out));
	CHECK_STR(out, "a\\`b\\*c\\_d");
	cmd_escape("@everyone", out, sizeof(out));
	CHECK(strncmp(out, "@\xE2\x80\x8B", 4) == 0 && strstr(out, "everyone"));
	cmd_escape("line\nbreak", out, sizeof(out));
	CHECK_STR(out, "line break");
	cmd_escape("<@123>", out, sizeof(out));
	CHECK_STR(out, "\\<@\xE2\x80\x8B"
		       "123\\>");
	cmd_escape(NULL, out, sizeof(out));
	CHECK_STR(out, "");
	/* Truncation keeps UTF-8 whole and ends with an ellipsis. */
	char small[10];
	cmd_escape("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", small, sizeof(small));
	CHECK(strlen(small) < sizeof(small));
	size_t n = strlen(small);
	CHECK(n >= 3 && strcmp(small + n - 3, "\xE2\x80\xA6") == 0);
	CHECK(((unsigned char)small[n - 4] & 0xC0) == 0x80); /* a whole é before it */
}

static void test_extend_parse(void)
{
	struct cmd_extend_arg a;
	char err[256], buf[32];
	CHECK_INT(cmd_extend_parse(NULL, "30m", &a, err, sizeof(err)), 0);
	CHECK(!a.until && a.seconds == 30 * 60);
	CHECK_INT(cmd_extend_parse(NULL, "2h", &a, err, sizeof(err)), 0);
	CHECK_INT(a.seconds, 2 * H);
	CHECK_INT(cmd_extend_parse(NULL, " 1h30m ", &a, err, sizeof(err)), 0);
	CHECK_INT(a.seconds, 90 * 60);
	cmd_extend_format(&a, buf, sizeof(buf));
	CHECK_STR(buf, "1h30m");
	CHECK_INT(cmd_extend_parse(NULL, "+1h", &a, err, sizeof(err)), 0);
	CHECK_INT(a.seconds, H);
	CHECK_INT(cmd_extend_parse(NULL, "until 22:00", &a, err, sizeof(err)), 0);
	CHECK(a.until && a.minutes == 22 * 60);
	cmd_extend_format(&a, buf, sizeof(buf));
	CHECK_STR(buf, "until 22:00");
	CHECK_INT(cmd_extend_parse(NULL, "UNTIL 7:05", &a, err, sizeof(err)), 0);
	CHECK(a.until && a.minutes == 7 * 60 + 5);

	CHECK_INT(cmd_extend_parse(NULL, "", &a, err, sizeof(err)), -1);
	CHECK(strstr(err, "not a duration") != NULL);
	CHECK_INT(cmd_extend_parse(NULL, "soon", &a, err, sizeof(err)), -1);
	CHECK_INT(cmd_extend_parse(NULL, "2x", &a, err, sizeof(err)), -1);
	CHECK_INT(cmd_extend_parse(NULL, "0", &a, err, sizeof(err)), -1);
	CHECK(strstr(err, "longer than 0") != NULL);
	CHECK_INT(cmd_extend_parse(NULL, "until 25:00", &a, err, sizeof(err)), -1);
	CHECK(strstr(err, "not a time of day") != NULL);
	CHECK_INT(cmd_extend_parse(NULL, "until", &a, err, sizeof(err)), -1);
	CHECK_INT(cmd_extend_parse(NULL, "-1h", &a, err, sizeof(err)), -1);
	CHECK_INT(cmd_extend_parse(NULL, NULL, &a, err, sizeof(err)), -1);
	/* The echo of a bad value is escaped. */
	CHECK_INT(cmd_extend_parse(NULL, "`@everyone`", &a, err, sizeof(err)), -1);
	CHECK(strstr(err, "\\`") != NULL && strstr(err, "@everyone") == NULL);
}

static void test_stop_today(const struct cfg *cfg, struct tz *tz)
{
	const struct cfg_env *qa = cfg_find_env(cfg, "qa"), *nostop = cfg_find_env(cfg, "nostop");
	time_t sched, eff, stop18 = MON_10_KST + 8 * H;
	ymd_t date;
	char err[256];
	struct state *st = state_create();

	CHECK_INT(
		cmd_stop_today(NULL, qa, tz, st, MON_10_KST, &sched, &eff, &date, err, sizeof(err)),
		0);
	CHECK_INT(sched, stop18);
	CHECK_INT(eff, stop18);
	CHECK_INT(date, 20261123);
	/* After 18:00: nothing left today. */
	CHECK_INT(cmd_stop_today(NULL, qa, tz, st, stop18 + 60, &sched, &eff, &date, err,
				 sizeof(err)),
		  -1);
	CHECK(strstr(err, "already happened") != NULL);
	/* Extended to 20:00: at 19:00 the extended stop is today's. */
	CHECK_INT(state_extend_set(st, "qa", 20261123, stop18 + 2 * H, "bob", MON_10_KST, err,
				   sizeof(err)),
		  BOT_OK);
	CHECK_INT(
		cmd_stop_today(NULL, qa, tz, st, stop18 + H, &sched, &eff, &date, err, sizeof(err)),
		0);
	CHECK_INT(sched, stop18);
	CHECK_INT(eff, stop18 + 2 * H);
	/* Saturday 2026-11-28: no stop that day. */
	CHECK_INT(cmd_stop_today(NULL, qa, tz, st, MON_10_KST + 5 * 86400, &sched, &eff, &date, err,
				 sizeof(err)),
		  -1);
	CHECK(strstr(err, "no scheduled stop today") != NULL);
	CHECK_INT(cmd_stop_today(NULL, nostop, tz, st, MON_10_KST, &sched, &eff, &date, err,
				 sizeof(err)),
		  -1);
	CHECK(strstr(err, "no scheduled stop") != NULL);
	state_destroy(st);
}

static void test_extend_compute(struct tz *tz)
{
	struct cmd_extend_arg a;
	time_t stop18 = MON_10_KST + 8 * H, out = 0;
	char err[512];
	ymd_t d = 20261123;
	int64_t cap = 4 * H;

	CHECK_INT(cmd_extend_parse(NULL, "2h", &a, err, sizeof(err)), 0);
	CHECK_INT(cmd_extend_compute(NULL, &a, tz, d, MON_10_KST, stop18, stop18, cap, false, &out,
				     err, sizeof(err)),
		  0);
	CHECK_INT(out, stop18 + 2 * H);
	/* A duration adds to the current (already extended) stop. */
	CHECK_INT(cmd_extend_compute(NULL, &a, tz, d, MON_10_KST, stop18, stop18 + H, cap, false,
				     &out, err, sizeof(err)),
		  0);
	CHECK_INT(out, stop18 + 3 * H);
	/* Over max_extend: operators refused, admins allowed. */
	CHECK_INT(cmd_extend_parse(NULL, "5h", &a, err, sizeof(err)), 0);
	CHECK_INT(cmd_extend_compute(NULL, &a, tz, d, MON_10_KST, stop18, stop18, cap, false, &out,
				     err, sizeof(err)),
		  -1);
	CHECK(strstr(err, "max_extend") != NULL && strstr(err, "4h") != NULL);
	CHECK_INT(cmd_extend_compute(NULL, &a, tz, d, MON_10_KST, stop18, stop18, cap, true, &out,
				     err, sizeof(err)),
		  0);
	CHECK_INT(out, stop18 + 5 * H);
	/* 4h exactly is allowed; cumulative 2h + 3h is not. */
	CHECK_INT(cmd_extend_parse(NULL, "4h", &a, err, sizeof(err)), 0);
	CHECK_INT(cmd_extend_compute(NULL, &a, tz, d, MON_10_KST, stop18, stop18, cap, false, &out,
				     err, sizeof(err)),
		  0);
	CHECK_INT(cmd_extend_parse(NULL, "3h", &a, err, sizeof(err)), 0);
	CHECK_INT(cmd_extend_compute(NULL, &a, tz, d, MON_10_KST, stop18, stop18 + 2 * H, cap,
				     false, &out, err, sizeof(err)),
		  -1);
	/* until 22:00 KST = 13:00 UTC. */
	CHECK_INT(cmd_extend_parse(NULL, "until 22:00", &a, err, sizeof(err)), 0);
	CHECK_INT(cmd_extend_compute(NULL, &a, tz, d, MON_10_KST, stop18, stop18, cap, false, &out,
				     err, sizeof(err)),
		  0);
	CHECK_INT(out, stop18 + 4 * H);
	CHECK_INT(cmd_extend_parse(NULL, "until 23:00", &a, err, sizeof(err)), 0);
	CHECK_INT(cmd_extend_compute(NULL, &a, tz, d, MON_10_KST, stop18, stop18, cap, false, &out,
				     err, sizeof(err)),
		  -1);
	CHECK_INT(cmd_extend_parse(NULL, "until 17:00", &a, err, sizeof(err)), 0);
	CHECK_INT(cmd_extend_compute(NULL, &a, tz, d, MON_10_KST, stop18, stop18, cap, false, &out,
				     err, sizeof(err)),
		  -1);
	CHECK(strstr(err, "17:00 KST is not after today's scheduled stop (18:00 KST)") != NULL);
	/* The absolute form of confirm buttons: the same instant however often. */
	CHECK_INT(cmd_extend_parse(NULL, "@1795435200", &a, err, sizeof(err)), 0);
	CHECK(a.at && a.stop_at == stop18 + 3 * H);
	char canon[32];
	cmd_extend_format(&a, canon, sizeof(canon));
	CHECK_STR(canon, "@1795435200");
	CHECK_INT(cmd_extend_compute(NULL, &a, tz, d, MON_10_KST, stop18, stop18 + 2 * H, cap,
				     false, &out, err, sizeof(err)),
		  0);
	CHECK_INT(out, stop18 + 3 * H);
	CHECK_INT(cmd_extend_parse(NULL, "@1795435200", &a, err, sizeof(err)), 0);
	a.stop_at = stop18 + 5 * H;
	CHECK_INT(cmd_extend_compute(NULL, &a, tz, d, MON_10_KST, stop18, stop18, cap, false, &out,
				     err, sizeof(err)),
		  -1);
	CHECK(strstr(err, "max_extend") != NULL);
	CHECK_INT(cmd_extend_parse(NULL, "@", &a, err, sizeof(err)), -1);
	CHECK_INT(cmd_extend_parse(NULL, "@12x", &a, err, sizeof(err)), -1);
	/* until a time that has passed (extended stop still ahead). */
	CHECK_INT(cmd_extend_parse(NULL, "until 18:30", &a, err, sizeof(err)), 0);
	CHECK_INT(cmd_extend_compute(NULL, &a, tz, d, stop18 + H, stop18, stop18 + 2 * H, cap,
				     false, &out, err, sizeof(err)),
		  -1);
	CHECK(strstr(err, "already passed") != NULL);
	/* until may also shorten an extension. */
	CHECK_INT(cmd_extend_parse(NULL, "until 19:30", &a, err, sizeof(err)), 0);
	CHECK_INT(cmd_extend_compute(NULL, &a, tz, d, stop18 + H, stop18, stop18 + 3 * H, cap,
				     false, &out, err, sizeof(err)),
		  0);
	CHECK_INT(out, stop18 + H + H / 2);
}

/* /env start ... for: the forms, the bad ones, the end computed in the zone,
 * in the past, over max_extend for an operator; lengthening a lease; and
 * manual_lease in the config. */
static void test_leases(struct tz *tz)
{
	struct cmd_lease_arg a;
	char err[512];
	time_t mon20 = MON_10_KST + 10 * H, out = 0;
	int64_t cap = 4 * H;

	CHECK_INT(cmd_lease_parse(NULL, "2h", &a, err, sizeof(err)), 0);
	CHECK(!a.until && a.seconds == 2 * H);
	CHECK_INT(cmd_lease_parse(NULL, " 90m ", &a, err, sizeof(err)), 0);
	CHECK_INT(a.seconds, 90 * 60);
	CHECK_INT(cmd_lease_parse(NULL, "until 22:00", &a, err, sizeof(err)), 0);
	CHECK(a.until && !a.tomorrow && a.minutes == 22 * 60);
	CHECK_INT(cmd_lease_parse(NULL, "until tomorrow 09:00", &a, err, sizeof(err)), 0);
	CHECK(a.until && a.tomorrow && a.minutes == 9 * 60);
	CHECK_INT(cmd_lease_parse(NULL, "@1795435200", &a, err, sizeof(err)), 0);
	CHECK(a.at && a.until_at == 1795435200);
	err[0] = '\0';
	CHECK_INT(cmd_lease_parse(NULL, "banana", &a, err, sizeof(err)), -1);
	CHECK(strstr(err, "banana") && strstr(err, "not a lease"));
	CHECK_INT(cmd_lease_parse(NULL, "until banana", &a, err, sizeof(err)), -1);
	CHECK(strstr(err, "not a time of day") != NULL);
	CHECK_INT(cmd_lease_parse(NULL, "until tomorrow", &a, err, sizeof(err)), -1);
	CHECK_INT(cmd_lease_parse(NULL, "0", &a, err, sizeof(err)), -1);
	CHECK_INT(cmd_lease_parse(NULL, "", &a, err, sizeof(err)), -1);
	CHECK_INT(cmd_lease_parse(NULL, NULL, &a, err, sizeof(err)), -1);

	/* Monday 20:00 KST. */
	CHECK_INT(cmd_lease_parse(NULL, "2h", &a, err, sizeof(err)), 0);
	CHECK_INT(cmd_lease_compute(NULL, &a, tz, mon20, cap, false, &out, err, sizeof(err)), 0);
	CHECK_INT(out, mon20 + 2 * H);
	CHECK_INT(cmd_lease_parse(NULL, "until 22:00", &a, err, sizeof(err)), 0);
	CHECK_INT(cmd_lease_compute(NULL, &a, tz, mon20, cap, false, &out, err, sizeof(err)), 0);
	CHECK_INT(out, mon20 + 2 * H);
	/* In the past: refused, the reason says how to mean tomorrow. */
	CHECK_INT(cmd_lease_parse(NULL, "until 19:00", &a, err, sizeof(err)), 0);
	out = 0;
	CHECK_INT(cmd_lease_compute(NULL, &a, tz, mon20, cap, false, &out, err, sizeof(err)), -1);
	CHECK(strstr(err, "already passed") && strstr(err, "until tomorrow 19:00"));
	CHECK_INT(out, 0);
	CHECK_INT(cmd_lease_parse(NULL, "@1795395600", &a, err, sizeof(err)), 0);
	CHECK_INT(cmd_lease_compute(NULL, &a, tz, mon20, cap, false, &out, err, sizeof(err)), -1);
	/* Over max_extend: operators refused, admins allowed. */
	CHECK_INT(cmd_lease_parse(NULL, "until tomorrow 09:00", &a, err, sizeof(err)), 0);
	CHECK_INT(cmd_lease_compute(NULL, &a, tz, mon20, cap, false, &out, err, sizeof(err)), -1);
	CHECK(strstr(err, "max_extend") != NULL);
	CHECK_INT(cmd_lease_compute(NULL, &a, tz, mon20, cap, true, &out, err, sizeof(err)), 0);
	CHECK_INT(out, mon20 + 13 * H);
	CHECK_INT(cmd_lease_parse(NULL, "5h", &a, err, sizeof(err)), 0);
	CHECK_INT(cmd_lease_compute(NULL, &a, tz, mon20, cap, false, &out, err, sizeof(err)), -1);
	CHECK_INT(cmd_lease_parse(NULL, "4h", &a, err, sizeof(err)), 0);
	CHECK_INT(cmd_lease_compute(NULL, &a, tz, mon20, cap, false, &out, err, sizeof(err)), 0);

	/* Lengthening: a duration adds to the end; until names it (after
	 * midnight: tomorrow's); not earlier; capped from now. */
	time_t end = mon20 + 2 * H;
	CHECK_INT(cmd_lease_parse(NULL, "1h", &a, err, sizeof(err)), 0);
	CHECK_INT(cmd_lease_extend(NULL, &a, tz, mon20, end, cap, false, &out, err, sizeof(err)),
		  0);
	CHECK_INT(out, end + H);
	CHECK_INT(cmd_lease_parse(NULL, "3h", &a, err, sizeof(err)), 0);
	CHECK_INT(cmd_lease_extend(NULL, &a, tz, mon20, end, cap, false, &out, err, sizeof(err)),
		  -1);
	CHECK_INT(cmd_lease_extend(NULL, &a, tz, mon20, end, cap, true, &out, err, sizeof(err)), 0);
	CHECK_INT(cmd_lease_parse(NULL, "until 21:00", &a, err, sizeof(err)), 0);
	CHECK_INT(cmd_lease_extend(NULL, &a, tz, mon20, end, cap, false, &out, err, sizeof(err)),
		  -1);
	CHECK(strstr(err, "not after the lease's end") != NULL);
	CHECK_INT(cmd_lease_parse(NULL, "until 00:30", &a, err, sizeof(err)), 0);
	CHECK_INT(cmd_lease_extend(NULL, &a, tz, mon20 + 3 * H, end + H, cap, false, &out, err,
				   sizeof(err)),
		  0);
	CHECK_INT(out, mon20 + 4 * H + 30 * 60);

	/* manual_lease: a duration, "until-next-stop" (0), the default 0. */
	static const char *const texts[] = { "manual_lease = \"4h\";",
					     "manual_lease = \"until-next-stop\";", "",
					     "manual_lease = \"banana\";" };
	static const long long want[] = { 4 * H, 0, 0, -1 };
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		char text[512], cerr[2048] = "";
		struct cfg *cfg = NULL;
		snprintf(text, sizeof(text),
			 "discord: { application_id = \"1\"; channel_id = \"2\"; };\n"
			 "aws: { region = \"us-east-1\"; };\n%s\nenvironments = ( { name = "
			 "\"m\"; kind = \"ec2\"; tag = { key = \"k\"; value = \"v\"; }; } );\n",
			 texts[i]);
		enum bot_rc rc =
			cfg_load_string(text, "t.cfg", envbot_kinds, &cfg, cerr, sizeof(cerr));
		if (want[i] < 0) {
			CHECK(rc != BOT_OK && strstr(cerr, "manual_lease"));
		} else {
			CHECK_INT(rc, BOT_OK);
			if (cfg)
				CHECK_INT(cfg->manual_lease, want[i]);
		}
		cfg_destroy(cfg);
	}
}

static void test_days(void)
{
	ymd_t out, d;
	time_t at;
	char err[256];
	ymd_t today = 20261123; /* Monday */
	CHECK_INT(cmd_parse_day(NULL, "today", today, &out, err, sizeof(err)), 0);
	CHECK_INT(out, 20261123);
	CHECK_INT(cmd_parse_day(NULL, "tomorrow", today, &out, err, sizeof(err)), 0);
	CHECK_INT(out, 20261124);
	CHECK_INT(cmd_parse_day(NULL, "Friday", today, &out, err, sizeof(err)), 0);
	CHECK_INT(out, 20261127);
	CHECK_INT(cmd_parse_day(NULL, "mon", today, &out, err, sizeof(err)), 0);
	CHECK_INT(out, 20261130);
	CHECK_INT(cmd_parse_day(NULL, " 2026-12-24 ", today, &out, err, sizeof(err)), 0);
	CHECK_INT(out, 20261224);
	CHECK_INT(cmd_parse_day(NULL, "2026-11-22", today, &out, err, sizeof(err)), -1);
	CHECK(strstr(err, "in the past") != NULL);
	CHECK_INT(cmd_parse_day(NULL, "2026-02-30", today, &out, err, sizeof(err)), -1);
	CHECK(strstr(err, "not a day") != NULL);
	CHECK_INT(cmd_parse_day(NULL, "someday", today, &out, err, sizeof(err)), -1);
	CHECK_INT(cmd_parse_day(NULL, "2028-01-01", today, &out, err, sizeof(err)), -1);
	CHECK(strstr(err, "more than a year") != NULL);
	CHECK_INT(cmd_parse_day(NULL, "", today, &out, err, sizeof(err)), -1);

	CHECK_INT(cmd_parse_until(NULL, "2026-12-01", today, MON_10_KST, &d, &at, err, sizeof(err)),
		  0);
	CHECK(d == 20261201 && at == 0);
	CHECK_INT(
		cmd_parse_until(NULL, "until friday", today, MON_10_KST, &d, &at, err, sizeof(err)),
		0);
	CHECK(d == 20261127 && at == 0);
	CHECK_INT(cmd_parse_until(NULL, "3h", today, MON_10_KST, &d, &at, err, sizeof(err)), 0);
	CHECK(d == 0 && at == MON_10_KST + 3 * H);
	CHECK_INT(cmd_parse_until(NULL, "today", today, MON_10_KST, &d, &at, err, sizeof(err)), -1);
	CHECK_INT(cmd_parse_until(NULL, "0", today, MON_10_KST, &d, &at, err, sizeof(err)), -1);
	CHECK_INT(cmd_parse_until(NULL, "later", today, MON_10_KST, &d, &at, err, sizeof(err)), -1);
	CHECK(strstr(err, "not a day or a duration") != NULL);
}

static void test_custom_ids(void)
{
	struct cmd_confirm c = { .verb = "extend",
				 .env = "qa",
				 .arg = "until 22:00",
				 .user = "12345678901234567890",
				 .issued = 1795395600,
				 .nonce = 0xdeadbeef },
			   p;
	char id[CMD_CUSTOM_ID_MAX], env[64];
	CHECK_INT(cmd_confirm_format(&c, id, sizeof(id)), 0);
	CHECK(strlen(id) <= 100);
	CHECK_INT(cmd_confirm_parse(id, &p), 0);
	CHECK_STR(p.verb, "extend");
	CHECK_STR(p.env, "qa");
	CHECK_STR(p.arg, "until 22:00");
	CHECK_STR(p.user, "12345678901234567890");
	CHECK_INT(p.issued, 1795395600);
	CHECK_INT(p.nonce, 0xdeadbeef);
	CHECK(cmd_confirm_check(&p, "12345678901234567890", 1795395600 + 59) == NULL);
	CHECK(cmd_confirm_check(&p, "12345678901234567890", 1795395600 + 60) == NULL);
	CHECK(cmd_confirm_check(&p, "12345678901234567890", 1795395600 + 61) != NULL);
	CHECK(strstr(cmd_confirm_check(&p, "12345678901234567890", 1795395600 + 61), "expired") !=
	      NULL);
	CHECK(strstr(cmd_confirm_check(&p, "99", 1795395600 + 1), "only the person") != NULL);
	/* An empty argument round-trips. */
	struct cmd_confirm s = { .verb = "stop", .env = "prod", .user = "1", .issued = 5 };
	CHECK_INT(cmd_confirm_format(&s, id, sizeof(id)), 0);
	CHECK_INT(cmd_confirm_parse(id, &p), 0);
	CHECK_STR(p.arg, "");
	/* Malformed ids. */
	CHECK_INT(cmd_confirm_parse("cf|stop|prod||1|5", &p), -1);
	CHECK_INT(cmd_confirm_parse("cf|stop|prod||1|5|0|extra", &p), -1);
	CHECK_INT(cmd_confirm_parse("cf|stop|prod||1|x5|0", &p), -1);
	CHECK_INT(cmd_confirm_parse("xx|stop|prod||1|5|0", &p), -1);
	CHECK_INT(cmd_confirm_parse("cf||prod||1|5|0", &p), -1);
	CHECK_INT(cmd_confirm_parse("cf|stop|prod||1|5|zz", &p), -1);
	CHECK_INT(cmd_confirm_parse(NULL, &p), -1);
	/* Fields holding the separator, or too long an id. */
	struct cmd_confirm bad = { .verb = "stop", .env = "a|b", .user = "1" };
	CHECK_INT(cmd_confirm_format(&bad, id, sizeof(id)), -1);
	struct cmd_confirm lng = { .verb = "extend",
				   .user = "12345678901234567890",
				   .issued = 1795395600 };
	memset(lng.env, 'e', 40);
	memset(lng.arg, 'a', 30);
	CHECK_INT(cmd_confirm_format(&lng, id, sizeof(id)), -1);

	time_t at;
	int h;
	CHECK_INT(cmd_snooze_format("qa", 1795424400, 2, id, sizeof(id)), 0);
	CHECK_STR(id, "sw|qa|1795424400|2");
	CHECK_INT(cmd_snooze_parse(id, env, sizeof(env), &at, &h), 0);
	CHECK_STR(env, "qa");
	CHECK_INT(at, 1795424400);
	CHECK_INT(h, 2);
	CHECK_INT(cmd_snooze_parse("sw|qa|1795424400|0", env, sizeof(env), &at, &h), -1);
	CHECK_INT(cmd_snooze_parse("sw|qa|1795424400|13", env, sizeof(env), &at, &h), -1);
	CHECK_INT(cmd_snooze_parse("sw|qa|abc|1", env, sizeof(env), &at, &h), -1);
	CHECK_INT(cmd_snooze_parse("sw||1|1", env, sizeof(env), &at, &h), -1);
	CHECK_INT(cmd_snooze_parse("sw|qa|1|1|1", env, sizeof(env), &at, &h), -1);
}

static void test_notes(const struct cfg *cfg)
{
	struct state *st = state_create();
	char note[512], err[128];
	cmd_conflict_note(NULL, st, "qa", "skip", 20261124, cfg->holidays, cfg->n_holidays, note,
			  sizeof(note));
	CHECK_STR(note, "");
	/* A skip on a config holiday. */
	cmd_conflict_note(NULL, st, "qa", "skip", 20261225, cfg->holidays, cfg->n_holidays, note,
			  sizeof(note));
	CHECK(strstr(note, "2026-12-25 is a holiday") != NULL);
	CHECK(strstr(note, "rule: freeze > pause > skip/holiday > extend") != NULL);
	/* A pause holds the extend first. */
	CHECK_INT(state_pause_set(st, "qa", 20261201, 0, "carol", MON_10_KST, err, sizeof(err)),
		  BOT_OK);
	cmd_conflict_note(NULL, st, "qa", "extend", 20261123, NULL, 0, note, sizeof(note));
	CHECK(strstr(note, "paused until 2026-12-01 by carol") != NULL);
	/* ... but not an extend of a day after the pause. */
	cmd_conflict_note(NULL, st, "qa", "extend", 20261202, NULL, 0, note, sizeof(note));
	CHECK_STR(note, "");
	/* Freeze overrides everything, and who is escaped. */
	state_freeze(st, "b*b", MON_10_KST);
	cmd_conflict_note(NULL, st, "qa", "holiday", 20261224, NULL, 0, note, sizeof(note));
	CHECK(strstr(note, "frozen by b\\*b overrides everything until /unfreeze") != NULL);
	state_destroy(st);

	CHECK_INT(cmd_cents(10.0, 0.241), 241);
	CHECK_INT(cmd_cents(1.5, 0.1), 15);
}

/* Applies a snooze plan like the dispatcher does. */
static void apply(struct state *st, const struct cmd_snooze_plan *sp, const char *who, time_t now)
{
	char err[256];
	if (sp->change)
		CHECK_INT(state_extend_set(st, "qa", sp->date, sp->new_stop, who, now, err,
					   sizeof(err)),
			  BOT_OK);
}

static void test_snooze(const struct cfg *cfg, struct tz *tz)
{
	const struct cfg_env *qa = cfg_find_env(cfg, "qa"), *nostop = cfg_find_env(cfg, "nostop");
	time_t stop18 = MON_10_KST + 8 * H, now = stop18 - 15 * 60;
	int64_t cap = 4 * H;
	struct cmd_snooze_plan sp;
	char err[512];
	struct state *st = state_create();

	/* +1h on the 18:00 warning: until 19:00. */
	CHECK_INT(cmd_snooze_compute(NULL, qa, tz, st, stop18, 1, now, cap, false, &sp, err,
				     sizeof(err)),
		  0);
	CHECK(sp.change && sp.new_stop == stop18 + H);
	CHECK(sp.scheduled == stop18 && sp.effective == stop18 && sp.date == 20261123 && !sp.ext);
	apply(st, &sp, "carol", now);
	/* The same button again (a double click, or a second person): once. */
	CHECK_INT(cmd_snooze_compute(NULL, qa, tz, st, stop18, 1, now, cap, false, &sp, err,
				     sizeof(err)),
		  0);
	CHECK(!sp.change && sp.new_stop == stop18 + H && sp.effective == stop18 + H);
	CHECK(sp.ext && strcmp(sp.ext->who, "carol") == 0);
	CHECK_INT(state_extend_for(st, "qa", 20261123)->stop_at, stop18 + H);
	/* +2h after +1h: the warned stop + 2h, not 19:00 + 2h. */
	CHECK_INT(cmd_snooze_compute(NULL, qa, tz, st, stop18, 2, now, cap, false, &sp, err,
				     sizeof(err)),
		  0);
	CHECK(sp.change && sp.new_stop == stop18 + 2 * H && sp.effective == stop18 + H);
	apply(st, &sp, "dave", now);
	/* +1h after +2h: nothing to do. */
	CHECK_INT(cmd_snooze_compute(NULL, qa, tz, st, stop18, 1, now, cap, false, &sp, err,
				     sizeof(err)),
		  0);
	CHECK(!sp.change && sp.new_stop == stop18 + 2 * H && sp.target == stop18 + H);
	/* The warning of the extended stop (20:00) carries the new instant: its
	 * +2h goes further, still measured from the scheduled 18:00 for the
	 * cap. */
	time_t w20 = stop18 + 2 * H;
	CHECK_INT(cmd_snooze_compute(NULL, qa, tz, st, w20, 2, w20 - 900, cap, false, &sp, err,
				     sizeof(err)),
		  0);
	CHECK(sp.change && sp.new_stop == stop18 + 4 * H && sp.scheduled == stop18 &&
	      sp.date == 20261123);
	apply(st, &sp, "erin", w20 - 900);
	CHECK_INT(cmd_snooze_compute(NULL, qa, tz, st, w20, 2, w20 - 900, cap, false, &sp, err,
				     sizeof(err)),
		  0);
	CHECK(!sp.change); /* that one twice: once */
	/* The 22:00 warning's +1h: 5 h after 18:00, over max_extend for an
	 * operator, allowed for an admin. */
	time_t w22 = stop18 + 4 * H;
	CHECK_INT(cmd_snooze_compute(NULL, qa, tz, st, w22, 1, w22 - 900, cap, false, &sp, err,
				     sizeof(err)),
		  -1);
	CHECK(strstr(err, "max_extend") != NULL);
	CHECK_INT(cmd_snooze_compute(NULL, qa, tz, st, w22, 1, w22 - 900, cap, true, &sp, err,
				     sizeof(err)),
		  0);
	CHECK(sp.change && sp.new_stop == stop18 + 5 * H);
	/* After the (extended) stop has happened, the buttons do nothing. */
	CHECK_INT(cmd_snooze_compute(NULL, qa, tz, st, stop18, 2, w22 + 60, cap, false, &sp, err,
				     sizeof(err)),
		  -1);
	CHECK(strstr(err, "already happened") != NULL);
	/* The 18:00 warning's +1h while the 22:00 extend stands: no change
	 * (a snooze never shortens). */
	CHECK_INT(cmd_snooze_compute(NULL, qa, tz, st, stop18, 1, stop18 + 60, cap, false, &sp, err,
				     sizeof(err)),
		  0);
	CHECK(!sp.change && sp.effective == w22);
	/* A warned instant that no schedule has any more (Sunday: two days
	 * after the last stop), and an env without a stop. */
	CHECK_INT(cmd_snooze_compute(NULL, qa, tz, st, stop18 + 6 * 86400, 1,
				     stop18 + 6 * 86400 - 900, cap, false, &sp, err, sizeof(err)),
		  -1);
	CHECK(strstr(err, "no longer has this scheduled stop") != NULL);
	CHECK_INT(cmd_snooze_compute(NULL, nostop, tz, st, stop18, 1, now, cap, false, &sp, err,
				     sizeof(err)),
		  -1);
	state_destroy(st);
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* Discord's rules for one body: the first has content only, the others
 * embeds only. Its text (content, or the descriptions joined by newlines)
 * is appended to *all after a newline. */
static void check_body(const cJSON *m, bool first, int flags, char **all, size_t *all_len)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(m, "flags");
	CHECK(flags ? cJSON_IsNumber(f) && f->valueint == flags : f == NULL);
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
	const cJSON *embeds = cJSON_GetObjectItemCaseSensitive(m, "embeds"), *e;
	const char *parts[10];
	size_t np = 0, total = 0;
	if (first) {
		CHECK(cJSON_IsString(content) && embeds == NULL);
		if (!cJSON_IsString(content))
			return;
		CHECK(utf8_chars(content->valuestring) <= 2000);
		parts[np++] = content->valuestring;
	} else {
		CHECK(content == NULL);
		CHECK(cJSON_IsArray(embeds) && cJSON_GetArraySize(embeds) >= 1 &&
		      cJSON_GetArraySize(embeds) <= 10);
		cJSON_ArrayForEach(e, embeds)
		{
			const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "description");
			CHECK(cJSON_IsString(d) && d->valuestring[0]);
			if (!cJSON_IsString(d) || np == 10)
				continue;
			CHECK(utf8_chars(d->valuestring) <= 4096);
			total += utf8_chars(d->valuestring);
			parts[np++] = d->valuestring;
		}
		CHECK(total <= 6000);
	}
	for (size_t k = 0; k < np; k++) {
		size_t bl = strlen(parts[k]);
		*all = realloc(*all, *all_len + bl + 2);
		if (*all_len)
			(*all)[(*all_len)++] = '\n';
		memcpy(*all + *all_len, parts[k], bl + 1);
		*all_len += bl;
	}
}

/* The bodies of a reply, checked; their text joined into a new string. */
static char *check_bodies(const cJSON *m, int flags)
{
	char *all = NULL;
	size_t all_len = 0, i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, m) check_body(it, i++ == 0, flags, &all, &all_len);
	return all;
}

static void test_reply_messages(void)
{
	/* Short: one plain message, as before. */
	cJSON *m = cmd_reply_messages(NULL, "hello\n\n", 64, CMD_REPLY_MESSAGES);
	CHECK(m && cJSON_GetArraySize(m) == 1);
	const cJSON *b = cJSON_GetArrayItem(m, 0);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "content")), "hello");
	CHECK_INT(cJSON_GetObjectItemCaseSensitive(b, "flags")->valueint, 64);
	cJSON_Delete(m);
	/* 2000 characters (multi-byte) still fit as content. */
	struct cmd_text t = { 0 };
	for (int i = 0; i < 1000; i++)
		cmd_text_add(&t, "\xC3\xA9\xC3\xA9");
	m = cmd_reply_messages(NULL, cmd_text_str(&t), 0, CMD_REPLY_MESSAGES);
	CHECK(m && cJSON_GetArraySize(m) == 1 &&
	      cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(m, 0), "content"));
	cJSON_Delete(m);
	cmd_text_free(&t);

	/* /env list of 60 environments: every line, whole, in order. */
	for (int i = 0; i < 60; i++)
		cmd_text_add(&t,
			     "**env-%02d** (ec2): up since Mon 2026-11-23 09:00 KST; next: stop "
			     "Mon 2026-11-23 18:00 KST (extended to 20:00 KST by somebody)\n",
			     i);
	CHECK(t.b.len > 6000 && !t.b.full && !t.b.oom);
	m = cmd_reply_messages(NULL, cmd_text_str(&t), 64, CMD_REPLY_MESSAGES);
	CHECK(m && cJSON_GetArraySize(m) >= 2 && cJSON_GetArraySize(m) <= CMD_REPLY_MESSAGES);
	char *all = check_bodies(m, 64);
	/* Cut only at line ends: the pages joined by newlines are the text. */
	CHECK(all && strlen(all) == t.b.len - 1 && strncmp(all, t.b.p, t.b.len - 1) == 0);
	free(all);
	cJSON_Delete(m);
	cmd_text_free(&t);

	/* Absurdly long: ten messages, and the last says what is missing. */
	for (int i = 0; i < 3000; i++)
		cmd_text_add(&t,
			     "- line %04d of a very long reply, padded to about a hundred "
			     "characters..........\n",
			     i);
	m = cmd_reply_messages(NULL, cmd_text_str(&t), 0, CMD_REPLY_MESSAGES);
	CHECK(m && cJSON_GetArraySize(m) == CMD_REPLY_MESSAGES);
	all = check_bodies(m, 0);
	const char *note = all ? strstr(all, "\xE2\x80\xA6 and ") : NULL;
	CHECK(note != NULL);
	if (note) {
		unsigned long more = strtoul(note + 8, NULL, 10);
		size_t shown = 0;
		for (const char *p = all; p < note; p++)
			shown += *p == '\n';
		CHECK_INT(shown + more, 3000);
		CHECK(strstr(note, "more lines not shown") != NULL);
	}
	free(all);
	cJSON_Delete(m);
	cmd_text_free(&t);

	/* One line longer than a page: cut between characters, never inside. */
	for (int i = 0; i < 7000; i++)
		cmd_text_add(&t, "\xC3\xA9");
	m = cmd_reply_messages(NULL, cmd_text_str(&t), 0, CMD_REPLY_MESSAGES);
	CHECK(m && cJSON_GetArraySize(m) == 2); /* 1900 + 2900 + 2200 */
	all = check_bodies(m, 0);
	size_t chars = 0;
	for (const char *p = all ? all : ""; *p; p += 2) {
		if (*p == '\n')
			p--; /* the joins between pages */
		else
			chars += strncmp(p, "\xC3\xA9", 2) == 0;
	}
	CHECK_INT(chars, 7000);
	free(all);
	cJSON_Delete(m);
	cmd_text_free(&t);

	/* Empty: one empty message, not none. */
	m = cmd_reply_messages(NULL, "", 0, CMD_REPLY_MESSAGES);
	CHECK(m && cJSON_GetArraySize(m) == 1);
	cJSON_Delete(m);
	cmd_text_free(&t);
}

/* /env list and /env status say what sched_next answers, overrides and
 * holidays applied; /schedule show lists what sched_upcoming does. */
static void test_next_words(struct cfg *cfg, struct tz *tz)
{
	const struct cfg_env *qa = cfg_find_env(cfg, "qa");
	time_t stop18 = MON_10_KST + 8 * H;
	char buf[512], err[256];
	struct state *st = state_create();
	struct sched_deps d = { .cfg = cfg, .st = st };
	struct sched *s = sched_create(&d);
	CHECK(s != NULL);
	if (!s) {
		state_destroy(st);
		return;
	}
	cmd_next_words(NULL, s, NULL, qa, tz, MON_10_KST, buf, sizeof(buf));
	CHECK_STR(buf, "stop Mon 2026-11-23 18:00 KST");
	/* Extend: the stop at its new instant. */
	CHECK_INT(state_extend_set(st, "qa", 20261123, stop18 + 2 * H, "bob", MON_10_KST, err,
				   sizeof(err)),
		  BOT_OK);
	cmd_next_words(NULL, s, NULL, qa, tz, MON_10_KST, buf, sizeof(buf));
	CHECK_STR(buf, "stop Mon 2026-11-23 20:00 KST (extended to 20:00 KST by bob)");
	/* At 19:00 the extended stop is still next. */
	cmd_next_words(NULL, s, NULL, qa, tz, stop18 + H, buf, sizeof(buf));
	CHECK(strncmp(buf, "stop Mon 2026-11-23 20:00 KST", 29) == 0);
	/* Skip: Tuesday's start does not run; Tuesday's stop is next. */
	CHECK_INT(state_skip_add(st, "qa", 20261124, "carol", MON_10_KST, err, sizeof(err)),
		  BOT_OK);
	cmd_next_words(NULL, s, NULL, qa, tz, stop18 + 3 * H, buf, sizeof(buf));
	CHECK_STR(buf, "stop Tue 2026-11-24 18:00 KST");
	cmd_next_words(NULL, s, NULL, qa, tz, stop18 + 86400 + H, buf, sizeof(buf));
	CHECK_STR(buf, "start Wed 2026-11-25 09:00 KST");
	/* Holidays, config (Fri 12-25) and chat (Thu 12-24): skipped starts. */
	CHECK_INT(state_holiday_add(st, 20261224, "Eve", "admin", MON_10_KST, err, sizeof(err)),
		  BOT_OK);
	cmd_next_words(NULL, s, NULL, qa, tz, stop18 + 30 * 86400 + H, buf,
		       sizeof(buf)); /* Wed 12-23 */
	CHECK_STR(buf, "stop Thu 2026-12-24 18:00 KST");
	cmd_next_words(NULL, s, NULL, qa, tz, stop18 + 31 * 86400 + H, buf, sizeof(buf));
	CHECK_STR(buf, "stop Fri 2026-12-25 18:00 KST");
	cmd_next_words(NULL, s, NULL, qa, tz, stop18 + 32 * 86400 + H, buf,
		       sizeof(buf)); /* Fri night */
	CHECK_STR(buf, "start Mon 2026-12-28 09:00 KST");
	/* Pause until a date: nothing before that day. */
	CHECK_INT(state_pause_set(st, "qa", 20261201, 0, "dave", MON_10_KST, err, sizeof(err)),
		  BOT_OK);
	cmd_next_words(NULL, s, NULL, qa, tz, stop18 + 3 * H, buf, sizeof(buf));
	CHECK_STR(buf, "start Tue 2026-12-01 09:00 KST");
	state_pause_clear(st, "qa");
	/* Freeze: nothing will run; the next action is named with why. */
	state_freeze(st, "erin", MON_10_KST);
	cmd_next_words(NULL, s, NULL, qa, tz, stop18 + 3 * H, buf, sizeof(buf));
	const char frozen[] = "nothing will run (next: start Tue 2026-11-24 09:00 KST, held: "
			      "frozen by erin since ";
	CHECK(strncmp(buf, frozen, sizeof(frozen) - 1) == 0);
	if (strncmp(buf, frozen, sizeof(frozen) - 1) != 0)
		fprintf(stderr, "got: %s\n", buf);
	state_unfreeze(st);
	/* No schedule at all. */
	cmd_next_words(NULL, s, NULL, cfg_find_env(cfg, "manual"), tz, MON_10_KST, buf,
		       sizeof(buf));
	CHECK_STR(buf, "none scheduled");
	cmd_next_words(NULL, NULL, NULL, qa, tz, MON_10_KST, buf, sizeof(buf));
	CHECK_STR(buf, "none scheduled");
	sched_destroy(s);
	state_destroy(st);
}

int main(void)
{
	struct cfg *cfg = NULL;
	char err[4096] = "";
	if (cfg_load_string(cfg_text, "test.cfg", envbot_kinds, &cfg, err, sizeof(err)) != BOT_OK) {
		fprintf(stderr, "%s", err);
		return 1;
	}
	struct tz *tz = tz_open("Asia/Seoul");
	if (!tz) {
		fprintf(stderr, "no Asia/Seoul zone\n");
		cfg_destroy(cfg);
		return 1;
	}
	test_roles_and_place(cfg);
	test_escape();
	test_extend_parse();
	test_stop_today(cfg, tz);
	test_extend_compute(tz);
	test_leases(tz);
	test_days();
	test_custom_ids();
	test_notes(cfg);
	test_snooze(cfg, tz);
	test_reply_messages();
	test_next_words(cfg, tz);
	tz_destroy(tz);
	cfg_destroy(cfg);
	return check_done();
}
