/* One writer per state file: an advisory flock(2) on <state_file>.lock.
 * The daemon and a shell `envbot start|stop` each load the file once and
 * then write their own copy whole, so a second writer's changes (a
 * capacity saved by the shell, an override taken by the daemon) would be
 * overwritten by the other's next save. The kernel drops the lock when its
 * process dies, kill -9 included; the file keeps the holder's pid for the
 * message of the one refused. */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

struct state_lock {
	int fd;
};

static void holder_pid(int fd, char *buf, size_t len)
{
	char text[32] = "";
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	text[n > 0 ? n : 0] = '\0';
	text[strcspn(text, "\n")] = '\0';
	snprintf(buf, len, "%s", text[0] ? text : "unknown");
}

enum bot_rc state_lock_take(const char *state_path, unsigned wait_ms, struct state_lock **out,
			    char *err, size_t errlen)
{
	char path[4096];
	*out = NULL;
	if (snprintf(path, sizeof(path), "%s.lock", state_path) >= (int)sizeof(path)) {
		snprintf(err, errlen, "%s.lock: path too long", state_path);
		return BOT_EINVAL;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return BOT_EIO;
	}
	/* A process just killed may still hold it for a moment. */
	unsigned waited = 0;
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			close(fd);
			return BOT_EIO;
		}
		if (waited >= wait_ms) {
			char pid[32];
			holder_pid(fd, pid, sizeof(pid));
			snprintf(err, errlen, "%s is in use by another envbot process (pid %s)",
				 state_path, pid);
			close(fd);
			return BOT_EBUSY;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000 * 1000 }, NULL);
		waited += 50;
	}
	struct state_lock *l = malloc(sizeof(*l));
	if (!l) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return BOT_ENOMEM;
	}
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0) {
		ssize_t w = pwrite(fd, pid, (size_t)n, 0);
		(void)w; /* the pid is only for messages: a failed write changes nothing */
	}
	l->fd = fd;
	*out = l;
	return BOT_OK;
}

void state_lock_release(struct state_lock *l)
{
	if (!l)
		return;
	close(l->fd); /* drops the flock */
	free(l);
}
