/* The URL policy (url.h) on libcurl's CURLU parser: one parser decides both
 * what the host is and, for libcurl's own transfers, where they connect, so
 * a check and a connection can never disagree about userinfo, fragments or
 * odd escapes. */
#include "url.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

/* Sets *scheme (lowercased) and *host to new strings the caller frees with
 * curl_free, and returns true; false (both NULL) when url does not parse or
 * names no host. */
static bool url_split(const char *url, char **scheme, char **host)
{
	*scheme = *host = NULL;
	CURLU *u = curl_url();
	bool ok = u && curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
		  curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
		  curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK && **host;
	curl_url_cleanup(u);
	if (!ok) {
		curl_free(*scheme);
		curl_free(*host);
		*scheme = *host = NULL;
	}
	return ok;
}

bool url_host_is_loopback(const char *host)
{
	char buf[INET6_ADDRSTRLEN + 2];
	if (!host)
		return false;
	size_t n = strlen(host);
	/* curl gives IPv6 hosts in brackets; inet_pton wants them bare. */
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		if (n - 2 >= sizeof(buf))
			return false;
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		host = buf;
	}
	if (strcasecmp(host, "localhost") == 0)
		return true;
	struct in_addr a4;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	struct in6_addr a6;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

bool url_parts(const char *url, char *scheme, size_t scheme_len, char *host, size_t host_len)
{
	char *s, *h;
	if (!url || !url_split(url, &s, &h))
		return false;
	bool ok = strlen(s) < scheme_len && strlen(h) < host_len;
	if (ok) {
		memcpy(scheme, s, strlen(s) + 1);
		memcpy(host, h, strlen(h) + 1);
	}
	curl_free(s);
	curl_free(h);
	return ok;
}

bool url_is_loopback(const char *url)
{
	char *scheme, *host;
	if (!url || !url_split(url, &scheme, &host))
		return false;
	bool lo = url_host_is_loopback(host);
	curl_free(scheme);
	curl_free(host);
	return lo;
}

bool url_allowed(const char *url, unsigned schemes)
{
	char *scheme, *host;
	if (!url || !url_split(url, &scheme, &host))
		return false;
	bool ok = false;
	if (((schemes & URL_HTTP) && strcmp(scheme, "https") == 0) ||
	    ((schemes & URL_WS) && strcmp(scheme, "wss") == 0))
		ok = true;
	else if (((schemes & URL_HTTP) && strcmp(scheme, "http") == 0) ||
		 ((schemes & URL_WS) && strcmp(scheme, "ws") == 0))
		ok = url_host_is_loopback(host);
	curl_free(scheme);
	curl_free(host);
	return ok;
}
