/* Interactions: INTERACTION_CREATE decoded into a plain struct (who, where,
 * which command, which options), and the reply helpers that follow Discord's
 * rules (ACK within 3 s, edit the original for 15 minutes, then the channel
 * message). Handlers receive a struct ix they own and may keep it for as
 * long as a workflow needs to update its message.
 *
 * Threading: loop thread only. */
#ifndef ENVBOT_INTERACT_H
#define ENVBOT_INTERACT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/rc.h"
#include "rest.h"

enum ix_type {
	IX_PING = 1,
	IX_COMMAND = 2,      /* slash command */
	IX_COMPONENT = 3,    /* button, select menu */
	IX_AUTOCOMPLETE = 4, /* an option is being typed */
	IX_MODAL = 5,
};

#define IX_MAX_OPTIONS 25
#define IX_MAX_ROLES   250
#define IX_ID_MAX      24   /* snowflakes are ≤ 20 digits */
#define IX_NAME_MAX    33   /* command/option names ≤ 32 */
#define IX_VALUE_MAX   6001 /* option values are bounded by Discord */
#define IX_LOCALE_MAX  16   /* "en-US", "zh-TW", "es-419" */

struct ix_option {
	char name[IX_NAME_MAX];
	int type;     /* 3 string, 4 integer, 5 boolean, 10 number, ... */
	char *value;  /* the value as text ("2h", "42", "true"); never NULL */
	bool focused; /* autocomplete: the option being typed */
};

struct ix_later;

struct ix {
	char id[IX_ID_MAX];
	char application_id[IX_ID_MAX];
	char *token; /* registered with log_add_secret() while the ix lives */
	enum ix_type type;
	char guild_id[IX_ID_MAX]; /* "" in DMs */
	char channel_id[IX_ID_MAX];
	char user_id[IX_ID_MAX];
	char user_name[IX_NAME_MAX];
	char **roles; /* member role ids */
	size_t n_roles;
	/* The user's Discord language ("ko", "en-US"; "" when absent or
	 * malformed): every reply to this interaction is in it. */
	char locale[IX_LOCALE_MAX];

	/* IX_COMMAND / IX_AUTOCOMPLETE */
	char command[IX_NAME_MAX];                /* "env" */
	char group[IX_NAME_MAX];                  /* subcommand group, "" if none */
	char subcommand[IX_NAME_MAX];             /* "start", "" if none */
	struct ix_option options[IX_MAX_OPTIONS]; /* the leaf options */
	size_t n_options;

	/* IX_COMPONENT */
	char *custom_id;            /* NULL unless a component */
	char message_id[IX_ID_MAX]; /* the message the component sits on */

	/* bookkeeping */
	uint64_t received_ms;        /* loop_now_ms() at receipt: the 3 s deadline */
	bool acked;                  /* a callback has been sent */
	bool ephemeral;              /* the deferred/first response was ephemeral */
	char original_id[IX_ID_MAX]; /* id of @original once learnt */
	/* private */
	int refs;               /* replies in flight hold the ix alive */
	int ack_state;          /* 0 none, 1 in flight, 2 done, 3 failed */
	struct ix_later *later; /* edits waiting for the ACK to land */
};

/* Decodes an INTERACTION_CREATE payload. Returns BOT_OK and *out (caller
 * frees with ix_free), BOT_EPARSE when required fields are missing or
 * malformed, BOT_ENOMEM. d is borrowed. */
enum bot_rc ix_parse(const cJSON *d, uint64_t received_ms, struct ix **out);
/* Accepts NULL; forgets the token's redaction once the last reply that
 * still needs the ix has finished. */
void ix_free(struct ix *ix);

/* Option value by name, NULL if absent. Borrowed from ix. */
const char *ix_option(const struct ix *ix, const char *name);
/* The focused option of an autocomplete interaction, NULL if none. */
const struct ix_option *ix_focused(const struct ix *ix);
/* True when the member holds one of the roles. */
bool ix_has_role(const struct ix *ix, char *const *roles, size_t n_roles);

/* ---- replies (ix is borrowed; it must outlive nothing: the helpers copy
 * what they need; msg ownership is taken) ---- */

/* ACK with type 5 ("thinking..."): the answer follows by ix_edit. */
enum bot_rc ix_defer(struct rest *rest, struct ix *ix, bool ephemeral);
/* Reply now (type 4). msg from rest_msg_new(); set ephemeral via flags. */
enum bot_rc ix_reply(struct rest *rest, struct ix *ix, cJSON *msg);
/* ix_reply, and done (may be NULL) once Discord has answered the callback:
 * BOT_OK means the message exists, so follow-ups may be sent from done (a
 * follow-up sent before that would be refused). ix is alive while done
 * runs. done is not called when this returns an error. */
enum bot_rc ix_reply_then(struct rest *rest, struct ix *ix, cJSON *msg, rest_done_fn done,
			  void *arg);
/* Edits the original response (if the ACK is still in flight, the edit is
 * sent once it has landed, so Discord never sees them out of order):
 * PATCH @original while the interaction token
 * is valid (15 minutes, with a safety margin); afterwards the channel message
 * (needs original_id, learnt from an earlier edit; ephemeral messages cannot
 * be edited then and BOT_ETIMEDOUT is returned). done may be NULL. */
enum bot_rc ix_edit(struct rest *rest, struct ix *ix, cJSON *msg, rest_done_fn done, void *arg);
/* A followup message (valid 15 minutes). */
enum bot_rc ix_followup(struct rest *rest, struct ix *ix, cJSON *msg, rest_done_fn done, void *arg);
/* Autocomplete answer: up to 25 choices (copied). */
enum bot_rc ix_autocomplete(struct rest *rest, struct ix *ix, const char *const *choices, size_t n);
/* Component responses: type 6 (ack, edit later) when msg is NULL, else type
 * 7 (update the message the button sits on now). */
enum bot_rc ix_component_update(struct rest *rest, struct ix *ix, cJSON *msg);

/* How long an interaction token stays valid, and the margin kept. */
#define IX_TOKEN_TTL_MS    (15u * 60u * 1000u)
#define IX_TOKEN_MARGIN_MS (30u * 1000u)

#endif
