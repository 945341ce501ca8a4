/* Unit tests of bot/core's policies: the URL policy (url.c: the host judged
 * is the one curl would connect to), the backoff shape (backoff.c) and the
 * random source (rand.c). */
#include "../../bot/core/backoff.h"
#include "../../bot/core/rand.h"
#include "../../bot/core/url.h"
#include "check.h"

#include <math.h>

static void test_tricks_refused(void)
{
	/* userinfo and look-alike hosts: the host is evil.example */
	static const char *const evil[] = {
		"ws://127.0.0.1@evil.example/",
		"ws://localhost.evil.example/",
		"ws://127.0.0.1.evil.example/",
		"ws://[::1]@evil.example/",
		"ws://localhost:1@evil.example/",
		"ws://evil.example/#@127.0.0.1",
		"ws://evil.example/?@localhost",
		"http://127.0.0.1@evil.example/",
		"http://localhost.evil.example/",
		"http://127.0.0.1.evil.example/",
		"http://user:pass@evil.example/127.0.0.1",
		"http://evil.example/#@127.0.0.1",
		"http://128.0.0.1/",
		"http://10.0.0.5:5000",
		"http://[::2]/",
		"http://[::ffff:127.0.0.1]/", /* v4-mapped: not ::1 */
		"ws://gateway.discord.gg/",
		"http://discord.com/api",
	};
	for (size_t i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		if (url_allowed(evil[i], URL_HTTP | URL_WS) || url_is_loopback(evil[i])) {
			fprintf(stderr, "accepted: %s\n", evil[i]);
			CHECK(0);
		} else {
			CHECK(1);
		}
	}
}

static void test_loopback_allowed(void)
{
	static const char *const ok_ws[] = {
		"ws://127.0.0.1:4000/gateway",
		"ws://127.0.0.1",
		"ws://127.8.9.10:1/",
		"ws://[::1]:9000/",
		"ws://[::1]",
		"ws://localhost/",
		"ws://LOCALHOST:80/?v=10",
		"WS://127.0.0.1:5/",
		"ws://user@127.0.0.1:5/", /* userinfo before a loopback host is harmless */
	};
	for (size_t i = 0; i < sizeof(ok_ws) / sizeof(ok_ws[0]); i++) {
		CHECK(url_allowed(ok_ws[i], URL_WS));
		CHECK(url_is_loopback(ok_ws[i]));
		CHECK(!url_allowed(ok_ws[i], URL_HTTP)); /* wrong family */
	}
	static const char *const ok_http[] = {
		"http://127.0.0.1:5000",     "http://127.0.0.1:5000/api/v10", "http://[::1]:9000/",
		"http://localhost:8080/api", "HTTP://LOCALHOST:8080/api",
	};
	for (size_t i = 0; i < sizeof(ok_http) / sizeof(ok_http[0]); i++) {
		CHECK(url_allowed(ok_http[i], URL_HTTP));
		CHECK(url_is_loopback(ok_http[i]));
		CHECK(!url_allowed(ok_http[i], URL_WS));
	}
}

static void test_tls_anywhere(void)
{
	CHECK(url_allowed("https://discord.com/api/v10", URL_HTTP));
	CHECK(url_allowed("HTTPS://discord.com/", URL_HTTP));
	CHECK(url_allowed("https://127.0.0.1:8443/", URL_HTTP));
	CHECK(url_allowed("https://127.0.0.1@evil.example/", URL_HTTP)); /* TLS: any host */
	CHECK(url_allowed("wss://gateway.discord.gg/?v=10", URL_WS));
	CHECK(url_allowed("wss://gateway.discord.gg", URL_WS));
	CHECK(url_allowed("wss://gateway-us-east1-b.discord.gg", URL_WS));
	CHECK(!url_allowed("wss://gateway.discord.gg", URL_HTTP));
	CHECK(!url_allowed("https://discord.com/", URL_WS));
	CHECK(!url_is_loopback("https://discord.com/"));
	CHECK(url_is_loopback("https://127.0.0.1:8443/"));
}

static void test_malformed(void)
{
	static const char *const bad[] = {
		"",
		"http://",
		"ws://",
		"wss://",
		"discord.com/api",
		"ftp://127.0.0.1/",
		"file:///etc/passwd",
		"gopher://localhost/",
		"127.0.0.1:80",
		"ws//127.0.0.1/",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!url_allowed(bad[i], URL_HTTP | URL_WS));
	CHECK(!url_allowed(NULL, URL_HTTP | URL_WS));
	CHECK(!url_allowed("https://discord.com/", 0));
	CHECK(!url_is_loopback(NULL));
	CHECK(!url_is_loopback(""));
}

static void test_host(void)
{
	CHECK(url_host_is_loopback("127.0.0.1"));
	CHECK(url_host_is_loopback("127.255.255.254"));
	CHECK(url_host_is_loopback("localhost"));
	CHECK(url_host_is_loopback("::1"));
	CHECK(url_host_is_loopback("[::1]"));
	CHECK(!url_host_is_loopback("127.0.0.1@evil.example"));
	CHECK(!url_host_is_loopback("localhost.evil.example"));
	CHECK(!url_host_is_loopback("126.0.0.1"));
	CHECK(!url_host_is_loopback("[::1"));
	CHECK(!url_host_is_loopback(""));
	CHECK(!url_host_is_loopback(NULL));
}

static void test_parts(void)
{
	char scheme[8], host[64];
	CHECK(url_parts("HTTP://169.254.170.2:80/creds", scheme, sizeof(scheme), host,
			sizeof(host)));
	CHECK_STR(scheme, "http");
	CHECK_STR(host, "169.254.170.2");
	CHECK(url_parts("http://169.254.170.2:@evil.example/", scheme, sizeof(scheme), host,
			sizeof(host)));
	CHECK_STR(host, "evil.example");
	CHECK(url_parts("http://[fd00:ec2::23]/", scheme, sizeof(scheme), host, sizeof(host)));
	CHECK_STR(host, "[fd00:ec2::23]");
	CHECK(!url_parts("http://averyveryverylonghostname.example/", scheme, sizeof(scheme), host,
			 8));
	CHECK(!url_parts("https://x/", scheme, 5, host, sizeof(host))); /* "https" needs 6 */
	CHECK(!url_parts("nope", scheme, sizeof(scheme), host, sizeof(host)));
	CHECK(!url_parts(NULL, scheme, sizeof(scheme), host, sizeof(host)));
}

static void test_backoff(void)
{
	static const uint32_t t[] = { 100, 1000, 5000 };
	const struct backoff add = { .table_ms = t, .count = BACKOFF_COUNT(t), .jitter_pct = 20 };
	CHECK_INT(backoff_ms(&add, 0, 0.0), 100);
	CHECK_INT(backoff_ms(&add, 1, 0.0), 1000);
	CHECK_INT(backoff_ms(&add, 2, 0.0), 5000);
	CHECK_INT(backoff_ms(&add, 3, 0.0), 5000); /* the last repeats */
	CHECK_INT(backoff_ms(&add, 1000000, 0.0), 5000);
	CHECK_INT(backoff_ms(&add, 1, 0.5), 1100);
	CHECK(backoff_ms(&add, 1, 0.999999) <= 1200);
	CHECK(backoff_ms(&add, 1, 0.999999) >= 1199);
	CHECK_INT(backoff_ms(&add, 1, -0.5), 1000); /* bad rnd: no jitter */
	CHECK_INT(backoff_ms(&add, 1, 1.0), 1000);
	CHECK_INT(backoff_ms(&add, 1, NAN), 1000);

	const struct backoff none = { .table_ms = t, .count = BACKOFF_COUNT(t) };
	CHECK_INT(backoff_ms(&none, 1, 0.9), 1000);

	const struct backoff full = { .table_ms = t,
				      .count = BACKOFF_COUNT(t),
				      .full_jitter = true };
	CHECK_INT(backoff_ms(&full, 1, 0.0), 0);
	CHECK_INT(backoff_ms(&full, 1, 0.5), 500);
	CHECK_INT(backoff_ms(&full, 9, 0.25), 1250);
	CHECK(backoff_ms(&full, 2, 0.999999) < 5000);
	CHECK_INT(backoff_ms(&full, 1, 2.0), 0);

	const struct backoff empty = { 0 };
	CHECK_INT(backoff_ms(&empty, 0, 0.5), 0);
	CHECK_INT(backoff_ms(NULL, 0, 0.5), 0);
}

static void test_rand(void)
{
	double lo = 1.0, hi = 0.0, sum = 0.0;
	for (int i = 0; i < 10000; i++) {
		double r = rand_unit();
		CHECK_INT(r >= 0.0 && r < 1.0, 1);
		lo = r < lo ? r : lo;
		hi = r > hi ? r : hi;
		sum += r;
	}
	CHECK(lo < 0.01 && hi > 0.99);
	CHECK(sum / 10000.0 > 0.45 && sum / 10000.0 < 0.55);
	unsigned char a[16] = { 0 }, b[16] = { 0 }, z[16] = { 0 };
	rand_bytes(a, sizeof(a));
	rand_bytes(b, sizeof(b));
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	CHECK(memcmp(a, z, sizeof(a)) != 0);
	rand_bytes(NULL, 0);
	CHECK(rand_u64() != rand_u64());
}

int main(void)
{
	test_tricks_refused();
	test_loopback_allowed();
	test_tls_anywhere();
	test_malformed();
	test_host();
	test_parts();
	test_backoff();
	test_rand();
	return check_done();
}
