/* The name-or-tag selection of select.h. */
#include "select.h"

#include <stdlib.h>
#include <string.h>

#include "../wf/wf_internal.h"

void kind_select_parse(struct cfg_reader *r, const struct cfg_env *env, const char *setting,
		       struct kind_select *out)
{
	static const char *const tag_known[] = { "key", "value", NULL };
	char *member_name = NULL;
	bool by_name = cfg_read_string(r, setting, CFG_OPTIONAL, &out->name);
	/* A member's `name` is its resource's (no environment name to clash
	 * with: the member is named after its group). */
	if (env->parent && cfg_read_string(r, "name", CFG_OPTIONAL, &member_name)) {
		if (by_name)
			cfg_read_error(r, "name", "give the name once: %s or name", setting);
		else
			out->name = member_name, member_name = NULL, by_name = true;
	}
	free(member_name);
	struct cfg_reader *tag = cfg_read_group(r, "tag", false);
	if (tag) {
		cfg_read_known(tag, tag_known);
		cfg_read_string(tag, "key", CFG_REQUIRED, &out->tag_key);
		cfg_read_string(tag, "value", CFG_REQUIRED, &out->tag_value);
		if (by_name)
			cfg_read_error(r, "tag",
				       "%s and tag both given: one selects what to act on",
				       setting);
	} else if (!by_name) {
		cfg_read_error(r, NULL,
			       "needs %s = \"...\"%s or tag = { key = \"...\"; value = "
			       "\"...\"; }",
			       setting, env->parent ? " (or name)" : "");
	}
}

void kind_select_free(struct kind_select *s)
{
	free(s->name);
	free(s->tag_key);
	free(s->tag_value);
}

const char *kind_select_target(const struct kind_select *s, char *buf, size_t len)
{
	if (s->name)
		snprintf(buf, len, "%s", s->name);
	else
		snprintf(buf, len, "%s=%s", s->tag_key ? s->tag_key : "",
			 s->tag_value ? s->tag_value : "");
	return buf;
}

struct kind_live_list *kind_live_list_new(const struct cfg_env *env, const char *target,
					  const char *call, kind_escape_fn escape,
					  kind_live_done done, void *arg)
{
	struct kind_live_list *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->escape = escape;
	l->done = done;
	l->arg = arg;
	l->call = call;
	snprintf(l->head, sizeof(l->head), "%-6s %s %s: ", env->name, cfg_kind_name(env->kind),
		 target);
	return l;
}

void kind_live_list_end(struct kind_live_list *l, const struct aws_err *err,
			const char *const *lines, size_t n)
{
	struct buf *b = &l->out.report;
	buf_adds(b, l->head);
	if (err->rc != BOT_OK) {
		buf_addf(b, "unknown\n");
		kind_live_report_error(&l->out, l->call, err);
		kind_live_line_error(&l->out, err, l->escape);
	} else if (n == 0) {
		buf_addf(b, "not found\n");
		kind_escape(l->escape, "not found", l->out.line, sizeof(l->out.line));
	} else {
		char line[700] = "";
		size_t o = 0;
		for (size_t i = 0; i < n; i++) {
			buf_addf(b, "%s%s", i ? "\n       " : "", lines[i]);
			if (o < sizeof(line))
				o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s",
						      i ? "; " : "", lines[i]);
		}
		buf_addf(b, "\n");
		kind_escape(l->escape, line, l->out.line, sizeof(l->out.line));
	}
	l->done(l->arg, &l->out);
	buf_free(&l->out.report);
	free(l);
}

void kind_note_exempt(char *buf, size_t len, size_t *n, const char *name, const char *why)
{
	size_t used = strlen(buf);
	if (used + 3 < len)
		snprintf(buf + used, len - used, "%s%s (%s)", used ? "; " : "", name, why);
	(*n)++;
}

void kind_report_exempt(struct wf *wf, const char *buf, size_t n)
{
	if (!n)
		return;
	wf_add_detail(wf, "exempt, left alone: %s", buf);
	wf_add_skipped(wf, "%s", buf);
}
