/* The health listener: a minimal HTTP/1.1 responder on the event loop.
 *
 * Why hand-written: it serves two GET paths to a scraper on loopback, one
 * bounded request per connection, "Connection: close". libmicrohttpd would
 * add a dependency and its own thread (metrics and status would then need
 * locking across threads for no gain); libcurl is client-only; lws can serve
 * HTTP, but its context runs on the gateway thread and a server vhost there
 * would tie /healthz to the very connection it is meant to watch. What is
 * left to write is a request-line parser over a fixed 4 KiB buffer. */
#include "health.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/log.h"

/* A scraper's GET fits in a few hundred bytes; anything that does not end its
 * headers within this is dropped, not answered. */
#define HEALTH_MAX_REQUEST 4096
/* Concurrent connections; the loop watches at most 16 fds in all, and one
 * Prometheus plus one health checker need two. Extra ones are closed. */
#define HEALTH_MAX_CONNS       4
#define HEALTH_IDLE_TIMEOUT_MS 5000
/* Accepts handled per readiness callback, so a flood cannot starve the loop. */
#define HEALTH_ACCEPT_BURST 8

struct conn {
	struct health *h;
	int fd;
	char in[HEALTH_MAX_REQUEST];
	size_t in_len;
	char *out; /* the whole response, once the request is complete */
	size_t out_len, out_off;
	struct loop_timer *timer; /* idle deadline; NULL once fired */
	struct conn *next;
};

struct health {
	struct loop *loop;
	int fd;
	int port;
	char *listen;
	struct health_provider provider;
	struct metrics *metrics;
	uint64_t idle_timeout_ms;
	struct conn *conns;
	int n_conns;
};

/* IPv6 without brackets is refused: "::1:9464" is ambiguous. */
enum bot_rc health_parse_listen(const char *listen, struct sockaddr_storage *addr,
				socklen_t *addrlen, char *err, size_t errlen)
{
	char host[64];
	const char *port_s;
	memset(addr, 0, sizeof(*addr));

	if (!listen || !*listen) {
		snprintf(err, errlen, "health.listen: empty address; expected HOST:PORT");
		return BOT_ECONFIG;
	}
	if (listen[0] == '[') {
		const char *end = strchr(listen, ']');
		if (!end || end[1] != ':' || (size_t)(end - listen - 1) >= sizeof(host)) {
			snprintf(err, errlen,
				 "health.listen: \"%s\": expected [IPV6]:PORT, e.g. [::1]:9464",
				 listen);
			return BOT_ECONFIG;
		}
		memcpy(host, listen + 1, (size_t)(end - listen - 1));
		host[end - listen - 1] = '\0';
		port_s = end + 2;
	} else {
		const char *colon = strrchr(listen, ':');
		if (!colon || (size_t)(colon - listen) >= sizeof(host) ||
		    memchr(listen, ':', (size_t)(colon - listen))) {
			snprintf(err, errlen,
				 "health.listen: \"%s\": expected HOST:PORT, e.g. 127.0.0.1:9464 "
				 "(IPv6 in brackets: [::1]:9464)",
				 listen);
			return BOT_ECONFIG;
		}
		memcpy(host, listen, (size_t)(colon - listen));
		host[colon - listen] = '\0';
		port_s = colon + 1;
	}

	long port = 0;
	size_t ndigits = strspn(port_s, "0123456789");
	if (ndigits == 0 || ndigits > 5 || port_s[ndigits] != '\0' ||
	    (port = strtol(port_s, NULL, 10)) > 65535) {
		snprintf(err, errlen, "health.listen: \"%s\": port must be a number 0-65535",
			 listen);
		return BOT_ECONFIG;
	}

	struct sockaddr_in *in4 = (struct sockaddr_in *)addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
	if (strcmp(host, "localhost") == 0) {
		/* No resolver: "localhost" could be anything in /etc/hosts. */
		in4->sin_family = AF_INET;
		in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		in4->sin_port = htons((uint16_t)port);
		*addrlen = sizeof(*in4);
	} else if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		if ((ntohl(in4->sin_addr.s_addr) >> 24) != 127)
			goto not_loopback;
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*addrlen = sizeof(*in4);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			goto not_loopback;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*addrlen = sizeof(*in6);
	} else {
		snprintf(err, errlen,
			 "health.listen: \"%s\": host must be a loopback IP address "
			 "(127.0.0.1, ::1) or localhost",
			 listen);
		return BOT_ECONFIG;
	}
	return BOT_OK;

not_loopback:
	memset(addr, 0, sizeof(*addr));
	snprintf(err, errlen,
		 "health.listen: \"%s\" is not a loopback address; the endpoint has no "
		 "authentication, so listen on 127.0.0.1 and reach it through a reverse proxy "
		 "or an SSH tunnel",
		 listen);
	return BOT_ECONFIG;
}

static void conn_close(struct conn *c)
{
	struct health *h = c->h;
	for (struct conn **pp = &h->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	h->n_conns--;
	loop_fd_remove(h->loop, c->fd);
	loop_timer_cancel(h->loop, c->timer);
	close(c->fd);
	free(c->out);
	free(c);
}

static void on_idle(void *arg)
{
	struct conn *c = arg;
	c->timer = NULL; /* fired: must not be cancelled */
	log_debug("health", "msg=\"connection idle, closed\" fd=%d", c->fd);
	conn_close(c);
}

/* Fills status from the provider, with the documented defaults. */
static void status_get(struct health *h, struct health_status *st)
{
	memset(st, 0, sizeof(*st));
	st->heartbeat_ack_age_ms = -1;
	if (h->provider.status)
		h->provider.status(h->provider.arg, st);
}

static bool status_healthy(const struct health_status *st)
{
	if (st->replicated && st->standby)
		return st->lease_reachable;
	if (st->replicated && !st->lease_reachable)
		return false;
	if (!st->gateway_connected || !st->scheduler_alive)
		return false;
	if (st->heartbeat_interval_ms > 0 && st->heartbeat_ack_age_ms >= 0 &&
	    st->heartbeat_ack_age_ms > 2 * st->heartbeat_interval_ms)
		return false;
	return true;
}

/* Builds the /healthz body. Returns a new string (caller frees) or NULL. */
static char *healthz_body(const struct health_status *st, bool healthy)
{
	char *text = NULL;
	cJSON *o = cJSON_CreateObject();
	if (!o)
		goto out;
	if (!cJSON_AddStringToObject(o, "status", healthy ? "ok" : "unhealthy") ||
	    !cJSON_AddBoolToObject(o, "gateway_connected", st->gateway_connected) ||
	    !(st->heartbeat_ack_age_ms >= 0
		      ? cJSON_AddNumberToObject(o, "heartbeat_ack_age_seconds",
						(double)st->heartbeat_ack_age_ms / 1000.0)
		      : cJSON_AddNullToObject(o, "heartbeat_ack_age_seconds")) ||
	    !cJSON_AddBoolToObject(o, "scheduler_alive", st->scheduler_alive) ||
	    !cJSON_AddStringToObject(o, "role",
				     !st->replicated ? "single"
				     : st->standby   ? "standby"
						     : "active"))
		goto out;
	if (st->replicated && (!cJSON_AddNumberToObject(o, "role_since", (double)st->role_since) ||
			       !cJSON_AddBoolToObject(o, "lease_reachable", st->lease_reachable)))
		goto out;
	text = cJSON_PrintUnformatted(o);
out:
	cJSON_Delete(o);
	return text;
}

/* Formats the response into c->out. body is borrowed. Returns 0 or -1. */
static int respond(struct conn *c, int code, const char *reason, const char *ctype,
		   const char *extra_headers, const char *body, size_t body_len, bool head)
{
	char hdr[512];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Cache-Control: no-store\r\n%sConnection: close\r\n\r\n",
			 code, reason, ctype, body_len, extra_headers ? extra_headers : "");
	if (n < 0 || (size_t)n >= sizeof(hdr))
		return -1;
	size_t send_body = head ? 0 : body_len;
	c->out = malloc((size_t)n + send_body);
	if (!c->out)
		return -1;
	memcpy(c->out, hdr, (size_t)n);
	if (send_body)
		memcpy(c->out + n, body, send_body);
	c->out_len = (size_t)n + send_body;
	c->out_off = 0;
	return 0;
}

static int serve_healthz(struct conn *c, bool head)
{
	struct health_status st;
	status_get(c->h, &st);
	bool healthy = status_healthy(&st);
	char *json = healthz_body(&st, healthy);
	if (!json)
		return -1;
	/* A trailing newline keeps `curl /healthz` readable in a terminal. */
	size_t len = strlen(json);
	char *body = malloc(len + 2);
	int rc = -1;
	if (!body)
		goto out;
	memcpy(body, json, len);
	body[len++] = '\n';
	body[len] = '\0';
	rc = respond(c, healthy ? 200 : 503, healthy ? "OK" : "Service Unavailable",
		     "application/json", NULL, body, len, head);
out:
	free(body);
	free(json);
	return rc;
}

static int serve_metrics(struct conn *c, bool head)
{
	struct health *h = c->h;
	struct health_status st;
	status_get(h, &st);
	/* Gauges the provider owns are refreshed at scrape time, so they
	 * cannot go stale between updates. */
	metrics_set(h->metrics, METRIC_GATEWAY_CONNECTED, NULL, NULL, st.gateway_connected);
	metrics_set(h->metrics, METRIC_SCHEDULER_ALIVE, NULL, NULL, st.scheduler_alive);
	metrics_set(h->metrics, METRIC_HEARTBEAT_ACK_AGE, NULL, NULL,
		    st.heartbeat_ack_age_ms >= 0 ? (double)st.heartbeat_ack_age_ms / 1000.0 : -1);

	char *text = NULL;
	size_t len = 0;
	if (h->metrics && metrics_render(h->metrics, &text, &len) != BOT_OK)
		return -1;
	int rc = respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", NULL,
			 text ? text : "", len, head);
	free(text);
	return rc;
}

/* Parses the request line in c->in (headers complete) and prepares the
 * response. Returns 0, or -1 to drop the connection. */
static int handle_request(struct conn *c)
{
	static const char not_found[] = "not found; try /healthz or /metrics\n";
	char *line = c->in;
	char *eol = strpbrk(line, "\r\n");
	if (!eol)
		return -1;
	*eol = '\0';

	char *method = line;
	char *target = strchr(method, ' ');
	char *version = target ? strchr(target + 1, ' ') : NULL;
	if (!target || !version || strncmp(version + 1, "HTTP/1.", 7) != 0) {
		log_debug("health", "msg=\"malformed request line, dropped\"");
		return respond(c, 400, "Bad Request", "text/plain", NULL, "bad request\n", 12,
			       false);
	}
	*target++ = '\0';
	*version = '\0';
	char *query = strchr(target, '?');
	if (query)
		*query = '\0';

	bool head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0)
		return respond(c, 405, "Method Not Allowed", "text/plain", "Allow: GET, HEAD\r\n",
			       "method not allowed\n", 19, false);
	if (strcmp(target, "/healthz") == 0)
		return serve_healthz(c, head);
	if (strcmp(target, "/metrics") == 0)
		return serve_metrics(c, head);
	return respond(c, 404, "Not Found", "text/plain", NULL, not_found, sizeof(not_found) - 1,
		       head);
}

static void on_conn(void *arg, int fd, short revents);

/* Sends what is left of the response; closes when done or on error. */
static void conn_write(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* POLLOUT is armed */
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	conn_close(c);
}

static void conn_read(struct conn *c)
{
	for (;;) {
		size_t room = sizeof(c->in) - 1 - c->in_len; /* keep a NUL */
		ssize_t n = recv(c->fd, c->in + c->in_len, room, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->in_len += (size_t)n;
		c->in[c->in_len] = '\0';
		if (strstr(c->in, "\r\n\r\n") || strstr(c->in, "\n\n"))
			break;
		if (c->in_len == sizeof(c->in) - 1) {
			log_warn("health", "msg=\"request larger than %d bytes, dropped\"",
				 HEALTH_MAX_REQUEST - 1);
			conn_close(c);
			return;
		}
	}

	if (handle_request(c) != 0) {
		conn_close(c);
		return;
	}
	/* Most responses fit the socket buffer and go out right here; POLLOUT
	 * is only armed for the rest. */
	loop_fd_remove(c->h->loop, c->fd);
	if (loop_fd_add(c->h->loop, c->fd, POLLOUT, on_conn, c) != 0) {
		conn_close(c);
		return;
	}
	conn_write(c);
}

static void on_conn(void *arg, int fd, short revents)
{
	struct conn *c = arg;
	(void)fd;
	if (c->out) {
		if (revents & (POLLOUT | POLLERR | POLLHUP))
			conn_write(c);
	} else {
		conn_read(c);
	}
}

static void on_accept(void *arg, int fd, short revents)
{
	struct health *h = arg;
	(void)revents;
	for (int i = 0; i < HEALTH_ACCEPT_BURST; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("health", "msg=\"accept failed\" error=\"%s\"",
					 strerror(errno));
			return;
		}
		struct conn *c = NULL;
		if (h->n_conns >= HEALTH_MAX_CONNS || !(c = calloc(1, sizeof(*c)))) {
			log_warn("health", "msg=\"too many health connections, one closed\"");
			close(cfd);
			continue;
		}
		c->h = h;
		c->fd = cfd;
		c->timer = loop_timer_add(h->loop, h->idle_timeout_ms, on_idle, c);
		if (!c->timer || loop_fd_add(h->loop, cfd, POLLIN, on_conn, c) != 0) {
			loop_timer_cancel(h->loop, c->timer);
			close(cfd);
			free(c);
			continue;
		}
		c->next = h->conns;
		h->conns = c;
		h->n_conns++;
	}
}

enum bot_rc health_create(struct loop *loop, const struct health_opts *opts, struct health **out,
			  char *err, size_t errlen)
{
	enum bot_rc rc;
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	struct health *h = NULL;
	*out = NULL;

	rc = health_parse_listen(opts->listen, &ss, &sslen, err, errlen);
	if (rc != BOT_OK)
		goto out;

	rc = BOT_ENOMEM;
	h = calloc(1, sizeof(*h));
	if (!h || !(h->listen = strdup(opts->listen))) {
		snprintf(err, errlen, "health: out of memory");
		goto out;
	}
	h->fd = -1;
	h->loop = loop;
	h->provider = opts->provider;
	h->metrics = opts->metrics;
	h->idle_timeout_ms = opts->idle_timeout_ms ? opts->idle_timeout_ms : HEALTH_IDLE_TIMEOUT_MS;

	rc = BOT_EIO;
	h->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->fd < 0) {
		snprintf(err, errlen, "health.listen: \"%s\": socket: %s", opts->listen,
			 strerror(errno));
		goto out;
	}
	int one = 1;
	setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(h->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(h->fd, (struct sockaddr *)&ss, sslen) != 0 || listen(h->fd, 16) != 0) {
		snprintf(err, errlen, "health.listen: \"%s\": cannot listen: %s", opts->listen,
			 strerror(errno));
		goto out;
	}
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	if (getsockname(h->fd, (struct sockaddr *)&bound, &blen) != 0) {
		snprintf(err, errlen, "health.listen: getsockname: %s", strerror(errno));
		goto out;
	}
	h->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
						    : ((struct sockaddr_in *)&bound)->sin_port);
	if (loop_fd_add(loop, h->fd, POLLIN, on_accept, h) != 0) {
		snprintf(err, errlen, "health: the event loop watches too many sockets");
		goto out;
	}
	log_info("health", "msg=\"listening\" listen=\"%s\" port=%d", h->listen, h->port);
	*out = h;
	h = NULL;
	rc = BOT_OK;
out:
	if (h) {
		if (h->fd >= 0)
			close(h->fd);
		free(h->listen);
		free(h);
	}
	return rc;
}

void health_destroy(struct health *h)
{
	if (!h)
		return;
	while (h->conns)
		conn_close(h->conns);
	loop_fd_remove(h->loop, h->fd);
	close(h->fd);
	free(h->listen);
	free(h);
}

int health_port(const struct health *h)
{
	return h->port;
}
