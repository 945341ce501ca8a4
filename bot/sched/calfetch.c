/* One calendar fetch (calfetch.h): a file read at once, or a GET on the
 * loop's curl multi handle, both ending in ical_days. A file's answer waits
 * for a zero-delay timer so that done never runs inside calfetch_start, the
 * same as a URL's. */
#include "calfetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/buf.h"
#include "../core/url.h"
#include "../time/ical.h"
#include "envbot_version.h"

enum bot_rc calfetch_parse(const char *text, size_t len, ymd_t today, struct state_cal_day **days,
			   size_t *n, char *err, size_t errlen)
{
	struct ical_day *v = NULL;
	size_t k = 0;
	*days = NULL;
	*n = 0;
	enum bot_rc rc = ical_days(text, len, when_add_days(today, -CALFETCH_DAYS_BEFORE),
				   when_add_days(today, CALFETCH_DAYS_AFTER), &v, &k, err, errlen);
	if (rc != BOT_OK)
		return rc;
	if (k > STATE_CAL_DAYS_MAX)
		k = STATE_CAL_DAYS_MAX; /* cannot happen: the range is shorter */
	struct state_cal_day *out = k ? malloc(k * sizeof(*out)) : NULL;
	if (k && !out) {
		free(v);
		snprintf(err, errlen, "out of memory");
		return BOT_ENOMEM;
	}
	for (size_t i = 0; i < k; i++) {
		out[i].date = v[i].date;
		/* both are 128 bytes, cut at a character boundary by ical.c */
		snprintf(out[i].summary, sizeof(out[i].summary), "%s", v[i].summary);
	}
	free(v);
	*days = out;
	*n = k;
	return BOT_OK;
}

enum bot_rc calfetch_file(const char *path, ymd_t today, struct state_cal_day **days, size_t *n,
			  char *err, size_t errlen)
{
	struct stat sb;
	*days = NULL;
	*n = 0;
	/* O_NONBLOCK: a FIFO put in the file's place must not hang the loop
	 * in open(); a regular file reads the same either way. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return BOT_EIO;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		close(fd);
		return BOT_EIO;
	}
	if ((uint64_t)sb.st_size > CALFETCH_MAX_BYTES) {
		snprintf(err, errlen, "%s is larger than %zu MiB", path, CALFETCH_MAX_BYTES >> 20);
		close(fd);
		return BOT_EIO;
	}
	/* Read to the end, not to st_size: a file that grows meanwhile is
	 * still capped. */
	char *text = malloc(CALFETCH_MAX_BYTES + 1);
	size_t len = 0;
	ssize_t r = 0;
	while (text && len <= CALFETCH_MAX_BYTES &&
	       (r = read(fd, text + len, CALFETCH_MAX_BYTES + 1 - len)) > 0)
		len += (size_t)r;
	int read_errno = errno;
	close(fd);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		return BOT_ENOMEM;
	}
	enum bot_rc rc = BOT_EIO;
	if (r < 0)
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(read_errno));
	else if (len > CALFETCH_MAX_BYTES)
		snprintf(err, errlen, "%s is larger than %zu MiB", path, CALFETCH_MAX_BYTES >> 20);
	else
		rc = calfetch_parse(text, len, today, days, n, err, errlen);
	free(text);
	return rc;
}

/* ---- on the loop ---- */

struct calfetch {
	struct loop *loop;
	char *source; /* copied: a SIGHUP may retire the config */
	ymd_t today;
	calfetch_fn done;
	void *arg;
	struct loop_timer *timer; /* a file: the answer's turn */
	CURL *easy;               /* a URL in flight */
	struct buf body;
	bool too_big;
	char errbuf[CURL_ERROR_SIZE];
};

static void fetch_free(struct calfetch *f)
{
	if (f->easy)
		curl_easy_cleanup(f->easy);
	buf_free(&f->body);
	free(f->source);
	free(f);
}

/* Parses what came (text NULL: r already says why it failed) and answers. */
static void answer(struct calfetch *f, const char *text, size_t len, struct calfetch_result *r)
{
	struct state_cal_day *days = NULL;
	size_t n = 0;
	if (text) {
		r->rc = calfetch_parse(text, len, f->today, &days, &n, r->error, sizeof(r->error));
		r->days = days;
		r->n_days = n;
	}
	f->done(f->arg, r);
	free(days);
	fetch_free(f);
}

static void file_turn(void *arg)
{
	struct calfetch *f = arg;
	struct calfetch_result r = { 0 };
	struct state_cal_day *days = NULL;
	size_t n = 0;
	f->timer = NULL;
	r.rc = calfetch_file(f->source, f->today, &days, &n, r.error, sizeof(r.error));
	r.days = days;
	r.n_days = n;
	f->done(f->arg, &r);
	free(days);
	fetch_free(f);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct calfetch *f = arg;
	size_t got = size * n;
	if (f->body.len + got > CALFETCH_MAX_BYTES) {
		f->too_big = true;
		return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
	}
	buf_add(&f->body, p, got);
	return f->body.oom ? 0 : got;
}

static void url_done(void *arg, CURL *easy, CURLcode result)
{
	struct calfetch *f = arg;
	struct calfetch_result r = { .rc = BOT_EIO };
	long status = 0;
	(void)easy;
	curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
	if (f->too_big || result == CURLE_FILESIZE_EXCEEDED)
		snprintf(r.error, sizeof(r.error), "the answer is larger than %zu MiB",
			 CALFETCH_MAX_BYTES >> 20);
	else if (f->body.oom)
		snprintf(r.error, sizeof(r.error), "out of memory");
	else if (result != CURLE_OK)
		snprintf(r.error, sizeof(r.error), "%s",
			 f->errbuf[0] ? f->errbuf : curl_easy_strerror(result));
	else if (status != 200)
		snprintf(r.error, sizeof(r.error), "HTTP %ld", status);
	else {
		answer(f, f->body.p ? f->body.p : "", f->body.len, &r);
		return;
	}
	answer(f, NULL, 0, &r);
}

static bool url_setup(struct calfetch *f, const char *ca_file)
{
	CURL *c = f->easy = curl_easy_init();
	if (!c)
		return false;
	/* Plain http only where the config allowed it (loopback, url.c's
	 * policy); a redirect may go to https only, wherever it came from. */
	const char *protocols = url_is_loopback(f->source) ? "http,https" : "https";
	bool ok = curl_easy_setopt(c, CURLOPT_URL, f->source) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https") == CURLE_OK;
	if (!ok)
		return false;
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, CALFETCH_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CALFETCH_MAX_BYTES);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "envbot/" ENVBOT_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, f->errbuf);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
	return true;
}

struct calfetch *calfetch_start(struct loop *loop, const struct cfg_calendar *cal, ymd_t today,
				const char *ca_file, calfetch_fn done, void *arg)
{
	struct calfetch *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	*f = (struct calfetch){ .loop = loop, .today = today, .done = done, .arg = arg };
	if (!(f->source = strdup(cal->source)))
		goto fail;
	if (!cal->is_url) {
		if (!(f->timer = loop_timer_add(loop, 0, file_turn, f)))
			goto fail;
		return f;
	}
	if (!url_setup(f, ca_file) || loop_http_add(loop, f->easy, url_done, f) != 0)
		goto fail;
	return f;
fail:
	fetch_free(f);
	return NULL;
}

void calfetch_cancel(struct calfetch *f)
{
	if (!f)
		return;
	loop_timer_cancel(f->loop, f->timer);
	if (f->easy)
		loop_http_remove(f->loop, f->easy);
	fetch_free(f);
}
