/* The coalescing saver of the state file (saver.h). One 0 ms timer at most
 * is pending: whatever asks to save soon before it fires rides on it, and a
 * save now cancels it since it writes the same state. */
#include "saver.h"

#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "ddb_store.h"

#define MOD "state"

struct saver {
	struct loop *loop;
	struct state *state;
	char *path; /* owned; the table's name with a store */
	struct loop_timer *timer;
	struct ddb_store *store; /* borrowed; NULL: the file at path */
	saver_lost_fn lost;
	void *lost_arg;
};

struct saver *saver_create(struct loop *loop, struct state *state, const char *path)
{
	struct saver *sv = calloc(1, sizeof(*sv));
	if (!sv)
		return NULL;
	sv->loop = loop;
	sv->state = state;
	sv->path = strdup(path);
	if (!sv->path) {
		free(sv);
		return NULL;
	}
	return sv;
}

struct saver *saver_create_ddb(struct loop *loop, struct state *state, struct ddb_store *store,
			       saver_lost_fn lost, void *arg)
{
	struct saver *sv = saver_create(loop, state, ddb_store_table(store));
	if (sv) {
		sv->store = store;
		sv->lost = lost;
		sv->lost_arg = arg;
	}
	return sv;
}

void saver_destroy(struct saver *sv)
{
	if (!sv)
		return;
	loop_timer_cancel(sv->loop, sv->timer);
	free(sv->path);
	free(sv);
}

enum bot_rc saver_save_now(struct saver *sv)
{
	char err[256];
	if (sv->timer) {
		loop_timer_cancel(sv->loop, sv->timer);
		sv->timer = NULL;
	}
	if (sv->store) {
		enum bot_rc rc = ddb_state_write(sv->store, sv->state, err, sizeof(err));
		if (rc == BOT_OK)
			return BOT_OK;
		log_error(MOD, "msg=\"state not saved\" table=%s reason=\"%s\"", sv->path, err);
		if (rc == BOT_EBUSY && sv->lost)
			sv->lost(sv->lost_arg, err);
		return BOT_EIO;
	}
	if (state_save(sv->state, sv->path, err, sizeof(err)) != BOT_OK) {
		log_error(MOD, "msg=\"state not saved\" path=%s reason=\"%s\"", sv->path, err);
		return BOT_EIO;
	}
	return BOT_OK;
}

static void save_due(void *arg)
{
	struct saver *sv = arg;
	sv->timer = NULL;
	saver_save_now(sv);
}

void saver_save_soon(struct saver *sv)
{
	if (!sv || sv->timer)
		return;
	sv->timer = loop_timer_add(sv->loop, 0, save_due, sv);
	if (!sv->timer)
		saver_save_now(sv);
}

void saver_flush(struct saver *sv)
{
	if (sv && sv->timer)
		saver_save_now(sv);
}

enum bot_rc saver_set_path(struct saver *sv, const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return BOT_ENOMEM;
	free(sv->path);
	sv->path = copy;
	return BOT_OK;
}

const char *saver_path(const struct saver *sv)
{
	return sv->path;
}
