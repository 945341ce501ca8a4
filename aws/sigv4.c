/* SigV4 signing (see sigv4.h): canonical request, string to sign, and the
 * Authorization header, following the rules the AWS test suites pin down:
 * paths normalised (dot segments, repeated slashes) then URI-encoded once
 * more, query parameters decoded, re-encoded and sorted, header names
 * lower-cased, values trimmed with inner whitespace folded, duplicates joined
 * with ','. */
#include "sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws_internal.h"

#define SIGV4_MAX_HEADERS 64
#define SIGV4_MAX_QUERY   256

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Writes the lower-case hex SHA-256 of data into out[65]. */
static int sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return -1;
	hex_encode(md, 32, out);
	return 0;
}

static int hmac(const void *key, size_t keylen, const void *data, size_t len, unsigned char out[32])
{
	unsigned int outlen = 0;
	if (!HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &outlen) || outlen != 32)
		return -1;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..n) into b ('+' is kept: it is not a space in a URI
 * query, only in form bodies). */
static void pct_decode(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			char c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			buf_add(b, &c, 1);
			i += 2;
		} else { /* includes a dangling "%x": kept as is */
			buf_add(b, &s[i], 1);
		}
	}
}

/* Removes dot segments and collapses repeated slashes (RFC 3986 5.2.4 as the
 * AWS suites apply it); keeps a trailing slash. Result always starts with
 * '/'. */
static void normalize_path(struct buf *out, const char *path)
{
	const char *segs[256];
	size_t lens[256];
	size_t n = 0;
	const char *p = path;
	bool trailing = false;

	while (*p) {
		while (*p == '/')
			p++;
		const char *s = p;
		while (*p && *p != '/')
			p++;
		size_t len = (size_t)(p - s);
		trailing = (*p == '/' || len == 0);
		if (len == 0)
			continue;
		if (len == 1 && s[0] == '.') {
			trailing = true;
			continue;
		}
		if (len == 2 && s[0] == '.' && s[1] == '.') {
			if (n > 0)
				n--;
			trailing = true;
			continue;
		}
		if (n < 256) {
			segs[n] = s;
			lens[n] = len;
			n++;
		}
		trailing = (*p == '/');
	}
	buf_add(out, "/", 1);
	for (size_t i = 0; i < n; i++) {
		buf_add(out, segs[i], lens[i]);
		if (i + 1 < n || trailing)
			buf_add(out, "/", 1);
	}
}

struct qparam {
	char *key; /* encoded */
	char *value;
};

static int qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : strcmp(x->value, y->value);
}

/* Canonical query string: each key and value decoded then encoded with the
 * unreserved set only, sorted by key then value. */
static int canonical_query(struct buf *out, const char *query)
{
	struct qparam params[SIGV4_MAX_QUERY];
	size_t n = 0;
	int rc = -1;
	const char *p = query ? query : "";

	while (*p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		if (len > 0) {
			if (n == SIGV4_MAX_QUERY)
				goto out;
			const char *eq = memchr(p, '=', len);
			size_t klen = eq ? (size_t)(eq - p) : len;
			struct buf raw = { 0 }, enc = { 0 };
			pct_decode(&raw, p, klen);
			aws_uri_encode(&enc, raw.p ? raw.p : "", raw.len, false);
			params[n].key = buf_take(&enc);
			raw.len = 0;
			if (eq)
				pct_decode(&raw, eq + 1, len - klen - 1);
			aws_uri_encode(&enc, raw.p ? raw.p : "", raw.len, false);
			params[n].value = buf_take(&enc);
			buf_free(&raw);
			n++;
			if (!params[n - 1].key || !params[n - 1].value)
				goto out;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	qsort(params, n, sizeof(params[0]), qparam_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_add(out, "&", 1);
		buf_adds(out, params[i].key);
		buf_add(out, "=", 1);
		buf_adds(out, params[i].value);
	}
	rc = 0;
out:
	for (size_t i = 0; i < n; i++) {
		free(params[i].key);
		free(params[i].value);
	}
	return rc;
}

struct hdr {
	char *name; /* lower-case */
	const char *value;
	size_t order;
};

static int hdr_cmp(const void *a, const void *b)
{
	const struct hdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Appends value trimmed, with every run of whitespace folded to one space. */
static void add_header_value(struct buf *b, const char *v)
{
	bool pending_space = false, started = false;
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r') {
			pending_space = started;
			continue;
		}
		if (pending_space)
			buf_add(b, " ", 1);
		pending_space = false;
		started = true;
		buf_add(b, v, 1);
	}
}

void sigv4_amz_date(int64_t t, char buf[17])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static bool valid_amz_date(const char *d)
{
	if (strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
		return false;
	for (int i = 0; i < 15; i++)
		if (i != 8 && (d[i] < '0' || d[i] > '9'))
			return false;
	return true;
}

void sigv4_out_free(struct sigv4_out *out)
{
	if (!out)
		return;
	free(out->canonical_request);
	free(out->string_to_sign);
	free(out->authorization);
	memset(out, 0, sizeof(*out));
}

enum bot_rc sigv4_sign(const struct sigv4_req *req, struct sigv4_out *out)
{
	enum bot_rc rc = BOT_EINVAL;
	struct hdr hdrs[SIGV4_MAX_HEADERS];
	size_t nh = 0;
	struct buf creq = { 0 }, sts = { 0 }, auth = { 0 }, signed_names = { 0 }, path = { 0 };
	char hash[65], scope_date[9];
	unsigned char k1[32], k2[32], k3[32], k4[32], sig[32];
	char sighex[65];
	char *kinit = NULL;
	size_t klen = 0;

	memset(out, 0, sizeof(*out));
	if (!req->method || !req->path || !req->region || !req->service || !req->amz_date ||
	    !req->access_key || !req->secret_key || !valid_amz_date(req->amz_date) ||
	    req->n_headers > SIGV4_MAX_HEADERS || (req->body_len && !req->body))
		goto out;
	memcpy(scope_date, req->amz_date, 8);
	scope_date[8] = '\0';

	rc = BOT_ENOMEM;
	for (size_t i = 0; i < req->n_headers; i++) {
		const char *name = req->headers[i].name;
		size_t len = strlen(name);
		hdrs[nh].name = malloc(len + 1);
		if (!hdrs[nh].name)
			goto out;
		for (size_t j = 0; j <= len; j++) {
			char c = name[j];
			hdrs[nh].name[j] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
		}
		hdrs[nh].value = req->headers[i].value ? req->headers[i].value : "";
		hdrs[nh].order = i;
		nh++;
	}
	qsort(hdrs, nh, sizeof(hdrs[0]), hdr_cmp);

	/* Canonical request */
	buf_adds(&creq, req->method);
	buf_add(&creq, "\n", 1);
	normalize_path(&path, req->path);
	aws_uri_encode(&creq, path.p ? path.p : "/", path.len, true);
	buf_add(&creq, "\n", 1);
	if (canonical_query(&creq, req->query) != 0) {
		rc = BOT_EINVAL;
		goto out;
	}
	buf_add(&creq, "\n", 1);
	for (size_t i = 0; i < nh; i++) {
		bool dup = i > 0 && strcmp(hdrs[i].name, hdrs[i - 1].name) == 0;
		if (dup) {
			buf_add(&creq, ",", 1);
		} else {
			if (i > 0)
				buf_add(&creq, "\n", 1);
			buf_adds(&creq, hdrs[i].name);
			buf_add(&creq, ":", 1);
			if (signed_names.len)
				buf_add(&signed_names, ";", 1);
			buf_adds(&signed_names, hdrs[i].name);
		}
		add_header_value(&creq, hdrs[i].value);
	}
	buf_add(&creq, "\n\n", 2);
	buf_add(&creq, signed_names.p ? signed_names.p : "", signed_names.len);
	buf_add(&creq, "\n", 1);
	if (sha256_hex(req->body ? req->body : "", req->body_len, hash) != 0)
		goto out;
	buf_adds(&creq, hash);
	if (creq.oom || signed_names.oom || path.oom)
		goto out;

	/* String to sign */
	if (sha256_hex(creq.p, creq.len, hash) != 0)
		goto out;
	buf_addf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", req->amz_date, scope_date,
		 req->region, req->service, hash);

	/* Signing key and signature */
	klen = strlen(req->secret_key) + 4;
	kinit = malloc(klen + 1);
	if (!kinit || sts.oom)
		goto out;
	memcpy(kinit, "AWS4", 4);
	memcpy(kinit + 4, req->secret_key, klen - 4 + 1);
	if (hmac(kinit, klen, scope_date, 8, k1) ||
	    hmac(k1, 32, req->region, strlen(req->region), k2) ||
	    hmac(k2, 32, req->service, strlen(req->service), k3) ||
	    hmac(k3, 32, "aws4_request", 12, k4) || hmac(k4, 32, sts.p, sts.len, sig))
		goto out;
	hex_encode(sig, 32, sighex);
	buf_addf(&auth,
		 "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
		 "Signature=%s",
		 req->access_key, scope_date, req->region, req->service,
		 signed_names.p ? signed_names.p : "", sighex);
	if (auth.oom)
		goto out;

	out->canonical_request = buf_take(&creq);
	out->string_to_sign = buf_take(&sts);
	out->authorization = buf_take(&auth);
	rc = BOT_OK;
out:
	if (kinit) {
		OPENSSL_cleanse(kinit, klen);
		free(kinit);
	}
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k4, sizeof(k4));
	for (size_t i = 0; i < nh; i++)
		free(hdrs[i].name);
	buf_free(&creq);
	buf_free(&sts);
	buf_free(&auth);
	buf_free(&signed_names);
	buf_free(&path);
	return rc;
}
