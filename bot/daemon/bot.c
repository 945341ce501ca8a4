/* `envbot run`'s context: start-up (slash commands in sync, gateway URL,
 * gateway thread), signals through a signalfd on the loop, and the routing
 * of interactions to the daemon (daemon.c). Keep this file the switchboard,
 * not the logic; it is the only writer of struct bot. */
#include "bot.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "../../commands/definitions.h"
#include "../core/backoff.h"
#include "../core/exitcode.h"
#include "../core/log.h"
#include "../discord/gw.h"
#include "../discord/interact.h"
#include "daemon.h"

#define MOD "bot"

struct bot {
	char *token; /* owned; registered as a log secret */
	struct loop *loop;
	struct rest *rest;
	struct gw *gw;
	struct daemon *daemon; /* owns the config */
	int signal_fd;         /* -1 if none */
	int exit_status;       /* what `run` returns once the loop stops */
	bool stopping;
	bool ready;                /* READY seen at least once */
	unsigned gateway_attempts; /* GET /gateway/bot failures in a row */
	struct loop_timer *retry_timer;
	char gateway_url[512];
	struct gw_start_limit start_limit;
};

/* Asks the loop to stop with this exit status (first call wins). */
static void bot_stop(struct bot *bot, int exit_status);

/* ---- interaction routing ---- */

/* Every interaction (commands, autocomplete, buttons) goes to the command
 * tables (commands/), which check the place and the roles first. */
static void on_interaction(struct bot *bot, const cJSON *d)
{
	struct ix *ix = NULL;
	enum bot_rc rc = ix_parse(d, loop_now_ms(), &ix);
	if (rc != BOT_OK) {
		log_warn(MOD, "msg=\"interaction dropped\" rc=\"%s\"", bot_strerror(rc));
		return;
	}
	log_debug(MOD, "msg=\"interaction\" id=%s type=%d command=%s sub=%s user=%s", ix->id,
		  ix->type, ix->command, ix->subcommand, ix->user_id);
	daemon_dispatch(bot->daemon, ix);
}

static void on_dispatch(void *arg, const char *type, const cJSON *d)
{
	struct bot *bot = arg;
	if (bot->stopping)
		return;
	if (strcmp(type, "INTERACTION_CREATE") == 0) {
		on_interaction(bot, d);
	} else if (strcmp(type, "READY") == 0) {
		bot->ready = true;
		/* Tests and operators wait for this line. */
		log_info(MOD, "msg=\"ready\"");
	}
}

/* A fatal close to an exit status (CONTRACT.md): intents the application may
 * not use are a configuration error, which no restart fixes; a refused token
 * is an authentication failure, and the shard and API-version refusals
 * (4010-4012) keep the status 3 they always had. */
static void on_fatal(void *arg, int code, const char *why)
{
	struct bot *bot = arg;
	int status = EXIT_FAILED;
	switch (code) {
	case GW_CODE_INVALID_INTENTS:
	case GW_CODE_DISALLOWED_INTENTS: status = EXIT_USAGE; break;
	case GW_CODE_AUTHENTICATION_FAILED:
	case GW_CODE_INVALID_SHARD:
	case GW_CODE_SHARDING_REQUIRED:
	case GW_CODE_INVALID_API_VERSION: status = EXIT_AUTH; break;
	default: break;
	}
	log_error(MOD, "msg=\"gateway refused us; stopping\" code=%d why=\"%s\"", code, why);
	bot_stop(bot, status);
}

/* ---- start-up ---- */

static void fetch_gateway(struct bot *bot);

static void retry_gateway(void *arg)
{
	struct bot *bot = arg;
	bot->retry_timer = NULL;
	fetch_gateway(bot);
}

static void on_gateway(void *arg, const struct rest_response *res)
{
	struct bot *bot = arg;
	if (bot->stopping)
		return;
	if (res->rc == BOT_EAUTH) {
		bot_stop(bot, EXIT_AUTH);
		return;
	}
	const cJSON *url = cJSON_GetObjectItemCaseSensitive(res->json, "url");
	if (res->rc != BOT_OK || !cJSON_IsString(url) ||
	    strlen(url->valuestring) >= sizeof(bot->gateway_url)) {
		/* No jitter: one bot, one request. */
		static const uint32_t delays_ms[] = { 1000, 2000, 5000, 10000, 30000 };
		static const struct backoff retry = { .table_ms = delays_ms,
						      .count = BACKOFF_COUNT(delays_ms) };
		uint64_t delay = backoff_ms(&retry, bot->gateway_attempts, 0.0);
		bot->gateway_attempts++;
		log_warn(MOD, "msg=\"GET /gateway/bot failed; retrying\" rc=\"%s\" retry_s=%u",
			 bot_strerror(res->rc), (unsigned)(delay / 1000));
		bot->retry_timer = loop_timer_add(bot->loop, delay, retry_gateway, bot);
		return;
	}
	snprintf(bot->gateway_url, sizeof(bot->gateway_url), "%s", url->valuestring);
	const cJSON *ssl = cJSON_GetObjectItemCaseSensitive(res->json, "session_start_limit");
	const cJSON *v;
	if ((v = cJSON_GetObjectItemCaseSensitive(ssl, "total")) && cJSON_IsNumber(v))
		bot->start_limit.total = v->valueint;
	if ((v = cJSON_GetObjectItemCaseSensitive(ssl, "remaining")) && cJSON_IsNumber(v))
		bot->start_limit.remaining = v->valueint;
	if ((v = cJSON_GetObjectItemCaseSensitive(ssl, "reset_after")) && cJSON_IsNumber(v))
		/* Bounded before the conversion: Discord says at most a day. */
		bot->start_limit.reset_after_ms = v->valuedouble > 0 && v->valuedouble < 86400000.0
							  ? (int64_t)v->valuedouble
						  : v->valuedouble >= 86400000.0 ? 86400000
										 : 0;
	if ((v = cJSON_GetObjectItemCaseSensitive(ssl, "max_concurrency")) && cJSON_IsNumber(v))
		bot->start_limit.max_concurrency = v->valueint;

	struct gw_options opt = {
		.url = bot->gateway_url,
		.token = bot->token,
		.intents = 0,
		.compress = getenv("ENVBOT_GATEWAY_COMPRESS") != NULL,
		.limit = bot->start_limit,
		.fence = daemon_fence(bot->daemon),
	};
	struct gw_callbacks cb = { .on_dispatch = on_dispatch, .on_fatal = on_fatal, .arg = bot };
	bot->gw = gw_create(bot->loop, &opt, &cb);
	daemon_set_gateway(bot->daemon, bot->gw);
	if (!bot->gw || gw_start(bot->gw) != BOT_OK) {
		log_error(MOD, "msg=\"cannot start the gateway\"");
		bot_stop(bot, EXIT_FAILED);
	}
}

static void fetch_gateway(struct bot *bot)
{
	if (rest_request(bot->rest, "GET", "/gateway/bot", NULL, 0, on_gateway, bot) != BOT_OK)
		bot_stop(bot, EXIT_FAILED);
}

static void on_synced(void *arg, enum bot_rc rc, bool changed, int n)
{
	struct bot *bot = arg;
	if (bot->stopping)
		return;
	if (rc == BOT_EAUTH) {
		bot_stop(bot, EXIT_AUTH);
		return;
	}
	if (rc != BOT_OK)
		/* Commands registered earlier keep working: don't stay deaf. */
		log_warn(MOD, "msg=\"slash commands not synchronised\" rc=\"%s\"",
			 bot_strerror(rc));
	else
		log_info(MOD, "msg=\"slash commands %s\" count=%d",
			 changed ? "registered" : "unchanged", n);
	fetch_gateway(bot);
}

/* ---- command synchronisation ---- */

struct sync {
	struct rest *rest;
	bot_sync_fn done;
	void *arg;
	cJSON *want;
	char path[128];
};

static void sync_finish(struct sync *s, enum bot_rc rc, bool changed)
{
	int n = cJSON_GetArraySize(s->want);
	s->done(s->arg, rc, changed, n);
	cJSON_Delete(s->want);
	free(s);
}

static void on_put(void *arg, const struct rest_response *res)
{
	sync_finish(arg, res->rc, true);
}

static void on_get(void *arg, const struct rest_response *res)
{
	struct sync *s = arg;
	if (res->rc == BOT_EAUTH || res->rc == BOT_ECANCELLED) {
		sync_finish(s, res->rc, false);
		return;
	}
	if (res->rc == BOT_OK && cmd_definitions_equal(s->want, res->json)) {
		sync_finish(s, BOT_OK, false);
		return;
	}
	cJSON *body = cJSON_Duplicate(s->want, true);
	enum bot_rc rc =
		body ? rest_request(s->rest, "PUT", s->path, body, 0, on_put, s) : BOT_ENOMEM;
	if (rc != BOT_OK)
		sync_finish(s, rc, false);
}

void bot_sync_commands(struct rest *rest, const struct cfg *cfg, bot_sync_fn done, void *arg)
{
	struct sync *s = calloc(1, sizeof(*s));
	enum bot_rc rc = BOT_ENOMEM;
	if (!s)
		goto fail;
	s->rest = rest;
	s->done = done;
	s->arg = arg;
	s->want = cmd_definitions();
	if (!s->want)
		goto fail;
	rc = BOT_ECONFIG;
	if (!cfg->application_id)
		goto fail;
	if (cfg->guild_id && cfg->guild_id[0])
		snprintf(s->path, sizeof(s->path), "/applications/%s/guilds/%s/commands",
			 cfg->application_id, cfg->guild_id);
	else
		snprintf(s->path, sizeof(s->path), "/applications/%s/commands",
			 cfg->application_id);
	/* Without with_localizations Discord answers one language's
	 * description_localized instead of the translations: a changed
	 * translation would never look like a change. */
	char get[sizeof(s->path) + 32];
	snprintf(get, sizeof(get), "%s?with_localizations=true", s->path);
	rc = rest_request(rest, "GET", get, NULL, 0, on_get, s);
	if (rc == BOT_OK)
		return;
fail:
	if (s)
		cJSON_Delete(s->want);
	free(s);
	done(arg, rc, false, 0);
}

/* ---- signals ---- */

static void on_signal(void *arg, int fd, short revents)
{
	struct bot *bot = arg;
	struct signalfd_siginfo si;
	(void)revents;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			daemon_reload(bot->daemon);
			continue;
		}
		log_info(MOD, "msg=\"stopping\" signal=%u", si.ssi_signo);
		bot_stop(bot, EXIT_OK);
	}
}

/* Blocks the daemon's signals in this thread (and so in every thread
 * created after) and returns a signalfd for them, -1 on failure. */
static int signals_block(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* ---- lifecycle ---- */

struct bot *bot_create(struct cfg *cfg, char *token)
{
	struct bot *bot = calloc(1, sizeof(*bot));
	if (!bot) {
		cfg_destroy(cfg);
		free(token);
		return NULL;
	}
	bot->token = token;
	bot->signal_fd = -1;
	bot->loop = loop_create();
	struct rest_options ro = {
		.api_base = cfg->api_base,
		.token = token,
		.application_id = cfg->application_id,
	};
	bot->rest = bot->loop ? rest_create(bot->loop, &ro) : NULL;
	if (!bot->rest) {
		cfg_destroy(cfg);
		bot_destroy(bot);
		return NULL;
	}
	bot->daemon = daemon_create(bot->loop, bot->rest, cfg); /* takes cfg */
	if (!bot->daemon) {
		bot_destroy(bot);
		return NULL;
	}
	return bot;
}

void bot_destroy(struct bot *bot)
{
	if (!bot)
		return;
	gw_destroy(bot->gw);
	bot->gw = NULL;
	if (bot->daemon)
		daemon_set_gateway(bot->daemon, NULL);
	if (bot->loop)
		loop_timer_cancel(bot->loop, bot->retry_timer);
	/* REST first: it cancels queued requests, and their callbacks still
	 * find the workflows and the state they belong to. */
	rest_destroy(bot->rest);
	daemon_destroy(bot->daemon);
	loop_destroy(bot->loop);
	if (bot->signal_fd >= 0)
		close(bot->signal_fd);
	free(bot->token);
	free(bot);
}

static void bot_stop(struct bot *bot, int exit_status)
{
	if (bot->stopping)
		return;
	bot->stopping = true;
	bot->exit_status = exit_status;
	loop_stop(bot->loop);
}

static void drained(void *arg)
{
	struct bot *bot = arg;
	loop_stop(bot->loop);
}

int bot_run(struct bot *bot)
{
	bot->signal_fd = signals_block();
	if (bot->signal_fd < 0 ||
	    loop_fd_add(bot->loop, bot->signal_fd, POLLIN, on_signal, bot) != 0) {
		log_error(MOD, "msg=\"cannot watch signals\" errno=%d", errno);
		return EXIT_FAILED;
	}
	/* Workflows resume and the scheduler runs even while Discord is
	 * unreachable: the gateway connects in the background. */
	enum bot_rc rc = daemon_start(bot->daemon);
	if (rc != BOT_OK && bot->stopping) {
		log_info(MOD, "msg=\"stopped\" exit=%d", bot->exit_status);
		return bot->exit_status;
	}
	if (rc != BOT_OK)
		return bot_exit_status(rc);
	/* application_id and guild_id need a restart: the start-up config is
	 * the current one here. */
	bot_sync_commands(bot->rest, daemon_cfg(bot->daemon), on_synced, bot);
	if (loop_run(bot->loop) != 0 && !bot->stopping)
		bot_stop(bot, EXIT_FAILED);
	if (!bot->stopping)
		bot_stop(bot, EXIT_FAILED);
	/* Close the gateway (1000), join its thread, then run the loop once more
	 * so that events it posted before stopping are delivered (and
	 * ignored) instead of leaked. */
	gw_stop(bot->gw);
	if (loop_post(bot->loop, drained, bot) == 0)
		loop_run(bot->loop);
	if (rest_auth_failed(bot->rest))
		bot->exit_status = EXIT_AUTH;
	log_info(MOD, "msg=\"stopped\" exit=%d", bot->exit_status);
	return bot->exit_status;
}
