/* fcgi: the listening socket, the thread pool, routing and shutdown. */
#ifndef FRONTDESK_FCGI_H
#define FRONTDESK_FCGI_H

#include <fcgiapp.h>

#include "config.h"
#include "http.h"
#include "store.h"

/* What one request's handler has at hand. */
struct fcgi_ctx {
	FCGX_Request *req;
	const struct config *cfg;
	struct store *store;
	struct http_answer ans;
	int route;               /* enum metrics_route */
	const char *reference;   /* for the access log line, if any */
	char refbuf[16];
};

/* The listening socket per [fastcgi] listen, or the inherited one;
 * returns the fd or -1 with err filled. */
int fcgi_listen(const struct config *cfg, char *err, size_t errsize);
/* Removes the socket file fcgi_listen made, if it is still that one. */
void fcgi_unlink_socket(const struct config *cfg);
/* Serves until SIGTERM or SIGINT, then drains and returns 0. */
/* Blocks SIGTERM, SIGINT, SIGHUP and SIGUSR1 (held until fcgi_run takes
 * them with sigwait) and ignores SIGPIPE: call it first thing, so that a
 * SIGTERM during start-up still ends in an orderly exit 0. */
void fcgi_hold_signals(void);
int fcgi_run(const struct config *cfg, int listen_fd);

/* A CGI parameter of the request, or NULL. */
const char *fcgi_param(struct fcgi_ctx *c, const char *name);

#endif
