/* Crash safety of state_save: a child saves numbered versions of a state in a
 * loop and is killed with SIGKILL at a random moment, 50 times. After each
 * kill the file must load without recovery and equal, byte for byte, one of
 * the versions the child built, never older than the last one seen; its .bak
 * must load too. This is the "kill -9 at any instant" of CONTRACT.md at the
 * level of the file. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../bot/state/state.h"
#include "check.h"

#define ROUNDS 50
#define T0     ((time_t)1795392000)

/* Version k of the state, deterministic, its size varying with k so that a
 * torn write would show. */
static struct state *make_version(long k)
{
	struct state *st = state_create();
	char buf[64];
	if (!st)
		return NULL;
	state_set_audit_max(st, 500);
	for (long i = 0; i < k % 300; i++) {
		snprintf(buf, sizeof(buf), "/env extend dev %ldm (version %ld)", i, k);
		state_audit(st, T0 + i, "600000000000000006", "alice", buf, "dev", "ok");
	}
	state_extend_set(st, "dev", 20261123, T0 + k, "alice", T0, NULL, 0);
	state_skip_add(st, "dev", 20261124 + (ymd_t)(k % 5), "bob", T0 + k, NULL, 0);
	if (k % 2)
		state_freeze(st, "carol", T0 + k);
	snprintf(buf, sizeof(buf), "version %ld", k);
	state_holiday_add(st, 20261225, buf, "dave", T0 + k, NULL, 0);
	struct state_wf w;
	memset(&w, 0, sizeof(w));
	snprintf(w.env, sizeof(w.env), "dev");
	snprintf(w.id, sizeof(w.id), "v%ld", k);
	snprintf(w.step, sizeof(w.step), "poll");
	w.started = T0 + k;
	state_wf_put(st, &w, NULL, 0);
	state_up(st, "dev", T0 + k);
	return st;
}

static long version_of(const struct state *st)
{
	const struct state_wf *w = state_wf_find(st, "dev");
	return w ? strtol(w->id + 1, NULL, 10) : -1;
}

/* Saves versions base, base+1, ... until killed; one byte on ready after the
 * first save, so that every round is sure to have something to check. */
static void child(const char *path, long base, int ready)
{
	char err[256];
	for (long k = base;; k++) {
		struct state *st = make_version(k);
		if (!st || state_save(st, path, err, sizeof(err)) != BOT_OK) {
			fprintf(stderr, "child: save failed: %s\n", err);
			_exit(2);
		}
		state_destroy(st);
		if (k == base && write(ready, "r", 1) != 1)
			_exit(3);
	}
}

/* Checks that the file at path is exactly version k of make_version for some
 * k; returns k, or -1 after recording a failure. */
static long check_file(const char *path, bool expect_exists)
{
	struct state *ld = NULL;
	struct state_load_info info;
	char err[256] = "";
	enum bot_rc rc = state_load(path, &ld, &info, err, sizeof(err));
	CHECK_INT(rc, BOT_OK);
	if (rc != BOT_OK) {
		fprintf(stderr, "%s: %s\n", path, err);
		return -1;
	}
	CHECK(!info.recovered);
	if (info.missing) {
		CHECK(!expect_exists);
		state_destroy(ld);
		return 0;
	}
	long k = version_of(ld);
	CHECK(k > 0);
	struct state *want = make_version(k);
	char *a = state_dump(ld), *b = state_dump(want);
	CHECK_STR(a, b);
	free(a);
	free(b);
	state_destroy(want);
	state_destroy(ld);
	return k;
}

int main(void)
{
	char dir[] = "/tmp/envbot-test-state-crash-XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	char path[160], bak[160];
	snprintf(path, sizeof(path), "%s/state.json", dir);
	snprintf(bak, sizeof(bak), "%s/state.json.bak", dir);

	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	printf("seed %u\n", seed);
	srand(seed);
	long last = 0, saves = 0;
	int advanced = 0;
	for (int round = 0; round < ROUNDS; round++) {
		long base = (long)(round + 1) * 1000000;
		int pipefd[2];
		if (pipe(pipefd) != 0) {
			perror("pipe");
			return 1;
		}
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			close(pipefd[0]);
			child(path, base, pipefd[1]);
		}
		close(pipefd[1]);
		char c;
		bool ready = read(pipefd[0], &c, 1) == 1;
		close(pipefd[0]);
		CHECK(ready);
		/* 0-10 ms after the first save: anywhere from mid-second-save to
		 * dozens of saves later, at whatever step each save has reached. */
		usleep((useconds_t)(rand() % 10000));
		kill(pid, SIGKILL);
		int status = 0;
		waitpid(pid, &status, 0);
		/* Killed by us, not dead of its own failure. */
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

		long k = check_file(path, true);
		if (k > 0) {
			/* At least this round's first version: never older. */
			CHECK(k >= base);
			if (k > last)
				advanced++;
			last = k;
			saves += k - base + 1;
			/* The previous good copy loads too and is not newer. */
			if (access(bak, F_OK) == 0) {
				long kb = check_file(bak, true);
				CHECK(kb > 0 && kb <= k);
			}
		}
	}
	printf("%d rounds checked, %ld saves completed in all\n", advanced, saves);
	CHECK_INT(advanced, ROUNDS);

	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_done();
}
