/* The process exit statuses of CONTRACT.md, named once: every `return` from
 * a command and every bot_stop() uses these, never a bare number. */
#ifndef ENVBOT_EXITCODE_H
#define ENVBOT_EXITCODE_H

enum bot_exit {
	EXIT_OK = 0,     /* success */
	EXIT_FAILED = 1, /* the action failed (workflow failed, network, ...) */
	EXIT_USAGE = 2,  /* usage or configuration error: a restart cannot fix it */
	EXIT_AUTH = 3,   /* authentication refused (Discord or AWS) */
};

#endif
