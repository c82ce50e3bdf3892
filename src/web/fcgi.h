/* fcgi: the thread pool, routing, the access log line and shutdown of a
 * FastCGI program (frontdesk, and the console after it). A program hands
 * over a struct fcgi_app; nothing here calls a program's function by name. */
#ifndef FRONTDESK_FCGI_H
#define FRONTDESK_FCGI_H

#include <stdbool.h>
#include <stddef.h>

#include <fcgiapp.h>

#include "common/config.h"
#include "http.h"

/* What one request's handler has at hand. */
struct fcgi_ctx {
	FCGX_Request *req;
	const struct config *cfg;
	void *worker;            /* the program's per-thread state */
	struct http_answer ans;
	int route;               /* index of the matched route, -1 for none */
	/* The path's segments that matched a route's '*' (each NUL-ended,
	 * percent-decoded; at most FCGI_ARGS of FCGI_ARG_MAX bytes). */
	const char *arg[4];
	size_t nargs;
	char argbuf[4][256];
	const char *reference;   /* for the access log line, if any */
	char refbuf[16];
	/* More key=value pairs for the access log line (fcgi_note). */
	char note[200];
	size_t note_len;
};

struct fcgi_route {
	/* Below the app's prefix, e.g. "/healthz"; a segment "*" matches any
	 * one non-empty segment (the pattern /requests/STAR, "*" for STAR,
	 * matches /requests/FD-...). */
	const char *path;
	const char *method;      /* GET routes answer HEAD too */
	void (*handle)(struct fcgi_ctx *);
};

struct fcgi_app {
	const char *listen;      /* what it listens on, for the log ("": inherited) */
	long threads;            /* the pool's size */
	const char *prefix;      /* where the routes live, e.g. "/api" */
	const struct fcgi_route *routes;
	size_t nroutes;
	size_t worker_size;      /* bytes of per-thread state, zeroed */
	/* Each thread's state, at its start and its end (either may be NULL). */
	void (*worker_open)(void *state, const struct config *cfg);
	void (*worker_close)(void *state);
	/* After each answer went out (metrics); may be NULL. */
	void (*answered)(const struct fcgi_ctx *c, double seconds);
	/* A thread of the program's own beside the pool, or NULL. It must
	 * return once fcgi_stop_fd() turns readable. */
	void *(*background)(void *arg);
	void *background_arg;
	/* Header lines (each ending in CRLF) every answer carries, or NULL. */
	const char *headers;
	/* The app's own checks before the handler (sessions, say), given the
	 * route that matched; it may answer instead (return false). NULL:
	 * none. */
	bool (*before)(struct fcgi_ctx *c, const struct fcgi_route *r);
};

/* Blocks SIGTERM, SIGINT, SIGHUP and SIGUSR1 (held until fcgi_run takes
 * them with sigwait) and ignores SIGPIPE: call it first thing, so that a
 * SIGTERM during start-up still ends in an orderly exit 0. */
void fcgi_hold_signals(void);
/* Serves app on listen_fd with app->threads threads until SIGTERM or
 * SIGINT, then drains and returns 0 (1 when no thread could start). */
int fcgi_run(const struct config *cfg, int listen_fd,
    const struct fcgi_app *app);

/* A CGI parameter of the request, or NULL. */
const char *fcgi_param(struct fcgi_ctx *c, const char *name);
/* Reads the whole body (CONTENT_LENGTH; none is empty) into *body, NUL
 * terminated, owned by the caller: 0. A body over max is read to its end
 * and dropped, so the web server can deliver the 413 set here: -1. A bad
 * length or a body cut short: 400 set, -2 (500 when out of memory). */
int fcgi_read_body(struct fcgi_ctx *c, size_t max, char **body, size_t *len);
/* Adds " key=value ..." to the request's one log line (its access line):
 * what the handler found out, without a line of its own. The caller
 * escapes every value (log_value, log_quote); what does not fit is cut
 * at a pair's end. */
void fcgi_note(struct fcgi_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Readable once, for good, when shutdown begins (poll it). */
int fcgi_stop_fd(void);
bool fcgi_stopping(void);

#endif
