/* fcgi: the thread pool, routing, the access log line and shutdown of a
 * FastCGI program. The program hands over its routes and its per-thread
 * state (struct fcgi_app); nothing here knows what they do. */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fastcgi.h>

#include "fcgi.h"
#include "common/log.h"

/*
 * What one web server connection may cost (issue 13).
 *
 * libfcgi reads a request's header records (BEGIN_REQUEST, then the PARAMS
 * stream) inside FCGX_Accept_r and mallocs every name-value pair as it
 * comes, with no limit (1.2 GB of params took 1.5 GB); and SO_RCVTIMEO
 * bounds each read, not the header, so one byte every few seconds held a
 * thread for good. It has no hook for either: its readers are static, and
 * FCGX_Accept_r makes the stream and reads the params in one call.
 *
 * So the header is read here first, exactly (never a byte of the body),
 * with poll() against one deadline for all of it (HEADER_TIMEOUT_S from
 * accept), at most PARAMS_MAX bytes of params (the PARAMS records'
 * contents; a header over it gets a 431) and HEADER_MAX bytes in all, and
 * only in the shape libfcgi serves: BEGIN_REQUEST for a responder, then
 * that request's PARAMS up to the empty one, its name-value pairs whole.
 * It is then handed to libfcgi through the thread's own socket pair, and
 * the request is pointed at the connection for the rest: libfcgi reads
 * and writes req->ipcFd anew each time, and the pair holds exactly the
 * header, so no byte of a body goes through it.
 *
 * After the header one deadline, BODY_TIMEOUT_S, covers the rest of the
 * request (body, handling, answer) whatever the number of reads: the
 * watchdog thread shuts the socket down when it passes, which ends any
 * read or write on it at once and, on TCP, resets a peer that keeps
 * sending. libfcgi closes no connection either: its close waits for the
 * peer with 2 s per read and no bound in all; ours lingers LINGER_MS at
 * most. A connection's fd is closed here only, after its deadline is
 * disarmed under the watchdog's lock, so the watchdog never shuts down
 * another connection that got the same number.
 *
 * Not taken: relaying the whole connection through a socket pair (every
 * body copied twice, by a thread per connection); SO_RCVBUF or RLIMIT_AS
 * (neither bounds libfcgi's mallocs, and the second kills the process);
 * peeking the header with MSG_PEEK (the receive queue need not hold 64 KiB
 * from a sender that writes small pieces, nor a TCP window); patching or
 * interposing on Debian's shared libfcgi.
 */
#define PARAMS_MAX (64 * 1024)
#define HEADER_MAX (PARAMS_MAX + 16 * 1024)  /* record headers, padding */
#define HEADER_TIMEOUT_S 5    /* a web server sends it as it connects */
#define BODY_TIMEOUT_S 30
#define KEEP_IDLE_S 30        /* a kept connection, between requests */
#define LINGER_MS 2000
#define LINGER_BYTES (256 * 1024)

/* The read end of this pipe becomes readable once, for good, at shutdown:
 * every thread polls it beside the listening socket, so one write wakes
 * them all, whichever thread the signal went to. */
static int wake_pipe[2] = { -1, -1 };
static atomic_bool stopping;
static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;

struct worker {
	pthread_t tid;
	int listen_fd;
	const struct config *cfg;
	const struct fcgi_app *app;
	void *state;   /* the program's, app->worker_size bytes */
	unsigned char *hdr;   /* HEADER_MAX bytes: the header being read */
	int relay[2];         /* hands the header to libfcgi */
	/* The deadline of the request being served (watch_lock). */
	int watch_fd;
	struct timespec watch_at;
	bool watch_armed, watch_fired;
};

struct pool {
	struct worker *workers;
	long n;
};

/* The watchdog's state; its condition variable runs on CLOCK_MONOTONIC. */
static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watch_cond;
static bool watch_stop, watch_sleeping_until_one;

const char *
fcgi_param(struct fcgi_ctx *c, const char *name)
{
	return FCGX_GetParam(name, c->req->envp);
}

int
fcgi_read_body(struct fcgi_ctx *c, size_t max, char **body, size_t *len)
{
	const char *cl = fcgi_param(c, "CONTENT_LENGTH");
	unsigned long long want = 0;
	char *end, sink[16384];
	int got;

	*body = NULL;
	*len = 0;
	if (cl != NULL && *cl != '\0') {
		want = strtoull(cl, &end, 10);
		if (*end != '\0' || *cl == '-') {
			http_error(&c->ans, 400, "bad Content-Length");
			return -2;
		}
	}
	if (want > (unsigned long long)max) {
		/* Read it to its end, so the web server can deliver the 413. */
		while ((got = FCGX_GetStr(sink, sizeof(sink), c->req->in)) > 0)
			;
		http_error(&c->ans, 413, "the request is too large");
		return -1;
	}
	if ((*body = malloc(want + 1)) == NULL) {
		http_error(&c->ans, 500, "out of memory");
		return -2;
	}
	got = want ? FCGX_GetStr(*body, (int)want, c->req->in) : 0;
	if (got < 0 || (unsigned long long)got != want) {
		http_error(&c->ans, 400, "the request body was cut short");
		return -2;
	}
	(*body)[want] = '\0';
	*len = (size_t)want;
	return 0;
}

int
fcgi_stop_fd(void)
{
	return wake_pipe[0];
}

bool
fcgi_stopping(void)
{
	return atomic_load(&stopping);
}

/* The path below the app's prefix, or NULL when outside it. */
static const char *
route_path(struct fcgi_ctx *c, const char *prefix, char *buf, size_t size)
{
	const char *uri = fcgi_param(c, "REQUEST_URI");
	size_t plen = strlen(prefix), n;

	if (uri == NULL)
		uri = fcgi_param(c, "DOCUMENT_URI");
	if (uri == NULL)
		uri = fcgi_param(c, "SCRIPT_NAME");
	if (uri == NULL)
		return NULL;
	n = strcspn(uri, "?#");
	if (n >= size)
		return NULL;
	memcpy(buf, uri, n);
	buf[n] = '\0';
	if (strncmp(buf, prefix, plen) != 0)
		return NULL;
	return buf + plen;
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Does path match the route's pattern? The '*' segments go to c->arg,
 * percent-decoded (a segment that decodes to a NUL or a '/' never
 * matches, nor one too long). */
static bool
path_match(struct fcgi_ctx *c, const char *pattern, const char *path)
{
	c->nargs = 0;
	while (*pattern != '\0' && *path != '\0') {
		size_t pn = strcspn(pattern + 1, "/") + 1;
		size_t sn = strcspn(path + 1, "/") + 1;

		if (*pattern != '/' || *path != '/')
			return false;
		if (pn == 2 && pattern[1] == '*') {
			char *out;
			size_t o = 0;

			if (sn < 2 || c->nargs == sizeof(c->arg) / sizeof(c->arg[0]))
				return false;
			out = c->argbuf[c->nargs];
			for (size_t i = 1; i < sn; i++) {
				int hi, lo;
				char ch = path[i];

				if (ch == '%') {
					if (i + 2 >= sn ||
					    (hi = hexval(path[i + 1])) < 0 ||
					    (lo = hexval(path[i + 2])) < 0)
						return false;
					ch = (char)(hi << 4 | lo);
					i += 2;
				}
				if (ch == '\0' || ch == '/' ||
				    o + 1 >= sizeof(c->argbuf[0]))
					return false;
				out[o++] = ch;
			}
			out[o] = '\0';
			c->arg[c->nargs++] = out;
		} else if (pn != sn || strncmp(pattern, path, pn) != 0)
			return false;
		pattern += pn;
		path += sn;
	}
	return *pattern == '\0' && *path == '\0';
}

static void
dispatch(struct fcgi_ctx *c, const struct fcgi_app *app)
{
	const char *method = fcgi_param(c, "REQUEST_METHOD"), *path;
	char pathbuf[512], allow[128] = "";
	bool found = false;

	c->ans.json = http_wants_json(fcgi_param(c, "HTTP_ACCEPT"));
	c->route = -1;
	path = route_path(c, app->prefix, pathbuf, sizeof(pathbuf));
	for (size_t i = 0; path != NULL && i < app->nroutes; i++) {
		const struct fcgi_route *r = &app->routes[i];
		bool get = strcmp(r->method, "GET") == 0;
		size_t n = strlen(allow);

		if (!path_match(c, r->path, path))
			continue;
		found = true;
		if (c->route < 0)
			c->route = (int)i;
		if (method != NULL && (strcmp(method, r->method) == 0 ||
		    (get && strcmp(method, "HEAD") == 0))) {
			c->route = (int)i;
			if (app->before == NULL || app->before(c, r))
				r->handle(c);
			return;
		}
		snprintf(allow + n, sizeof(allow) - n, "%s%s%s", n ? ", " : "",
		    r->method, get ? ", HEAD" : "");
	}
	if (found) {
		http_header(&c->ans, "Allow", allow);
		http_error(&c->ans, 405, "method not allowed");
		return;
	}
	http_error(&c->ans, 404, "not found");
}

void
fcgi_note(struct fcgi_ctx *c, const char *fmt, ...)
{
	size_t room = sizeof(c->note) - c->note_len;
	va_list ap;
	int n;

	if (room < 2)
		return;
	c->note[c->note_len] = ' ';
	va_start(ap, fmt);
	n = vsnprintf(c->note + c->note_len + 1, room - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room - 1)
		c->note[c->note_len] = '\0';   /* does not fit: left out */
	else
		c->note_len += (size_t)n + 1;
}

static double
elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void
serve_one(struct worker *w, FCGX_Request *req)
{
	struct fcgi_ctx c = { .req = req, .cfg = w->cfg, .worker = w->state };
	const char *method = fcgi_param(&c, "REQUEST_METHOD");
	struct buf out = { 0 };
	struct timespec t0;
	char q[600], m[40];
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (w->app->headers != NULL)
		buf_adds(&c.ans.headers, w->app->headers);
	dispatch(&c, w->app);
	http_serialize(&c.ans, &out);
	/* A HEAD answer is the GET answer's header block alone. */
	if (method != NULL && strcmp(method, "HEAD") == 0 && out.p != NULL) {
		char *end = strstr(out.p, "\r\n\r\n");

		if (end != NULL)
			out.len = (size_t)(end + 4 - out.p);
	}
	if (out.p != NULL)
		FCGX_PutStr(out.p, (int)out.len, req->out);
	FCGX_FFlush(req->out);
	ms = elapsed_ms(&t0);
	if (w->app->answered != NULL)
		w->app->answered(&c, ms / 1e3);
	log_info("request", "method=%s path=%s status=%d ms=%.2f%s%s%s",
	    log_value(m, sizeof(m), method ? method : "-"),
	    log_quote(q, sizeof(q), fcgi_param(&c, "REQUEST_URI")),
	    c.ans.status, ms, c.reference ? " reference=" : "",
	    c.reference ? c.reference : "", c.note);
	buf_free(&out);
	http_answer_free(&c.ans);
}

/* Waits for a connection or for shutdown: 1, 0 (stop) or -1 (retry). */
static int
wait_connection(struct pollfd pfd[2])
{
	if (poll(pfd, 2, -1) == -1)
		return errno == EINTR ? -1 : 0;
	if (pfd[1].revents)
		return 0;
	return (pfd[0].revents & POLLIN) ? 1 : -1;
}

/* Takes one new connection: the fd, -1 to try again, -2 to stop. One
 * thread at a time polls and accepts (a thread that lost the race would
 * only find EAGAIN); the header records are read after the lock is let
 * go, so a slow or silent client holds up its own thread alone. */
static int
take_connection(struct worker *w, struct pollfd pfd[2])
{
	int ready, fd = -1, one = 1;

	pthread_mutex_lock(&accept_lock);
	ready = wait_connection(pfd);
	if (ready == 1)
		fd = accept4(w->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	pthread_mutex_unlock(&accept_lock);
	if (ready == 0)
		return -2;
	if (fd == -1)
		return -1;
	/* TCP: answers go out at once (libfcgi's own accept does this). */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void
deadline_ms(struct timespec *t, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static void
deadline_in(struct timespec *t, long secs)
{
	deadline_ms(t, secs * 1000);
}

/* Milliseconds left until t (0 once it has passed), for poll(). */
static int
ms_left(const struct timespec *t)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(t->tv_sec - now.tv_sec) * 1000 +
	    (t->tv_nsec - now.tv_nsec) / 1000000;
	return ms <= 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms;
}

/* The deadline of the rest of a request (BODY_TIMEOUT_S from now), kept
 * by the watchdog thread. */
static void
watch_arm(struct worker *w, int fd)
{
	pthread_mutex_lock(&watch_lock);
	w->watch_fd = fd;
	deadline_in(&w->watch_at, BODY_TIMEOUT_S);
	w->watch_armed = true;
	w->watch_fired = false;
	/* Every deadline is BODY_TIMEOUT_S from its arming, so a new one is
	 * never earlier than the one the watchdog sleeps towards: it needs
	 * waking only when it sleeps with none. */
	if (!watch_sleeping_until_one)
		pthread_cond_signal(&watch_cond);
	pthread_mutex_unlock(&watch_lock);
}

/* Ends the deadline; true when it had passed and the socket is shut. */
static bool
watch_disarm(struct worker *w)
{
	bool fired;

	pthread_mutex_lock(&watch_lock);
	w->watch_armed = false;
	fired = w->watch_fired;
	w->watch_fired = false;
	w->watch_fd = -1;
	pthread_mutex_unlock(&watch_lock);
	return fired;
}

static bool
ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Shuts down the socket of every request past its deadline. A worker
 * closes its fd only after watch_disarm, under the same lock, so the fd
 * shut down here is always the connection that was armed. */
static void *
watchdog_main(void *arg)
{
	struct pool *p = arg;

	pthread_mutex_lock(&watch_lock);
	while (!watch_stop) {
		struct timespec now, next = { 0 };
		bool any = false;

		clock_gettime(CLOCK_MONOTONIC, &now);
		for (long i = 0; i < p->n; i++) {
			struct worker *w = &p->workers[i];

			if (!w->watch_armed)
				continue;
			if (!ts_before(&now, &w->watch_at)) {
				(void)shutdown(w->watch_fd, SHUT_RDWR);
				w->watch_armed = false;
				w->watch_fired = true;
			} else if (!any || ts_before(&w->watch_at, &next)) {
				next = w->watch_at;
				any = true;
			}
		}
		watch_sleeping_until_one = any;
		if (any)
			(void)pthread_cond_timedwait(&watch_cond, &watch_lock,
			    &next);
		else
			(void)pthread_cond_wait(&watch_cond, &watch_lock);
	}
	pthread_mutex_unlock(&watch_lock);
	return NULL;
}

/* Closes a connection that is ours alone (its deadline disarmed): our
 * end first, then what the peer still sends is read and dropped until it
 * closes too, for LINGER_MS and LINGER_BYTES at most, so that a TCP peer
 * is not reset before it has read the answer (unread data at close makes
 * an RST, which may discard it). */
static void
conn_close(int fd)
{
	struct timespec until;
	char sink[4096];
	size_t dropped = 0;

	if (shutdown(fd, SHUT_WR) == 0) {
		deadline_ms(&until, LINGER_MS);
		while (dropped < LINGER_BYTES) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			ssize_t n;
			int ms = ms_left(&until);

			if (ms == 0 || poll(&pfd, 1, ms) <= 0)
				break;
			if ((n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT)) <= 0)
				break;
			dropped += (size_t)n;
		}
	}
	close(fd);
}

enum header_result {
	HEADER_OK,
	HEADER_CLOSED,      /* the peer closed or failed, or shutdown began */
	HEADER_TIMEOUT,     /* not whole within HEADER_TIMEOUT_S */
	HEADER_INVALID,     /* not a header libfcgi would serve */
	HEADER_TOO_LARGE,   /* over PARAMS_MAX or HEADER_MAX */
};

/* The name-value pairs of a PARAMS stream, checked whole across records
 * (libfcgi drops a connection whose last pair is cut, after reading it). */
struct pairs {
	int step;          /* 0, 1 name length; 2, 3 value length; 4 bytes */
	int more;          /* length bytes still to come */
	uint32_t len, name;
	size_t skip;       /* name and value bytes still to come */
};

/* Feeds n content bytes; -1 when a pair says it is longer than the
 * params may be in all. */
static int
pairs_feed(struct pairs *p, const unsigned char *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p->step == 4) {
			size_t k = n - i < p->skip ? n - i : p->skip;

			p->skip -= k;
			i += k - 1;
			if (p->skip == 0)
				p->step = 0;
			continue;
		}
		if ((p->step == 0 || p->step == 2) && (c[i] & 0x80) != 0) {
			p->len = c[i] & 0x7f;
			p->more = 3;
			p->step++;
			continue;
		}
		if (p->step == 0 || p->step == 2)
			p->len = c[i];
		else {
			p->len = p->len << 8 | c[i];
			if (--p->more > 0)
				continue;
		}
		if (p->len > PARAMS_MAX)
			return -1;
		if (p->step <= 1) {
			p->name = p->len;
			p->step = 2;
		} else {
			p->skip = (size_t)p->name + p->len;
			p->step = p->skip > 0 ? 4 : 0;
		}
	}
	return 0;
}

/* Reads until b holds must bytes, taking up to want (bytes that must come
 * too, read in the same call), never more: HEADER_OK, or why not. While
 * idle (a kept connection between requests) shutdown ends the wait, and
 * the first byte starts the header's own deadline. */
static enum header_result
header_fill(int fd, unsigned char *b, size_t *have, size_t must,
    size_t want, struct timespec *deadline, bool *idle)
{
	while (*have < must) {
		struct pollfd pfd[2] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = wake_pipe[0], .events = POLLIN },
		};
		ssize_t n = recv(fd, b + *have, want - *have, MSG_DONTWAIT);
		int ms;

		if (n > 0) {
			*have += (size_t)n;
			if (*idle) {
				*idle = false;
				deadline_in(deadline, HEADER_TIMEOUT_S);
			}
			continue;
		}
		if (n == 0)
			return HEADER_CLOSED;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return HEADER_CLOSED;
		if ((ms = ms_left(deadline)) == 0)
			return *idle ? HEADER_CLOSED : HEADER_TIMEOUT;
		if (poll(pfd, *idle ? 2 : 1, ms) == -1 && errno != EINTR)
			return HEADER_CLOSED;
		if (*idle && pfd[1].revents != 0)
			return HEADER_CLOSED;
	}
	return HEADER_OK;
}

/*
 * Reads one request's header records from fd into w->hdr, never a byte
 * past them, and leaves there what libfcgi is to read: on HEADER_OK,
 * *out and *outlen. The BEGIN_REQUEST record and the empty PARAMS record
 * are passed on without their padding, which libfcgi would take for the
 * next record (it forgets a stream's padding when it moves to the next
 * stream). *id is the request's id once BEGIN_REQUEST was read.
 */
static enum header_result
header_read(struct worker *w, int fd, bool kept, const unsigned char **out,
    size_t *outlen, unsigned *id)
{
	unsigned char *b = w->hdr;
	struct pairs pairs = { 0 };
	struct timespec deadline;
	size_t have = 0, rec = 0, params = 0, begin_pad = 0;
	/* BEGIN_REQUEST (8 + 8) and the next record's header must come. */
	size_t want = 3 * FCGI_HEADER_LEN;
	bool idle = kept, begun = false;
	enum header_result r;

	*id = 0;
	deadline_in(&deadline, kept ? KEEP_IDLE_S : HEADER_TIMEOUT_S);
	for (;;) {
		unsigned type, rid, clen, plen;
		size_t end;
		bool last;

		/* The header of the record at rec. want never runs past
		 * what must come, so no byte of the body is read. */
		if ((r = header_fill(fd, b, &have, rec + FCGI_HEADER_LEN, want,
		    &deadline, &idle)) != HEADER_OK)
			return r;
		type = b[rec + 1];
		rid = (unsigned)b[rec + 2] << 8 | b[rec + 3];
		clen = (unsigned)b[rec + 4] << 8 | b[rec + 5];
		plen = b[rec + 6];
		if (b[rec] != FCGI_VERSION_1)
			return HEADER_INVALID;
		/* What the last request left of its stdin (the handler read
		 * CONTENT_LENGTH bytes, not the empty record after them):
		 * the connection ends here, quietly, as libfcgi ended it. */
		if (!begun && kept && type == FCGI_STDIN)
			return HEADER_CLOSED;
		if (!begun && (type != FCGI_BEGIN_REQUEST || rid == 0 ||
		    clen != sizeof(FCGI_BeginRequestBody)))
			return HEADER_INVALID;
		if (begun && (type != FCGI_PARAMS || rid != *id))
			return HEADER_INVALID;
		if (begun && params + clen > PARAMS_MAX)
			return HEADER_TOO_LARGE;
		end = rec + FCGI_HEADER_LEN + clen + plen;
		last = begun && clen == 0;
		/* The record whole, and with it the next one's header unless
		 * this is the last. */
		want = end + (last ? 0 : FCGI_HEADER_LEN);
		if (want > HEADER_MAX)
			return HEADER_TOO_LARGE;
		if ((r = header_fill(fd, b, &have, end, want, &deadline,
		    &idle)) != HEADER_OK)
			return r;
		if (!begun) {
			const FCGI_BeginRequestBody *body =
			    (const FCGI_BeginRequestBody *)(b + rec + 8);

			if (((unsigned)body->roleB1 << 8 | body->roleB0) !=
			    FCGI_RESPONDER)
				return HEADER_INVALID;
			*id = rid;
			begun = true;
			begin_pad = plen;
		} else if (last) {
			if (pairs.step != 0)
				return HEADER_INVALID;
			break;
		} else {
			if (pairs_feed(&pairs, b + rec + 8, clen) == -1)
				return HEADER_TOO_LARGE;
			params += clen;
		}
		rec = end;
	}
	/* BEGIN_REQUEST moves up over its padding; the empty PARAMS record
	 * loses its own. */
	memmove(b + begin_pad, b, 2 * FCGI_HEADER_LEN);
	b[begin_pad + 6] = 0;
	b[rec + 6] = 0;
	*out = b + begin_pad;
	*outlen = rec + FCGI_HEADER_LEN - begin_pad;
	return HEADER_OK;
}

/* The answer to a header over the bounds, sent as the whole request's
 * answer (the params were not read, so neither is the mode: plain text),
 * without waiting: the socket's buffer is empty at this point. */
static void
answer_too_large(int fd, unsigned id)
{
	static const char text[] =
	    "Status: 431 Request Header Fields Too Large\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Cache-Control: no-store\r\n"
	    "\r\n"
	    "request header fields too large\n";
	unsigned char out[3 * FCGI_HEADER_LEN + sizeof(text) + 8 +
	    sizeof(FCGI_EndRequestBody)];
	size_t n = sizeof(text) - 1, pad = (8 - n % 8) % 8, o = 0;
	FCGI_Header h = { .version = FCGI_VERSION_1, .type = FCGI_STDOUT,
	    .requestIdB1 = (unsigned char)(id >> 8),
	    .requestIdB0 = (unsigned char)id };
	FCGI_EndRequestBody end = { .protocolStatus = FCGI_REQUEST_COMPLETE };

	h.contentLengthB0 = (unsigned char)n;
	h.contentLengthB1 = (unsigned char)(n >> 8);
	h.paddingLength = (unsigned char)pad;
	memcpy(out, &h, sizeof(h));
	memcpy(out + 8, text, n);
	memset(out + 8 + n, 0, pad);
	o = 8 + n + pad;
	h.contentLengthB0 = h.contentLengthB1 = h.paddingLength = 0;
	memcpy(out + o, &h, sizeof(h));               /* end of STDOUT */
	o += 8;
	h.type = FCGI_END_REQUEST;
	h.contentLengthB0 = sizeof(end);
	memcpy(out + o, &h, sizeof(h));
	memcpy(out + o + 8, &end, sizeof(end));
	o += 8 + sizeof(end);
	(void)!send(fd, out, o, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* The thread's pair that hands a header to libfcgi: [0] is libfcgi's. */
static int
relay_open(struct worker *w)
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, w->relay) ==
	    -1) {
		w->relay[0] = w->relay[1] = -1;
		log_error("socketpair_failed", "error=%d", errno);
		return -1;
	}
	return 0;
}

static void
relay_close(struct worker *w)
{
	for (int i = 0; i < 2; i++)
		if (w->relay[i] != -1)
			close(w->relay[i]);
	w->relay[0] = w->relay[1] = -1;
}

/*
 * Hands a checked header to libfcgi and has it read there, then points
 * the request at the connection. 0, or -1 when libfcgi did not take it
 * (it cannot, for a header header_read passed; the pair is made anew).
 */
static int
accept_header(struct worker *w, FCGX_Request *req, int fd,
    const unsigned char *h, size_t len)
{
	int left = 0;

	if (w->relay[0] == -1 && relay_open(w) == -1)
		return -1;
	if (send(w->relay[1], h, len, MSG_DONTWAIT | MSG_NOSIGNAL) !=
	    (ssize_t)len) {
		log_error("header_relay_failed", "error=%d", errno);
		relay_close(w);
		return -1;
	}
	req->ipcFd = w->relay[0];
	/* Keeps FCGX_Accept_r's finishing step from closing anything. */
	req->keepConnection = 1;
	if (FCGX_Accept_r(req) < 0) {
		/* libfcgi closed its end of the pair and gave up. */
		log_error("header_refused", "bytes=%zu", len);
		w->relay[0] = -1;
		req->ipcFd = -1;
		relay_close(w);
		return -1;
	}
	if (ioctl(w->relay[0], FIONREAD, &left) == -1 || left != 0) {
		log_error("header_relay_left", "bytes=%d", left);
		req->ipcFd = -1;
		req->keepConnection = 1;
		FCGX_Finish_r(req);
		relay_close(w);
		return -1;
	}
	req->ipcFd = fd;
	return 0;
}

/*
 * Ends a request: libfcgi writes its last records and frees it, but the
 * connection is closed here (or kept, for FCGI_KEEP_CONN with nothing
 * wrong). Returns whether it is kept.
 */
static bool
finish_request(struct worker *w, FCGX_Request *req, int fd)
{
	bool close_it = !req->keepConnection;

	if (FCGX_FClose(req->err) != 0)
		close_it = true;
	if (FCGX_FClose(req->out) != 0)
		close_it = true;
	if (FCGX_GetError(req->in) != 0)
		close_it = true;
	if (watch_disarm(w)) {
		log_warn("request_timeout", "seconds=%d", BODY_TIMEOUT_S);
		close_it = true;
	}
	/* libfcgi frees the streams and params and closes nothing. */
	req->ipcFd = -1;
	req->keepConnection = 1;
	FCGX_Finish_r(req);
	if (close_it)
		conn_close(fd);
	return !close_it;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	FCGX_Request req;
	struct pollfd pfd[2] = {
		{ .fd = w->listen_fd, .events = POLLIN },
		{ .fd = wake_pipe[0], .events = POLLIN },
	};
	int fd = -1;
	bool kept = false;

	/* No listening socket for libfcgi: it must never accept (or wait
	 * on a connection) by itself. */
	FCGX_InitRequest(&req, -1, 0);
	w->relay[0] = w->relay[1] = -1;
	if ((w->hdr = malloc(HEADER_MAX)) == NULL)
		fatal("out_of_memory", NULL);
	(void)relay_open(w);
	if (w->app->worker_open != NULL)
		w->app->worker_open(w->state, w->cfg);
	while (!atomic_load(&stopping)) {
		const unsigned char *h;
		size_t hlen;
		unsigned id;
		enum header_result r;

		if (fd < 0) {
			if ((fd = take_connection(w, pfd)) == -2)
				break;
			if (fd == -1)
				continue;
			kept = false;
		}
		if ((r = header_read(w, fd, kept, &h, &hlen, &id)) !=
		    HEADER_OK) {
			if (r == HEADER_TIMEOUT)
				log_warn("header_timeout", "seconds=%d",
				    HEADER_TIMEOUT_S);
			else if (r == HEADER_INVALID)
				log_warn("header_invalid", NULL);
			else if (r == HEADER_TOO_LARGE) {
				log_warn("header_too_large", "params_max=%d "
				    "status=431", PARAMS_MAX);
				if (id != 0)
					answer_too_large(fd, id);
			}
			conn_close(fd);
			fd = -1;
			continue;
		}
		if (accept_header(w, &req, fd, h, hlen) == -1) {
			conn_close(fd);
			fd = -1;
			continue;
		}
		watch_arm(w, fd);
		serve_one(w, &req);
		if (!finish_request(w, &req, fd))
			fd = -1;
		kept = fd >= 0;
	}
	if (fd >= 0)
		conn_close(fd);
	req.ipcFd = -1;
	FCGX_Free(&req, 1);
	relay_close(w);
	free(w->hdr);
	if (w->app->worker_close != NULL)
		w->app->worker_close(w->state);
	return NULL;
}

static void
signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
}

void
fcgi_hold_signals(void)
{
	sigset_t set;

	signal_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
fcgi_run(const struct config *cfg, int listen_fd, const struct fcgi_app *app)
{
	pthread_t background, watchdog;
	pthread_condattr_t ca;
	bool background_running = false;
	struct pool pool;
	struct worker *workers;
	char *states;
	sigset_t set;
	char q[2 * CONFIG_STR + 4];
	long n = app->threads, started = 0;
	int sig = 0;

	if (FCGX_Init() != 0)
		fatal("fcgi_init_failed", NULL);
	if (pipe2(wake_pipe, O_CLOEXEC) == -1)
		fatal("pipe_failed", "error=%d", errno);
	/* libfcgi installs its own SIGTERM handler in FCGX_Init. The signals
	 * are blocked in every thread (fcgi_hold_signals, again here for any
	 * caller that did not) and taken here with sigwait instead. */
	fcgi_hold_signals();
	signal_set(&set);

	if ((workers = calloc((size_t)n, sizeof(*workers))) == NULL ||
	    (states = calloc((size_t)n, app->worker_size ?
	    app->worker_size : 1)) == NULL)
		fatal("out_of_memory", NULL);
	/* The watchdog first: a worker arms deadlines from its first
	 * request on. Its clock is the one the deadlines are taken on. */
	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&watch_cond, &ca) != 0)
		fatal("watchdog_failed", NULL);
	pthread_condattr_destroy(&ca);
	pool.workers = workers;
	pool.n = n;
	for (long i = 0; i < n; i++)
		workers[i].watch_fd = -1;
	if (pthread_create(&watchdog, NULL, watchdog_main, &pool) != 0)
		fatal("thread_create_failed", "thread=watchdog");
	for (long i = 0; i < n; i++) {
		workers[i].listen_fd = listen_fd;
		workers[i].cfg = cfg;
		workers[i].app = app;
		workers[i].state = states + (size_t)i * app->worker_size;
		if (pthread_create(&workers[i].tid, NULL, worker_main,
		    &workers[i]) != 0) {
			log_error("thread_create_failed", "thread=%ld", i);
			break;
		}
		started++;
	}
	if (app->background != NULL && started > 0)
		background_running = pthread_create(&background, NULL,
		    app->background, app->background_arg) == 0;
	log_info("started", "threads=%ld listen=%s", started,
	    log_value(q, sizeof(q), app->listen[0] ? app->listen : "inherited"));
	while (started > 0) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGTERM || sig == SIGINT)
			break;
		log_info("signal_ignored", "signal=%d", sig);
	}
	log_info("stopping", "signal=%d", sig);
	atomic_store(&stopping, true);
	(void)!write(wake_pipe[1], "x", 1);
	for (long i = 0; i < started; i++)
		pthread_join(workers[i].tid, NULL);
	if (background_running)
		pthread_join(background, NULL);
	pthread_mutex_lock(&watch_lock);
	watch_stop = true;
	pthread_cond_signal(&watch_cond);
	pthread_mutex_unlock(&watch_lock);
	pthread_join(watchdog, NULL);
	pthread_cond_destroy(&watch_cond);
	free(states);
	free(workers);
	log_info("stopped", NULL);
	return started > 0 ? 0 : 1;
}
