/* Small building blocks of the AWS module: the arena that holds decoded
 * results, growable arrays, percent-encoding and form bodies, and the
 * endpoint resolution rules. */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bot/core/url.h"
#include "aws_internal.h"

void aws_uri_encode(struct buf *b, const char *s, size_t n, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
			buf_add(b, &s[i], 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			buf_add(b, e, 3);
		}
	}
}

void aws_form_add(struct buf *b, const char *key, const char *value)
{
	if (!value)
		return;
	if (b->len)
		buf_add(b, "&", 1);
	aws_uri_encode(b, key, strlen(key), false);
	buf_add(b, "=", 1);
	aws_uri_encode(b, value, strlen(value), false);
}

void aws_form_addk(struct buf *b, const char *value, const char *keyfmt, ...)
{
	char key[256];
	va_list ap;
	if (!value)
		return;
	va_start(ap, keyfmt);
	int n = vsnprintf(key, sizeof(key), keyfmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(key)) {
		b->oom = true; /* keys are ours and short; treat as a bug-sized failure */
		return;
	}
	aws_form_add(b, key, value);
}

/* ---- arena ---- */

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

#define ARENA_CHUNK 8192

void *arena_alloc(struct arena *a, size_t n)
{
	size_t align = sizeof(max_align_t);
	n = (n + align - 1) / align * align;
	if (n == 0)
		n = align;
	struct arena_chunk *c = a->head;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		if (a->total + cap > ARENA_MAX)
			return NULL;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		/* a big one-off block goes behind the current chunk so the
		 * current chunk's free space is not lost */
		if (a->head && cap > ARENA_CHUNK) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
		a->total += cap;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	if (!s)
		s = "";
	return arena_strndup(a, s, strlen(s));
}

void arena_free(struct arena *a)
{
	struct arena_chunk *c = a->head;
	while (c) {
		struct arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->total = 0;
}

void *vec_push(struct vec *v)
{
	if (v->max && v->n >= v->max)
		return NULL;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		void *p = realloc(v->v, cap * v->size);
		if (!p)
			return NULL;
		v->v = p;
		v->cap = cap;
	}
	void *slot = (char *)v->v + v->n * v->size;
	memset(slot, 0, v->size);
	v->n++;
	return slot;
}

void vec_free(struct vec *v)
{
	free(v->v);
	v->v = NULL;
	v->n = v->cap = 0;
}

/* ---- endpoints ---- */

static const struct {
	const char *env_id;    /* AWS_ENDPOINT_URL_<env_id> */
	const char *host_part; /* regional host prefix */
} endpoint_table[AWS_SERVICE_COUNT] = {
	[AWS_CFN] = { "CLOUDFORMATION", "cloudformation" },
	[AWS_ECR] = { "ECR", "api.ecr" },
	[AWS_EC2] = { "EC2", "ec2" },
	[AWS_STS] = { "STS", "sts" },
	[AWS_ASG] = { "AUTO_SCALING", "autoscaling" },
	[AWS_ECS] = { "ECS", "ecs" },
	[AWS_APPAS] = { "APPLICATION_AUTO_SCALING", "application-autoscaling" },
	[AWS_RDS] = { "RDS", "rds" },
	[AWS_DDB] = { "DYNAMODB", "dynamodb" },
	[AWS_SNS] = { "SNS", "sns" },
	[AWS_EVENTS] = { "EVENTBRIDGE", "events" },
	[AWS_CE] = { "COST_EXPLORER", "ce" },
};

char *aws_resolve_endpoint(enum aws_service svc, const char *region, const char *cfg_url, char *err,
			   size_t errlen)
{
	char name[64];
	const char *url = NULL, *from = NULL;
	const char *ignore = getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	bool use_overrides = !(ignore && strcasecmp(ignore, "true") == 0);

	if ((unsigned)svc >= AWS_SERVICE_COUNT) {
		snprintf(err, errlen, "unknown AWS service");
		return NULL;
	}
	snprintf(name, sizeof(name), "AWS_ENDPOINT_URL_%s", endpoint_table[svc].env_id);
	if (use_overrides && getenv(name) && *getenv(name)) {
		url = getenv(name);
		from = name;
	} else if (use_overrides && getenv("AWS_ENDPOINT_URL") && *getenv("AWS_ENDPOINT_URL")) {
		url = getenv("AWS_ENDPOINT_URL");
		from = "AWS_ENDPOINT_URL";
	} else if (cfg_url && *cfg_url) {
		url = cfg_url;
		from = "aws.endpoint_url";
	}
	if (url) {
		/* https:// to anywhere, http:// only to loopback (CONTRACT.md). */
		if (!url_allowed(url, URL_HTTP)) {
			snprintf(err, errlen,
				 "%s: \"%s\" must be https://, or http:// to a loopback host", from,
				 url);
			return NULL;
		}
		size_t n = strlen(url);
		while (n > 0 && url[n - 1] == '/')
			n--;
		char *s = strndup(url, n);
		if (!s)
			snprintf(err, errlen, "out of memory");
		return s;
	}
	if (!region || !*region) {
		snprintf(err, errlen, "no AWS region (aws.region, AWS_REGION)");
		return NULL;
	}
	for (const char *p = region; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) {
			snprintf(err, errlen, "invalid AWS region \"%s\"", region);
			return NULL;
		}
	}
	struct buf b = { 0 };
	buf_addf(&b, "https://%s.%s.%s", endpoint_table[svc].host_part, region,
		 strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com");
	char *s = buf_take(&b);
	if (!s)
		snprintf(err, errlen, "out of memory");
	return s;
}
