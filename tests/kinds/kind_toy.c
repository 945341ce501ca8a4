/* kind = "toy": a test-only environment kind in one file, proof that adding a
 * kind needs this file and one entry in bot/kinds/kinds.c (built with
 * -DENVBOT_EXTRA_KIND=kind_toy into envbot_kinds_toy and envbot_toy). It has
 * one setting of its own (word), knocks with sts:GetCallerIdentity to start
 * and stop (so a fake AWS can answer and fail it), reports the account as its
 * live status, adds a "Toy word" embed field and one doctor check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../aws/sts.h"
#include "../../bot/wf/kind.h"
#include "../../bot/wf/wf_internal.h"

/* env->spec */
struct toy_spec {
	char *word;
};

static const struct toy_spec *spec_of(const struct cfg_env *env)
{
	return env->spec;
}

/* ---- settings ---- */

static const char *const settings[] = { "word", NULL };

static void free_spec(void *p)
{
	struct toy_spec *s = p;
	if (s)
		free(s->word);
	free(s);
}

/* Returns the new spec, NULL on ENOMEM (reported). */
static void *parse(struct cfg_reader *r, struct cfg_env *env)
{
	(void)env;
	struct toy_spec *s = calloc(1, sizeof(*s));
	if (!s) {
		cfg_read_oom(r);
		return NULL;
	}
	if (cfg_read_string(r, "word", CFG_REQUIRED, &s->word) && strchr(s->word, ' '))
		cfg_read_error(r, "word", "\"%s\" must be one word", s->word);
	return s;
}

static void print_target(const struct cfg_env *env, FILE *out)
{
	fprintf(out, "toy saying %s", kind_str(spec_of(env)->word));
}

/* ---- the workflows: knock, wait once, done ---- */

enum { S_KNOCK, S_SETTLE };
static const char *const start_steps[] = { "Knock", "Wake up", NULL };
static const char *const stop_steps[] = { "Knock", "Fall asleep", NULL };

static void on_knocked(void *arg, const struct aws_err *err, const struct sts_identity *id)
{
	struct wf *wf = arg;
	if (err->rc != BOT_OK || !id) {
		char msg[700];
		snprintf(msg, sizeof(msg), "knock failed: %s%s%s", err->code,
			 err->code[0] ? ": " : "", err->message);
		wf_error(wf, err->rc, msg);
		return;
	}
	wf_detail_step(wf, "%s answered in account %s", spec_of(wf->env)->word, id->account);
	wf_next(wf, "*");
}

static void t_knock(struct wf *wf)
{
	enum bot_rc rc = sts_get_caller_identity(wf->aws, on_knocked, wf);
	if (rc != BOT_OK)
		wf_error(wf, rc, "the knock could not be sent");
}

static void t_settle(struct wf *wf)
{
	wf_add_detail(wf, "word: %s", spec_of(wf->env)->word);
	wf_detail_step(wf, "settled");
	wf_set_summary(wf, "toy %s %s", spec_of(wf->env)->word,
		       wf->action == ACTION_START ? "awake" : "asleep");
	wf_next(wf, "*");
}

static const struct wf_state states[] = {
	{ .name = "Knock",
	  .type = WF_TASK,
	  .step = S_KNOCK,
	  .run = t_knock,
	  .next = { { "*", "Wait" } } },
	{ .name = "Wait", .type = WF_WAIT, .step = S_SETTLE, .next = { { "*", "Settle" } } },
	{ .name = "Settle",
	  .type = WF_TASK,
	  .step = S_SETTLE,
	  .run = t_settle,
	  .next = { { "*", "Done" } } },
	{ .name = "Done", .type = WF_SUCCEED, .step = -1, .text = "done" },
	{ .name = "Fail", .type = WF_FAIL, .step = -1, .text = "failed" },
	{ 0 },
};

static const struct wf_table start_table = { .name = "toy/start",
					     .steps = start_steps,
					     .states = states };
static const struct wf_table stop_table = { .name = "toy/stop",
					    .steps = stop_steps,
					    .states = states };

/* ---- live status ---- */

struct live {
	struct kind_live out;
	kind_escape_fn escape;
	kind_live_done done;
	void *arg;
	char name[64], word[128];
};

static void on_live(void *arg, const struct aws_err *err, const struct sts_identity *id)
{
	struct live *l = arg;
	char word[300];
	kind_escape(l->escape, l->word, word, sizeof(word));
	if (err->rc != BOT_OK || !id) {
		buf_addf(&l->out.report, "%-6s toy %s: unknown\n", l->name, l->word);
		kind_live_report_error(&l->out, "GetCallerIdentity", err);
		kind_live_line_error(&l->out, err, l->escape);
	} else {
		buf_addf(&l->out.report, "%-6s toy %s: answers in account %s\n", l->name, l->word,
			 id->account);
		snprintf(l->out.line, sizeof(l->out.line), "toy %s answers in account %s", word,
			 id->account);
	}
	l->done(l->arg, &l->out);
	buf_free(&l->out.report);
	free(l);
}

static enum bot_rc live(struct aws *aws, const struct cfg_env *env, kind_escape_fn escape,
			kind_live_done done, void *arg)
{
	struct live *l = calloc(1, sizeof(*l));
	if (!l)
		return BOT_ENOMEM;
	l->escape = escape;
	l->done = done;
	l->arg = arg;
	snprintf(l->name, sizeof(l->name), "%s", env->name);
	snprintf(l->word, sizeof(l->word), "%s", spec_of(env)->word);
	enum bot_rc rc = sts_get_caller_identity(aws, on_live, l);
	if (rc != BOT_OK)
		free(l);
	return rc;
}

/* ---- embed and doctor ---- */

static void embed_fields(const struct wf *wf, kind_field_fn add, void *arg)
{
	add(arg, "Toy word", spec_of(wf_env(wf))->word, true);
}

static const char *target_word(const struct cfg_env *env, char *buf, size_t len)
{
	(void)buf;
	(void)len;
	return spec_of(env)->word;
}

static void on_probe(void *arg, const struct aws_err *err, const struct sts_identity *id)
{
	struct kind_probe *p = arg;
	struct kind_answer a = { .verdict = KIND_PASS, .detail = "allowed (the toy answered)" };
	if (err->rc != BOT_OK || !id)
		a = (struct kind_answer){ .verdict = KIND_AWS_ERROR, .err = err };
	p->answer(p, &a);
}

static enum bot_rc probe(struct kind_probe *p)
{
	return sts_get_caller_identity(p->aws, on_probe, p);
}

static const struct kind_check check_knock = {
	.name = "toy:Knock",
	.label = "word ",
	.target = target_word,
	.fix_denied = "allow sts:GetCallerIdentity (the toy %s knocks with it; %s)",
	.probe = probe,
};
static const struct kind_check *const checks[] = { &check_knock, NULL };

const struct kind kind_toy = {
	.cfg = {
		.name = "toy",
		.settings = settings,
		.parse = parse,
		.free_spec = free_spec,
		.print_target = print_target,
	},
	.start = &start_table,
	.stop = &stop_table,
	.live = live,
	.embed_fields = embed_fields,
	.details_title = "Toy",
	.checks = checks,
};
