/* How a workflow looks to people: the progress embed (CONTRACT.md,
 * "Progress embeds") and the line printed on stdout by `envbot start/stop`.
 * Pure rendering; the workflow manager (wfm.c) sends it. */
#ifndef ENVBOT_EMBED_H
#define ENVBOT_EMBED_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "wf.h"

#define EMBED_BLUE  3447003  /* running */
#define EMBED_GREEN 3066993  /* succeeded */
#define EMBED_RED   15158332 /* failed */

/* A new message body {"embeds": [...]} for wf; caller owns it (NULL on
 * ENOMEM). note (may be NULL) is shown above the steps, e.g. "resumed after
 * a restart" or "catch-up: missed the 09:00 start". */
cJSON *embed_workflow(const struct wf *wf, const char *note);

/* The mark of a step as text ("✅", "🔄", ...). */
const char *embed_mark(enum wf_mark mark);

/* Formats milliseconds as "4m12s", "850ms", "1h02m" into buf. */
void embed_duration(uint64_t ms, char *buf, size_t len);

#endif
