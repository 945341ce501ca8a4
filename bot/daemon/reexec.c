/* Starting over as a standby (replica.h): the process replaces itself with
 * a fresh copy of the same binary and arguments. Nothing of the replica that
 * lost the lease survives to act on stale memory: no workflow, no queued
 * message, no gateway session; every descriptor is closed by the exec
 * (close-on-exec set on all of them first), so the gateway connection ends
 * without a frame. Same pid: systemd and compose see no restart. */
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../core/exitcode.h"
#include "../core/log.h"
#include "daemon.h"

#define MAX_ARGS 128

void daemon_reexec(void)
{
	static char buf[16384];
	char *argv[MAX_ARGS + 1];
	int argc = 0;
	FILE *f = fopen("/proc/self/cmdline", "rb");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	for (size_t i = 0; i < n && argc < MAX_ARGS; i += strlen(buf + i) + 1)
		argv[argc++] = buf + i;
	argv[argc] = NULL;
	if (argc == 0) {
		log_error("replica", "msg=\"cannot read my own command line; exiting\"");
		_exit(EXIT_FAILED);
	}
	log_warn("replica", "msg=\"starting over as a standby\"");
	syscall(SYS_close_range, 3u, ~0u, (unsigned)CLOSE_RANGE_CLOEXEC);
	execv("/proc/self/exe", argv);
	log_error("replica", "msg=\"exec failed; exiting (the supervisor restarts envbot)\"");
	_exit(EXIT_FAILED);
}
