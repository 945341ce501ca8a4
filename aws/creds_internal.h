/* Private to the credential provider (creds.c: the chain; creds_fetch.c: the
 * fetchers; creds_ini.c: the shared config files and the environment): the
 * providers the chain builds, the fetches under way and what the files
 * share. Calls go one way: creds.c -> creds_fetch.c, creds.c -> creds_ini.c.
 * Not for the rest of aws/: it uses aws_core.h. */
#ifndef ENVBOT_AWS_CREDS_INTERNAL_H
#define ENVBOT_AWS_CREDS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "aws_core.h"

enum cred_kind { CK_STATIC, CK_ASSUME_ROLE, CK_WEB_IDENTITY, CK_PROCESS, CK_ECS, CK_IMDS };

struct cred_provider {
	enum cred_kind kind;
	char *label;
	struct aws_creds stat; /* CK_STATIC */
	char *role_arn, *session_name, *external_id;
	long duration;
	struct cred_provider *source; /* CK_ASSUME_ROLE; NULL: signed by the root's chain */
	char *token_file;             /* CK_WEB_IDENTITY */
	char *command;                /* CK_PROCESS */
	char *url;                    /* CK_ECS: full URL; CK_IMDS: base */
	char *auth_token, *auth_token_file;
};

struct fetch;
typedef void (*fetch_done_fn)(void *arg, enum bot_rc rc, const struct aws_cred_fields *f,
			      const char *why);

struct sts_cred_op;

struct fetch {
	struct aws *aws;
	struct cred_provider *p;
	fetch_done_fn done;
	void *done_arg;
	struct fetch *prev, *next; /* cred_state.fetches */

	struct fetch *child;     /* CK_ASSUME_ROLE: the source's fetch */
	struct aws_creds src;    /* CK_ASSUME_ROLE: source credentials (owned) */
	struct sts_cred_op *sts; /* STS call in flight */

	CURL *easy; /* ECS / IMDS */
	struct curl_slist *hdrs;
	struct buf resp;
	int step;
	char imds_token[128];
	char imds_role[128];

	pid_t pid; /* CK_PROCESS */
	int fd;
	struct loop_timer *timer;
	uint64_t deadline_ms;
	bool eof;
};

struct cred_state {
	struct cred_provider *provider; /* NULL: nothing found */
	char *none_reason;
	struct aws_creds cur;
	bool have;
	bool failed;
	uint64_t gen;          /* grows with every load */
	int64_t retry_after;   /* after a failure: no fetch before this */
	int64_t refresh_after; /* after a success: no early refresh before this */
	char error[512];
	struct fetch *top;     /* the fetch under way, if any */
	struct fetch *fetches; /* every live fetch, for cleanup */
};

/* ---- the credentials (creds_fetch.c) ---- */

/* Frees what c holds and zeroes it. */
void creds_clear(struct aws_creds *c);
/* Replaces *c with copies of ak, sk and tok (NULL or "" = no token) expiring
 * at exp (0 = never) and registers the secrets with the logger; -1 on
 * allocation failure, *c unchanged. */
int creds_set(struct aws_creds *c, const char *ak, const char *sk, const char *tok, int64_t exp);

/* ---- fetching (creds_fetch.c) ---- */

/* Starts fetching p (the caller's, alive until the fetch ends); done runs
 * later from the loop (never inside this call). Returns NULL on allocation
 * failure (done is not called). */
struct fetch *creds_fetch_start(struct aws *aws, struct cred_provider *p, fetch_done_fn done,
				void *arg);
/* Stops f and what it started, without calling its done, and frees it. */
void creds_fetch_free(struct fetch *f);

/* ---- shared config files and the environment (creds_ini.c) ---- */

/* The variable name's value, or NULL when it is unset or empty (as the
 * SDKs read it). */
const char *creds_env(const char *name);

struct ini_entry {
	char *section; /* profile name */
	char *key;
	char *value;
	bool from_credentials;
};

struct ini {
	struct ini_entry *v;
	size_t n, cap;
	bool sections_cfg; /* some profile names seen */
	char **profiles;   /* distinct profile names */
	size_t n_profiles;
};

/* Loads ~/.aws/config and ~/.aws/credentials (or AWS_CONFIG_FILE and
 * AWS_SHARED_CREDENTIALS_FILE) into *ini (zeroed by the caller); a missing
 * file is no profile. */
void creds_ini_load_all(struct ini *ini);
/* The value of key in profile (the credentials file wins over the config
 * file), or NULL; the string is ini's. */
const char *creds_ini_get(const struct ini *ini, const char *profile, const char *key);
bool creds_ini_has_profile(const struct ini *ini, const char *profile);
void creds_ini_free(struct ini *ini);

#endif
