/* Control of the fault-injecting fake (tests/fakes/fake_aws.py) for the C
 * end-to-end tests: blocking curl calls (test code, not the loop) to
 * BASE/_fake/PATH. Each test sets base from its argv. */
#ifndef ENVBOT_TESTS_FAKE_CTL_H
#define ENVBOT_TESTS_FAKE_CTL_H

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../bot/core/buf.h"

static const char *base;

static size_t sink(char *d, size_t s, size_t n, void *arg)
{
	buf_add(arg, d, s * n);
	return s * n;
}

static char *ctl(const char *path, const char *json)
{
	char url[512];
	struct buf out = { 0 };
	snprintf(url, sizeof(url), "%s/_fake/%s", base, path);
	CURL *e = curl_easy_init();
	curl_easy_setopt(e, CURLOPT_URL, url);
	if (json)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &out);
	CURLcode rc = curl_easy_perform(e);
	curl_easy_cleanup(e);
	if (rc != CURLE_OK)
		fprintf(stderr, "control %s failed: %s\n", path, curl_easy_strerror(rc));
	return buf_take(&out);
}

static void ctlv(const char *path, const char *json)
{
	free(ctl(path, json));
}

#endif
