/* The health listener: a loopback-only HTTP endpoint on the event loop with
 * GET /healthz (JSON: gateway connected, last heartbeat ACK age, scheduler
 * alive; 200 when healthy, 503 otherwise) and GET /metrics (Prometheus text,
 * from metrics.h). Configured by `health.listen = "127.0.0.1:9464"`.
 * It never listens on anything but a loopback address: it has no
 * authentication, and metrics name environments. */
#ifndef ENVBOT_HEALTH_H
#define ENVBOT_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../core/loop.h"
#include "../core/rc.h"
#include "metrics.h"

/* What the daemon reports, filled by the provider on each request. */
struct health_status {
	bool gateway_connected;
	/* Milliseconds since the last heartbeat ACK; -1 when none was received
	 * in this session yet. */
	int64_t heartbeat_ack_age_ms;
	/* The gateway's heartbeat interval (HELLO); 0 when unknown. When set,
	 * an ACK older than two intervals makes /healthz unhealthy: Discord
	 * treats the connection as a zombie by then. */
	int64_t heartbeat_interval_ms;
	bool scheduler_alive;
	/* Two replicas (state.backend = "dynamodb"): this one's role. A
	 * standby has no gateway and no scheduler by design; it is healthy
	 * while it can read the lease (lease_reachable). */
	bool replicated;
	bool standby;
	int64_t role_since; /* Unix s */
	bool lease_reachable;
};

/* Called on the loop thread for every /healthz and /metrics request; must not
 * block. status is zeroed before the call (heartbeat_ack_age_ms = -1). */
struct health_provider {
	void (*status)(void *arg, struct health_status *status);
	void *arg;
};

struct health_opts {
	const char *listen;              /* "127.0.0.1:9464", "[::1]:9464", "localhost:9464";
					    port 0 picks a free port (tests) */
	struct health_provider provider; /* status may be NULL: always unhealthy */
	struct metrics *metrics;         /* borrowed; NULL serves an empty /metrics */
	uint64_t idle_timeout_ms;        /* per connection; 0 means 5000 */
};

struct health;

/* Binds and listens on opts->listen and watches the socket on loop. The loop
 * and metrics are borrowed and must outlive the listener; opts is copied (the
 * listen string too). On success *out is a new listener (free with
 * health_destroy). Returns BOT_ECONFIG with a message in err for a malformed
 * or non-loopback address, BOT_EIO if the socket cannot be bound (the message
 * says why), BOT_ENOMEM. */
enum bot_rc health_create(struct loop *loop, const struct health_opts *opts, struct health **out,
			  char *err, size_t errlen);
/* Accepts NULL. Closes the listener and every open connection; must run on
 * the loop thread (or with the loop not running). */
void health_destroy(struct health *h);

/* The bound TCP port (useful with port 0). */
int health_port(const struct health *h);

/* Parses a listen address "HOST:PORT" and checks that HOST is loopback
 * (127.0.0.0/8, ::1, localhost; no name lookup). Fills *addr and *addrlen.
 * Returns BOT_OK or BOT_ECONFIG with a message in err. Exposed for config
 * validation and tests. */
enum bot_rc health_parse_listen(const char *listen, struct sockaddr_storage *addr,
				socklen_t *addrlen, char *err, size_t errlen);

#endif
