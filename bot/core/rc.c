/* Text and exit status for enum bot_rc. */
#include "rc.h"

const char *bot_strerror(enum bot_rc rc)
{
	switch (rc) {
	case BOT_OK: return "ok";
	case BOT_ENOMEM: return "out of memory";
	case BOT_EINVAL: return "invalid argument";
	case BOT_EIO: return "I/O error";
	case BOT_ECONFIG: return "configuration error";
	case BOT_EPARSE: return "malformed payload";
	case BOT_ETIMEDOUT: return "timed out";
	case BOT_ENET: return "network error";
	case BOT_EBUSY: return "busy";
	case BOT_ECANCELLED: return "cancelled";
	case BOT_EREMOTE: return "request refused by the service";
	case BOT_EAUTH: return "authentication refused";
	case BOT_ETHROTTLED: return "throttled";
	case BOT_ESERVER: return "service error";
	case BOT_ENOTFOUND: return "not found";
	case BOT_EFAILED: return "action failed";
	}
	return "unknown error";
}

int bot_exit_status(enum bot_rc rc)
{
	switch (rc) {
	case BOT_OK: return EXIT_OK;
	case BOT_ECONFIG:
	case BOT_EINVAL: return EXIT_USAGE;
	case BOT_EAUTH: return EXIT_AUTH;
	default: return EXIT_FAILED;
	}
}
