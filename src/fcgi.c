/* fcgi: the listening socket, the thread pool, routing and shutdown. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
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
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fcgi.h"
#include "log.h"
#include "metrics.h"
#include "spool.h"
#include "submit.h"

#define LISTEN_BACKLOG 1024

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
	struct store store;
};

/* The socket file we made, to remove at exit only while it is still ours. */
static dev_t sock_dev;
static ino_t sock_ino;
static bool sock_made;

/* The socket is bound under a private name, given its mode, made to listen
 * and only then renamed onto the configured path: whoever sees the path
 * (nginx, a supervisor, a test) can connect at once, and a restart swaps
 * the old socket for the new one without a moment with no socket at all. */
static int
listen_unix(const struct config *cfg, char *err, size_t errsize)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = cfg->fcgi_listen;
	char tmp[sizeof(sun.sun_path) + 32];
	struct stat st;
	int fd = -1, n;

	/* config_check holds paths to CONFIG_LISTEN_PATH_MAX, leaving room
	 * for the longest pid whichever pid this run got. */
	n = snprintf(tmp, sizeof(tmp), "%s.%ld.new", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
		snprintf(err, errsize, "[fastcgi] listen: path too long");
		return -1;
	}
	memcpy(sun.sun_path, tmp, (size_t)n + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	if (unlink(tmp) == -1 && errno != ENOENT)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		goto fail;
	if (chmod(tmp, (mode_t)cfg->fcgi_socket_mode) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1 ||
	    stat(tmp, &st) == -1 || rename(tmp, path) == -1) {
		int e = errno;
		unlink(tmp);
		errno = e;
		goto fail;
	}
	sock_dev = st.st_dev;
	sock_ino = st.st_ino;
	sock_made = true;
	return fd;
fail:
	snprintf(err, errsize, "%s: %s", path, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

void
fcgi_unlink_socket(const struct config *cfg)
{
	struct stat st;

	/* A newer process may have put its own socket here since. */
	if (sock_made && stat(cfg->fcgi_listen, &st) == 0 &&
	    st.st_dev == sock_dev && st.st_ino == sock_ino)
		unlink(cfg->fcgi_listen);
}

static int
listen_tcp(const struct config *cfg, char *err, size_t errsize)
{
	char host[CONFIG_STR];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *res = NULL;
	const char *port;
	char *colon;
	int fd = -1, one = 1, r;

	snprintf(host, sizeof(host), "%s", cfg->fcgi_listen);
	if ((colon = strrchr(host, ':')) == NULL) {
		snprintf(err, errsize, "[fastcgi] listen: \"%s\" is neither a "
		    "path nor host:port", cfg->fcgi_listen);
		return -1;
	}
	*colon = '\0';
	port = colon + 1;
	if (host[0] == '[' && colon[-1] == ']') {  /* [::1]:9000 */
		colon[-1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errsize, "[fastcgi] listen: %s", gai_strerror(r));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1) {
		snprintf(err, errsize, "%s: %s", cfg->fcgi_listen,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* systemd's LISTEN_FDS (fd 3), else fd 0 as spawn-fcgi leaves it. */
static int
listen_inherited(char *err, size_t errsize)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int fd = 0, accepting = 0;
	socklen_t len = sizeof(accepting);

	if (pid != NULL && fds != NULL && atol(pid) == (long)getpid() &&
	    atoi(fds) >= 1)
		fd = 3;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == -1 ||
	    !accepting) {
		snprintf(err, errsize, "no [fastcgi] listen set and fd %d is not "
		    "a listening socket (spawn-fcgi or systemd socket activation "
		    "pass one)", fd);
		return -1;
	}
	return fd;
}

int
fcgi_listen(const struct config *cfg, char *err, size_t errsize)
{
	int fd;

	if (cfg->fcgi_listen[0] == '\0')
		fd = listen_inherited(err, errsize);
	else if (cfg->fcgi_listen[0] == '/')
		fd = listen_unix(cfg, err, errsize);
	else
		fd = listen_tcp(cfg, err, errsize);
	/* Non-blocking, so that a thread that lost the race for a connection
	 * comes back to poll instead of sleeping in accept. */
	if (fd != -1 && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		snprintf(err, errsize, "fcntl: %s", strerror(errno));
		return -1;
	}
	return fd;
}

const char *
fcgi_param(struct fcgi_ctx *c, const char *name)
{
	return FCGX_GetParam(name, c->req->envp);
}

static void
handle_locations(struct fcgi_ctx *c)
{
	struct buf json = { 0 };

	if (store_locations_json(c->store, &json) != STORE_OK) {
		http_header(&c->ans, "Retry-After", "30");
		c->ans.json = true;
		http_error(&c->ans, 503, "the database is unavailable");
	} else {
		c->ans.status = 200;
		c->ans.content_type = "application/json";
		buf_add(&c->ans.body, json.p, json.len);
		if (json.failed)
			c->ans.body.failed = true;
	}
	buf_free(&json);
}

static void
handle_healthz(struct fcgi_ctx *c)
{
	if (store_healthy(c->store))
		http_text(&c->ans, 200, "ok\n");
	else {
		http_header(&c->ans, "Retry-After", "30");
		/* JSON mode: every error but 422 is {"error": ...} */
		if (c->ans.json)
			http_error(&c->ans, 503, "the database is unavailable");
		else
			http_text(&c->ans, 503, "database unavailable\n");
	}
}

static void
handle_metrics(struct fcgi_ctx *c)
{
	c->ans.status = 200;
	c->ans.content_type = "text/plain; version=0.0.4; charset=utf-8";
	metrics_render(&c->ans.body);
	/* The queue lives in the database; without it, say so in a gauge. */
	buf_printf(&c->ans.body, "# HELP frontdesk_database_up Whether the "
	    "database answered this scrape.\n# TYPE frontdesk_database_up "
	    "gauge\nfrontdesk_database_up %d\n",
	    store_outbox_stats(c->store, &c->ans.body) == STORE_OK);
}

static const struct route {
	const char *path;
	const char *method;   /* GET routes answer HEAD too */
	void (*handle)(struct fcgi_ctx *);
	enum metrics_route metric;
} routes[] = {
	{ "/appointments", "POST", submit_handle, METRICS_ROUTE_APPOINTMENTS },
	{ "/locations", "GET", handle_locations, METRICS_ROUTE_LOCATIONS },
	{ "/healthz", "GET", handle_healthz, METRICS_ROUTE_HEALTHZ },
	{ "/metrics", "GET", handle_metrics, METRICS_ROUTE_METRICS },
};

/* The path below [http] prefix, or NULL when outside it. */
static const char *
route_path(struct fcgi_ctx *c, char *buf, size_t size)
{
	const char *uri = fcgi_param(c, "REQUEST_URI");
	size_t plen = strlen(c->cfg->http_prefix), n;

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
	if (strncmp(buf, c->cfg->http_prefix, plen) != 0)
		return NULL;
	return buf + plen;
}

static void
dispatch(struct fcgi_ctx *c)
{
	const char *method = fcgi_param(c, "REQUEST_METHOD"), *path;
	char pathbuf[512];

	c->ans.json = http_wants_json(fcgi_param(c, "HTTP_ACCEPT"));
	c->route = METRICS_ROUTE_OTHER;
	path = route_path(c, pathbuf, sizeof(pathbuf));
	for (size_t i = 0; path != NULL && i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *r = &routes[i];
		bool get = strcmp(r->method, "GET") == 0;

		if (strcmp(path, r->path) != 0)
			continue;
		c->route = (int)r->metric;
		if (method != NULL && (strcmp(method, r->method) == 0 ||
		    (get && strcmp(method, "HEAD") == 0))) {
			r->handle(c);
			return;
		}
		http_header(&c->ans, "Allow", get ? "GET, HEAD" : "POST");
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
	struct fcgi_ctx c = { .req = req, .cfg = w->cfg, .store = &w->store };
	const char *method = fcgi_param(&c, "REQUEST_METHOD");
	struct buf out = { 0 };
	struct timespec t0;
	char q[600];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	dispatch(&c);
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
	metrics_request((enum metrics_route)c.route, c.ans.status,
	    elapsed_ms(&t0) / 1e3);
	log_info("request", "method=%s path=%s status=%d ms=%.2f%s%s",
	    method ? method : "-", log_quote(q, sizeof(q),
	    fcgi_param(&c, "REQUEST_URI")), c.ans.status, elapsed_ms(&t0),
	    c.reference ? " reference=" : "", c.reference ? c.reference : "");
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
	/* Connect early so that the first request does not pay for it; a
	 * database that is down now is retried per request. */
	(void)store_open(&w->store);
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
	store_close(&w->store);
	return NULL;
}

/* How a spooled request fared: 0 stored; 1 the database is gone, keep
 * it and stop; 2 refused for now (a lock or statement timeout, say): keep
 * it, go on with the next; -1 never (its location no longer exists). An
 * accepted request is never dropped for a passing error. */
static int
replay_entry(const struct spool_entry *e, void *arg)
{
	switch (store_replay(arg, e)) {
	case STORE_OK:
		return 0;
	case STORE_DOWN:
		return 1;
	case STORE_LOCATION_GONE:
		return -1;
	default:
		return 2;
	}
}

/* Keeps dir/locations.json in step with the database's active locations,
 * writing only when they changed. */
static void
refresh_locations(const struct config *cfg, struct store *st, char **last)
{
	char **pairs, *joined = NULL;
	size_t n, len = 0;

	if (store_active_locations(st, &pairs, &n) != STORE_OK)
		return;
	for (size_t i = 0; i < 2 * n; i++)
		len += strlen(pairs[i]) + 1;
	if ((joined = calloc(1, len + 1)) != NULL) {
		for (size_t i = 0; i < 2 * n; i++) {
			strcat(joined, pairs[i]);
			strcat(joined, "\n");
		}
		if ((*last == NULL || strcmp(*last, joined) != 0) &&
		    spool_save_locations(cfg->spool_dir,
		    (const char *const *)pairs, n) == 0) {
			free(*last);
			*last = joined;
			joined = NULL;
		}
	}
	free(joined);
	for (size_t i = 0; i < 2 * n; i++)
		free(pairs[i]);
	free(pairs);
}

/* The spool's replayer: once a second, while requests wait on disk and
 * the database answers, stores them; every few seconds it notes the
 * active locations, for validating posts while the database is down. */
static void *
replayer_main(void *arg)
{
	const struct config *cfg = arg;
	struct store st = { .conninfo = cfg->db_conninfo,
	    .app_name = "frontdesk-spool" };
	struct pollfd pfd = { .fd = wake_pipe[0], .events = POLLIN };
	struct timespec now, last = { 0 };
	char *known = NULL;

	for (;;) {
		bool pending = spool_pending(cfg->spool_dir);

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (pending || now.tv_sec - last.tv_sec >= 5) {
			last = now;
			if (store_open(&st) == 0) {
				refresh_locations(cfg, &st, &known);
				if (pending)
					spool_replay(cfg->spool_dir, replay_entry,
					    &st);
			}
		}
		if (poll(&pfd, 1, 1000) > 0 || atomic_load(&stopping))
			break;
	}
	free(known);
	store_close(&st);
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
fcgi_run(const struct config *cfg, int listen_fd)
{
	pthread_t replayer;
	bool replaying = false;
	struct worker *workers;
	sigset_t set;
	long n = cfg->fcgi_threads, started = 0;
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

	if ((workers = calloc((size_t)n, sizeof(*workers))) == NULL)
		fatal("out_of_memory", NULL);
	for (long i = 0; i < n; i++) {
		workers[i].listen_fd = listen_fd;
		workers[i].cfg = cfg;
		workers[i].store.conninfo = cfg->db_conninfo;
		workers[i].store.app_name = "frontdesk";
		if (pthread_create(&workers[i].tid, NULL, worker_main,
		    &workers[i]) != 0) {
			log_error("thread_create_failed", "thread=%ld", i);
			break;
		}
		started++;
	}
	if (cfg->spool_dir[0] != '\0' && started > 0)
		replaying = pthread_create(&replayer, NULL, replayer_main,
		    (void *)cfg) == 0;
	log_info("started", "threads=%ld listen=%s", started,
	    cfg->fcgi_listen[0] ? cfg->fcgi_listen : "inherited");
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
	if (replaying)
		pthread_join(replayer, NULL);
	free(workers);
	log_info("stopped", NULL);
	return started > 0 ? 0 : 1;
}
