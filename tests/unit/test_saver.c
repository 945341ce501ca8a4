/* Tests of the coalescing saver (bot/state/saver.c): a save soon waits for
 * the loop and is shared by every ask before it, a save now covers (and
 * cancels) a pending one, a flush does a pending save at once, a failed save
 * says BOT_EIO, and a new path takes over the next save. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../bot/core/log.h"
#include "../../bot/core/loop.h"
#include "../../bot/state/saver.h"
#include "check.h"

static void stop(void *arg)
{
	loop_stop(arg);
}

/* One pass of the loop: its 0 ms timers, then the stop. */
static void spin(struct loop *loop)
{
	loop_timer_add(loop, 5, stop, loop);
	loop_run(loop);
}

static int exists(const char *path)
{
	return access(path, F_OK) == 0;
}

int main(void)
{
	char dir[] = "/tmp/envbot-saver-XXXXXX", a[256], b[256], bad[256];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(a, sizeof(a), "%s/a.json", dir);
	snprintf(b, sizeof(b), "%s/b.json", dir);
	snprintf(bad, sizeof(bad), "%s/no/such/dir/state.json", dir);
	struct loop *loop = loop_create();
	struct state *st = state_create();
	struct saver *sv = saver_create(loop, st, a);
	CHECK(loop && st && sv);
	CHECK_STR(saver_path(sv), a);

	/* Soon: nothing before the loop runs, one save for many asks. */
	saver_save_soon(sv);
	saver_save_soon(sv);
	saver_save_soon(sv);
	CHECK(!exists(a));
	spin(loop);
	CHECK(exists(a));
	unlink(a);
	spin(loop);
	CHECK(!exists(a)); /* the three asks were one save */

	/* Now: saves at once and cancels what was pending. */
	saver_save_soon(sv);
	CHECK_INT(saver_save_now(sv), BOT_OK);
	CHECK(exists(a));
	unlink(a);
	spin(loop);
	CHECK(!exists(a));

	/* Flush: only what is pending, at once. */
	saver_flush(sv);
	CHECK(!exists(a));
	saver_save_soon(sv);
	saver_flush(sv);
	CHECK(exists(a));
	unlink(a);
	spin(loop);
	CHECK(!exists(a));

	/* A new path takes the next saves; a failed save is BOT_EIO. */
	CHECK_INT(saver_set_path(sv, b), BOT_OK);
	CHECK_STR(saver_path(sv), b);
	saver_save_soon(sv);
	spin(loop);
	CHECK(exists(b) && !exists(a));
	CHECK_INT(saver_set_path(sv, bad), BOT_OK);
	CHECK_INT(saver_save_now(sv), BOT_EIO);
	CHECK(!exists(bad));

	/* NULL saver (nothing persisted): asks are no-ops. */
	saver_save_soon(NULL);
	saver_flush(NULL);

	/* A pending save is dropped by destroy (the daemon saves first). */
	CHECK_INT(saver_set_path(sv, a), BOT_OK);
	saver_save_soon(sv);
	saver_destroy(sv);
	spin(loop);
	CHECK(!exists(a));

	state_destroy(st);
	loop_destroy(loop);
	unlink(b);
	rmdir(dir);
	return check_done();
}
