/* The next action of an environment in words, as the scheduler answers it
 * (sched_next), for /env list and /env status: the same call that decides
 * what the scheduler fires, so a reply can never disagree with what will
 * happen. Apart from cmdutil.c so that the pure parts link without the
 * scheduler (the fuzz harness of interactions links cmdutil.c alone). */
#include <stdio.h>

#include "../bot/sched/sched.h"
#include "commands.h"

void cmd_next_words(const struct sched *s, const struct cfg_env *env, const struct tz *tz,
		    time_t now, char *buf, size_t len)
{
	struct sched_action a;
	char when[64];
	bool runs = s && sched_next(s, env->name, now, &a);
	if (!s || (!runs && a.scheduled_at == 0)) {
		snprintf(buf, len, "none scheduled");
		return;
	}
	const char *verb = a.action == ACTION_START ? "start" : "stop";
	if (runs) {
		cmd_fmt_local(tz, a.at, when, sizeof(when));
		if (a.decision.rule != STATE_RULE_NONE)
			snprintf(buf, len, "%s %s (%s)", verb, when, a.decision.reason);
		else
			snprintf(buf, len, "%s %s", verb, when);
		return;
	}
	cmd_fmt_local(tz, a.scheduled_at, when, sizeof(when));
	snprintf(buf, len, "nothing will run (next: %s %s, %s)", verb, when, a.decision.reason);
}
