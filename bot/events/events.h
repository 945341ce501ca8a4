/* Events out: the sender. Every event recorded in the state (event.h) goes
 * to each sink of the config that has not taken it yet: a webhook (the
 * event's JSON, or a Slack message), an SNS topic, an EventBridge bus.
 *
 * - Durable first: an event is sent only once the state holding it is
 *   written (saver_flush), so a sink never sees an event a restart forgets.
 * - In order, per sink: one delivery in flight per sink, oldest event
 *   first; a sink that fails waits on a backoff (2 s .. 5 min) and holds
 *   its later events, the other sinks go on.
 * - Once per event id: a sink's delivery is struck from the state as soon
 *   as the sink answered 2xx (saved at the next iteration), and a restart
 *   sends only what is left. What a kill -9 can still cause is the one
 *   event a sink took in the milliseconds before that save; it comes again
 *   with the same id (X-Envbot-Event-Id, SNS FIFO dedup id, the detail's
 *   id), for the receiver to drop.
 * - Refused for good (a 4xx other than 408/429, an unknown topic or bus):
 *   that sink's delivery is dropped, logged as an error, counted.
 *
 * Threading: loop thread only. */
#ifndef ENVBOT_EVENTS_H
#define ENVBOT_EVENTS_H

#include <stdint.h>

#include "../../aws/aws.h"
#include "../../config/config.h"
#include "../core/fence.h"
#include "../core/loop.h"
#include "../state/saver.h"
#include "../state/state.h"
#include "event.h"

struct events_deps {
	struct loop *loop;
	struct state *state;       /* borrowed; must outlive the sender */
	struct saver *saver;       /* the state's writer */
	struct aws *aws;           /* NULL: the AWS sinks wait (logged once) */
	const struct fence *fence; /* NULL: none; closed: nothing leaves */
};

struct events_metrics {
	uint64_t delivered; /* deliveries a sink took */
	uint64_t failures;  /* attempts that failed (retried) */
	uint64_t dropped;   /* deliveries refused for good */
	uint64_t pending;   /* deliveries waiting now */
};

struct events;

/* cfg is borrowed until the next events_set_config. NULL on ENOMEM. */
struct events *events_create(const struct events_deps *deps, const struct cfg *cfg);
/* Accepts NULL. Deliveries in flight are abandoned (sent again at the next
 * start). */
void events_destroy(struct events *ev);
/* SIGHUP: sinks are matched by name. A sink gone from the config loses its
 * pending deliveries (logged); a changed one takes effect at its next
 * delivery. */
void events_set_config(struct events *ev, const struct cfg *cfg);

/* Records the event in the state for every sink (no sinks: nothing),
 * saves soon, and starts sending. BOT_OK also when nothing was recorded
 * because there are no sinks. ev may be NULL (then nothing happens). */
enum bot_rc events_emit(struct events *ev, const struct event_in *in);
/* Starts every sink with deliveries waiting (after a load or a restart). */
void events_kick(struct events *ev);

void events_get_metrics(const struct events *ev, struct events_metrics *out);

/* Pure, for tests: the value of X-Envbot-Signature for body sent at t
 * with key: "sha256=" and the hex HMAC-SHA256 of "<t>.<body>". out >= 72. */
void events_signature(const char *key, size_t key_len, long long t, const char *body, char *out,
		      size_t len);

#endif
