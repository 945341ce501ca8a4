/* The credential fetchers, asynchronous on the loop: STS AssumeRole and
 * AssumeRoleWithWebIdentity through the signed-call machinery, ECS container
 * credentials and EC2 IMDSv2 as plain curl transfers, credential_process as
 * a child (posix_spawn) whose stdout pipe is watched with loop_fd_add. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../bot/core/log.h"
#include "aws_core.h"
#include "creds_internal.h"

extern char **environ;

#define CRED_BODY_MAX      (64 * 1024)
#define PROCESS_TIMEOUT_MS 60000

struct sts_cred_op {
	struct aws_op op;
	struct fetch *f;
};

/* ---- the credentials ---- */

void creds_clear(struct aws_creds *c)
{
	free(c->access_key);
	free(c->secret_key);
	free(c->token);
	memset(c, 0, sizeof(*c));
}

int creds_set(struct aws_creds *c, const char *ak, const char *sk, const char *tok, int64_t exp)
{
	struct aws_creds n = { 0 };
	n.access_key = strdup(ak);
	n.secret_key = strdup(sk);
	n.token = tok && *tok ? strdup(tok) : NULL;
	n.expiration = exp;
	if (!n.access_key || !n.secret_key || (tok && *tok && !n.token)) {
		creds_clear(&n);
		return -1;
	}
	creds_clear(c);
	*c = n;
	log_add_secret(sk);
	if (tok && *tok)
		log_add_secret(tok);
	return 0;
}

/* Reads a small file whole (token files, at most 64 KiB). New string or
 * NULL. */
static char *read_small_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	struct buf b = { 0 };
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && b.len < CRED_BODY_MAX)
		buf_add(&b, buf, n);
	fclose(f);
	char *s = buf_take(&b);
	if (s) {
		size_t l = strlen(s);
		while (l && (s[l - 1] == '\n' || s[l - 1] == '\r' || s[l - 1] == ' '))
			s[--l] = '\0';
	}
	return s;
}

/* ---- fetching ---- */

static void fetch_complete(struct fetch *f, enum bot_rc rc, const struct aws_cred_fields *c,
			   const char *why)
{
	fetch_done_fn done = f->done;
	void *arg = f->done_arg;
	/* the callback may start another fetch; this one is finished first
	 * but freed after, since c may point into it */
	f->done = NULL;
	if (done)
		done(arg, rc, c, why);
	creds_fetch_free(f);
}

static void sts_cred_free(struct aws_op *op)
{
	struct sts_cred_op *s = (struct sts_cred_op *)op;
	if (s->f)
		s->f->sts = NULL;
	aws_op_release(op);
	free(s);
}

static void sts_cred_resp(struct aws_op *op, const struct aws_err *err, const char *body,
			  size_t len)
{
	struct sts_cred_op *s = (struct sts_cred_op *)op;
	struct fetch *f = s->f;
	struct arena a = { 0 };
	struct aws_cred_fields c = { 0 };
	char why[400];
	enum bot_rc rc = err->rc;
	aws_op_finish(op, err);
	f->sts = NULL;
	s->f = NULL;
	sts_cred_free(op);
	if (rc == BOT_OK) {
		const char *result = f->p->kind == CK_WEB_IDENTITY
					     ? "AssumeRoleWithWebIdentityResult"
					     : "AssumeRoleResult";
		rc = sts_decode_credentials(body, len, result, &a, &c, why, sizeof(why));
	} else {
		snprintf(why, sizeof(why), "STS %s for %.80s: %s%s%.120s",
			 f->p->kind == CK_WEB_IDENTITY ? "AssumeRoleWithWebIdentity" : "AssumeRole",
			 f->p->role_arn, err->code, err->code[0] ? ": " : "", err->message);
		if (rc != BOT_EAUTH && rc != BOT_ENET)
			rc = BOT_EAUTH; /* a refused role is an authentication failure */
	}
	fetch_complete(f, rc, rc == BOT_OK ? &c : NULL, why);
	arena_free(&a);
}

/* Starts the STS call of an assume-role or web-identity fetch. */
static void sts_cred_call(struct fetch *f, const char *web_token)
{
	struct aws *aws = f->aws;
	struct buf form = { 0 };
	char session[64];
	char *body = NULL;
	struct sts_cred_op *s = calloc(1, sizeof(*s));
	if (!s) {
		fetch_complete(f, BOT_ENOMEM, NULL, "out of memory");
		return;
	}
	snprintf(session, sizeof(session), "envbot-%lld", (long long)aws_now(aws));
	aws_form_add(&form, "RoleArn", f->p->role_arn);
	aws_form_add(&form, "RoleSessionName", f->p->session_name ? f->p->session_name : session);
	if (web_token)
		aws_form_add(&form, "WebIdentityToken", web_token);
	if (f->p->duration)
		buf_addf(&form, "&DurationSeconds=%ld", f->p->duration);
	aws_form_add(&form, "ExternalId", f->p->external_id);
	s->f = f;
	s->op.internal = true;
	/* A role of aws_for (no source of its own) is assumed through the
	 * root's STS endpoint with the root's credentials, waiting for them
	 * like any call. */
	bool via_root = !web_token && !f->p->source && aws->root;
	aws_op_init(&s->op, via_root ? aws->root : aws, AWS_STS, f, sts_cred_resp, sts_cred_free);
	if (web_token)
		s->op.unsigned_req = true;
	else if (!via_root)
		s->op.creds = &f->src;
	f->sts = s;
	enum bot_rc rc = aws_op_query_body(&form, AWS_STS,
					   web_token ? "AssumeRoleWithWebIdentity" : "AssumeRole",
					   form.p ? form.p : "", &body);
	buf_free(&form);
	if (rc == BOT_OK)
		rc = aws_op_send(&s->op, body);
	if (rc != BOT_OK) {
		aws_op_abort(&s->op);
		fetch_complete(f, BOT_ENOMEM, NULL, "out of memory");
	}
}

static void source_done(void *arg, enum bot_rc rc, const struct aws_cred_fields *c, const char *why)
{
	struct fetch *f = arg;
	f->child = NULL;
	if (rc != BOT_OK) {
		char msg[300];
		snprintf(msg, sizeof(msg), "source credentials for %s: %s", f->p->role_arn, why);
		fetch_complete(f, rc, NULL, msg);
		return;
	}
	if (creds_set(&f->src, c->access_key, c->secret_key, c->token, c->expiration) != 0) {
		fetch_complete(f, BOT_ENOMEM, NULL, "out of memory");
		return;
	}
	sts_cred_call(f, NULL);
}

/* ECS and IMDS: plain GET/PUT on the loop. */
static void http_done(void *arg, CURL *easy, CURLcode result);

static size_t http_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fetch *f = arg;
	size_t n = size * nmemb;
	if (f->resp.len + n > CRED_BODY_MAX)
		return 0;
	buf_add(&f->resp, data, n);
	return f->resp.oom ? 0 : n;
}

static int http_start(struct fetch *f, const char *method, const char *url, const char *header1,
		      const char *header2)
{
	f->easy = curl_easy_init();
	if (!f->easy)
		return -1;
	buf_free(&f->resp);
	curl_slist_free_all(f->hdrs);
	f->hdrs = NULL;
	if (header1)
		f->hdrs = curl_slist_append(f->hdrs, header1);
	if (header2 && f->hdrs)
		f->hdrs = curl_slist_append(f->hdrs, header2);
	curl_easy_setopt(f->easy, CURLOPT_URL, url);
	curl_easy_setopt(f->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(f->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(f->easy, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "PUT") == 0) {
		curl_easy_setopt(f->easy, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(f->easy, CURLOPT_POSTFIELDSIZE, 0L);
	}
	curl_easy_setopt(f->easy, CURLOPT_HTTPHEADER, f->hdrs);
	if (f->aws->ca_bundle)
		curl_easy_setopt(f->easy, CURLOPT_CAINFO, f->aws->ca_bundle);
	curl_easy_setopt(f->easy, CURLOPT_WRITEFUNCTION, http_body);
	curl_easy_setopt(f->easy, CURLOPT_WRITEDATA, f);
	/* metadata services answer at once or not at all */
	curl_easy_setopt(f->easy, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	curl_easy_setopt(f->easy, CURLOPT_TIMEOUT_MS, 5000L);
	if (loop_http_add(f->aws->loop, f->easy, http_done, f) != 0) {
		curl_easy_cleanup(f->easy);
		f->easy = NULL;
		return -1;
	}
	return 0;
}

static void finish_json(struct fetch *f, const char *what)
{
	struct arena a = { 0 };
	struct aws_cred_fields c = { 0 };
	char why[300], err[200] = ""; /* decoders write it only on errors */
	enum bot_rc rc = aws_decode_json_credentials(f->resp.p ? f->resp.p : "", f->resp.len, &a,
						     &c, err, sizeof(err));
	snprintf(why, sizeof(why), "%s: %s", what, err);
	fetch_complete(f, rc, rc == BOT_OK ? &c : NULL, why);
	arena_free(&a);
}

static void http_done(void *arg, CURL *easy, CURLcode result)
{
	struct fetch *f = arg;
	long status = 0;
	char why[300], url[512], h1[200];
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(easy);
	f->easy = NULL;
	const char *what = f->p->kind == CK_ECS ? "ECS container credentials" : "EC2 IMDSv2";
	if (result != CURLE_OK || status != 200) {
		if (result != CURLE_OK)
			snprintf(why, sizeof(why), "%s: %s", what, curl_easy_strerror(result));
		else
			snprintf(why, sizeof(why), "%s: HTTP %ld", what, status);
		fetch_complete(f, BOT_EAUTH, NULL, why);
		return;
	}
	if (f->p->kind == CK_ECS) {
		finish_json(f, what);
		return;
	}
	/* IMDSv2: token, then role name, then the role's credentials */
	switch (f->step) {
	case 0:
		snprintf(f->imds_token, sizeof(f->imds_token), "%s", f->resp.p ? f->resp.p : "");
		log_add_secret(f->imds_token);
		f->step = 1;
		snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/",
			 f->p->url);
		snprintf(h1, sizeof(h1), "X-aws-ec2-metadata-token: %s", f->imds_token);
		if (http_start(f, "GET", url, h1, NULL) != 0)
			fetch_complete(f, BOT_ENOMEM, NULL, "cannot start the IMDS request");
		return;
	case 1: {
		const char *r = f->resp.p ? f->resp.p : "";
		size_t n = strcspn(r, "\r\n");
		if (n == 0 || n >= sizeof(f->imds_role) || strchr(r, '/')) {
			fetch_complete(f, BOT_EAUTH, NULL, "EC2 IMDSv2: no instance role");
			return;
		}
		memcpy(f->imds_role, r, n);
		f->imds_role[n] = '\0';
		f->step = 2;
		snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/%s",
			 f->p->url, f->imds_role);
		snprintf(h1, sizeof(h1), "X-aws-ec2-metadata-token: %s", f->imds_token);
		if (http_start(f, "GET", url, h1, NULL) != 0)
			fetch_complete(f, BOT_ENOMEM, NULL, "cannot start the IMDS request");
		return;
	}
	default: finish_json(f, what); return;
	}
}

/* credential_process: a child whose stdout we read without blocking. */
static void process_check(void *arg);

static void process_finish(struct fetch *f, int status)
{
	char why[300];
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(why, sizeof(why), "credential_process exited with status %d",
			 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		fetch_complete(f, BOT_EAUTH, NULL, why);
		return;
	}
	finish_json(f, "credential_process");
}

static void process_readable(void *arg, int fd, short revents)
{
	struct fetch *f = arg;
	char buf[4096];
	(void)revents;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			if (f->resp.len + (size_t)n > CRED_BODY_MAX) {
				f->eof = true;
				break;
			}
			buf_add(&f->resp, buf, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		f->eof = true;
		break;
	}
	loop_fd_remove(f->aws->loop, f->fd);
	close(f->fd);
	f->fd = -1;
	if (f->timer)
		loop_timer_cancel(f->aws->loop, f->timer);
	f->timer = NULL;
	process_check(f);
}

/* Reaps the child once its stdout is closed; polls with short timers so the
 * loop never waits in waitpid. */
static void process_check(void *arg)
{
	struct fetch *f = arg;
	int status = 0;
	f->timer = NULL;
	if (f->fd < 0) {
		pid_t r = waitpid(f->pid, &status, WNOHANG);
		if (r == f->pid) {
			f->pid = 0;
			process_finish(f, status);
			return;
		}
	}
	if (loop_now_ms() > f->deadline_ms) {
		fetch_complete(f, BOT_EAUTH, NULL, "credential_process timed out");
		return;
	}
	f->timer = loop_timer_add(f->aws->loop, f->fd < 0 ? 10 : 1000, process_check, f);
	if (!f->timer)
		fetch_complete(f, BOT_ENOMEM, NULL, "out of memory");
}

static void process_start(struct fetch *f)
{
	int fds[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	char *argv[] = { (char *)"/bin/sh", (char *)"-c", f->p->command, NULL };
	if (pipe2(fds, O_CLOEXEC) != 0) {
		fetch_complete(f, BOT_EIO, NULL, "credential_process: pipe failed");
		return;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	int err = posix_spawn(&f->pid, "/bin/sh", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (err != 0) {
		close(fds[0]);
		f->pid = 0;
		fetch_complete(f, BOT_EIO, NULL, "credential_process: cannot start /bin/sh");
		return;
	}
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
	f->fd = fds[0];
	f->deadline_ms = loop_now_ms() + PROCESS_TIMEOUT_MS;
	if (loop_fd_add(f->aws->loop, f->fd, POLLIN, process_readable, f) != 0) {
		fetch_complete(f, BOT_EIO, NULL, "credential_process: too many watched fds");
		return;
	}
	f->timer = loop_timer_add(f->aws->loop, 1000, process_check, f);
}

static void fetch_begin(void *arg)
{
	struct fetch *f = arg;
	char url[1024], h1[600];
	f->timer = NULL;
	switch (f->p->kind) {
	case CK_STATIC: {
		struct aws_cred_fields c = { .access_key = f->p->stat.access_key,
					     .secret_key = f->p->stat.secret_key,
					     .token = f->p->stat.token ? f->p->stat.token : "" };
		fetch_complete(f, BOT_OK, &c, "");
		return;
	}
	case CK_ASSUME_ROLE:
		if (!f->p->source) {
			sts_cred_call(f, NULL);
			return;
		}
		f->child = creds_fetch_start(f->aws, f->p->source, source_done, f);
		if (!f->child)
			fetch_complete(f, BOT_ENOMEM, NULL, "out of memory");
		return;
	case CK_WEB_IDENTITY: {
		char *tok = read_small_file(f->p->token_file);
		if (!tok || !*tok) {
			snprintf(h1, sizeof(h1), "web identity token file %s unreadable or empty",
				 f->p->token_file);
			free(tok);
			fetch_complete(f, BOT_EAUTH, NULL, h1);
			return;
		}
		log_add_secret(tok);
		sts_cred_call(f, tok);
		free(tok);
		return;
	}
	case CK_PROCESS: process_start(f); return;
	case CK_ECS: {
		char *tok = f->p->auth_token_file ? read_small_file(f->p->auth_token_file) : NULL;
		const char *t = tok ? tok : f->p->auth_token;
		h1[0] = '\0';
		if (t) {
			log_add_secret(t);
			snprintf(h1, sizeof(h1), "Authorization: %s", t);
		}
		int r = http_start(f, "GET", f->p->url, t ? h1 : NULL, NULL);
		free(tok);
		if (r != 0)
			fetch_complete(f, BOT_ENOMEM, NULL, "cannot start the ECS request");
		return;
	}
	case CK_IMDS:
		snprintf(url, sizeof(url), "%s/latest/api/token", f->p->url);
		if (http_start(f, "PUT", url, "X-aws-ec2-metadata-token-ttl-seconds: 21600",
			       NULL) != 0)
			fetch_complete(f, BOT_ENOMEM, NULL, "cannot start the IMDS request");
		return;
	}
}

/* Starts fetching p; done runs later from the loop (never inside this
 * call). Returns NULL on allocation failure (done is not called). */
struct fetch *creds_fetch_start(struct aws *aws, struct cred_provider *p, fetch_done_fn done,
				void *arg)
{
	struct cred_state *st = aws->cred;
	struct fetch *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->aws = aws;
	f->p = p;
	f->done = done;
	f->done_arg = arg;
	f->fd = -1;
	f->timer = loop_timer_add(aws->loop, 0, fetch_begin, f);
	if (!f->timer) {
		free(f);
		return NULL;
	}
	f->next = st->fetches;
	if (st->fetches)
		st->fetches->prev = f;
	st->fetches = f;
	return f;
}

void creds_fetch_free(struct fetch *f)
{
	struct aws *aws = f->aws;
	struct cred_state *st = aws->cred;
	if (f->prev)
		f->prev->next = f->next;
	else if (st->fetches == f)
		st->fetches = f->next;
	if (f->next)
		f->next->prev = f->prev;
	if (f->child) {
		f->child->done = NULL;
		creds_fetch_free(f->child);
	}
	if (f->sts) {
		f->sts->f = NULL;
		aws_op_abort(&f->sts->op);
	}
	if (f->easy) {
		loop_http_remove(aws->loop, f->easy);
		curl_easy_cleanup(f->easy);
	}
	curl_slist_free_all(f->hdrs);
	buf_free(&f->resp);
	if (f->timer)
		loop_timer_cancel(aws->loop, f->timer);
	if (f->fd >= 0) {
		loop_fd_remove(aws->loop, f->fd);
		close(f->fd);
	}
	if (f->pid > 0) {
		kill(f->pid, SIGKILL);
		waitpid(f->pid, NULL, 0); /* killed: returns at once */
	}
	creds_clear(&f->src);
	free(f);
}
