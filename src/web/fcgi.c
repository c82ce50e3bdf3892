/* fcgi: the thread pool, routing, the access log line and shutdown of a
 * FastCGI program. The program hands over its routes and its per-thread
 * state (struct fcgi_app); nothing here knows what they do. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "fcgi.h"
#include "common/log.h"

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
};

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
	log_info("request", "method=%s path=%s status=%d ms=%.2f%s%s",
	    log_value(m, sizeof(m), method ? method : "-"),
	    log_quote(q, sizeof(q), fcgi_param(&c, "REQUEST_URI")),
	    c.ans.status, ms, c.reference ? " reference=" : "",
	    c.reference ? c.reference : "");
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

/* How long one read or write on a web server's connection may wait:
 * short for the header records, which a web server sends as soon as it
 * connects, longer for the body and the answer. A client that connects
 * and says nothing costs one thread HEADER_TIMEOUT at most, never the
 * others their turn. */
#define HEADER_TIMEOUT_S 5
#define BODY_TIMEOUT_S 30

static void
conn_timeouts(int fd, long secs)
{
	struct timeval tv = { .tv_sec = secs };

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
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
	conn_timeouts(fd, HEADER_TIMEOUT_S);
	return fd;
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

	FCGX_InitRequest(&req, w->listen_fd, 0);
	if (w->app->worker_open != NULL)
		w->app->worker_open(w->state, w->cfg);
	while (!atomic_load(&stopping)) {
		/* A connection the web server kept (FCGI_KEEP_CONN) is read
		 * again as it is; otherwise this thread takes a new one and
		 * hands it to libfcgi, which reads a request from the ipcFd it
		 * is given (keepConnection stops FCGX_Accept_r's finishing
		 * step from closing it first). */
		if (req.ipcFd < 0) {
			int fd = take_connection(w, pfd);

			if (fd == -2)
				break;
			if (fd == -1)
				continue;
			req.ipcFd = fd;
			req.keepConnection = 1;
		}
		if (FCGX_Accept_r(&req) < 0)
			continue;
		conn_timeouts(req.ipcFd, BODY_TIMEOUT_S);
		serve_one(w, &req);
		FCGX_Finish_r(&req);
	}
	FCGX_Free(&req, 1);
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
	pthread_t background;
	bool background_running = false;
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
	free(states);
	free(workers);
	log_info("stopped", NULL);
	return started > 0 ? 0 : 1;
}
