/* The one result type of envbot. Zero is success, negative values are local
 * failures (ours or the machine's), positive values are outcomes reported by a
 * remote service. Library codes (CURLcode, lws returns, libconfig errors) are
 * translated into these at each module boundary and never leak upward. */
#ifndef ENVBOT_RC_H
#define ENVBOT_RC_H

#include "exitcode.h"

enum bot_rc {
	BOT_OK = 0,
	/* local */
	BOT_ENOMEM = -1,    /* allocation failed */
	BOT_EINVAL = -2,    /* bad argument or malformed input */
	BOT_EIO = -3,       /* file or socket I/O failed */
	BOT_ECONFIG = -4,   /* configuration is invalid */
	BOT_EPARSE = -6,    /* a payload could not be decoded */
	BOT_ETIMEDOUT = -7, /* a local deadline passed */
	BOT_ENET = -8,      /* connection refused, reset, DNS, TLS */
	BOT_EBUSY = -9,     /* another operation holds the resource */
	BOT_ECANCELLED = -10,
	/* remote */
	BOT_EREMOTE = 1,    /* the service refused the request (4xx, API error) */
	BOT_EAUTH = 2,      /* credentials or token refused */
	BOT_ETHROTTLED = 3, /* rate limited, retries exhausted */
	BOT_ESERVER = 4,    /* 5xx, retries exhausted */
	BOT_ENOTFOUND = 5,  /* the named resource does not exist */
	BOT_EFAILED = 6,    /* a workflow ran and failed (rollback, DELETE_FAILED) */
};

/* Returns a static string; never NULL. */
const char *bot_strerror(enum bot_rc rc);

/* Process exit status of CONTRACT.md for a result: an enum bot_exit value
 * (int, as main() and bot_stop() take it). */
int bot_exit_status(enum bot_rc rc);

#endif
