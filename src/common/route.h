/* route: who gets a location's email. The one rule, pure: the mailer
 * applies it at send time (outbox.c) and the console shows its answer
 * beside a location's routes (GET /locations' next_email), so that what
 * an admin sees is what the mailer will do. */
#ifndef FRONTDESK_ROUTE_H
#define FRONTDESK_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define ROUTE_MAX_RCPTS 64
/* Route rows a caller passes at most; the rest are counted as skipped. */
#define ROUTE_MAX_ROWS (2 * ROUTE_MAX_RCPTS)

/* Envelope and header recipients of one message. The pointers point into
 * the route rows given to route_resolve() or into `spare`. */
struct route_rcpts {
	const char *to[ROUTE_MAX_RCPTS], *cc[ROUTE_MAX_RCPTS];
	const char *bcc[ROUTE_MAX_RCPTS];
	size_t nto, ncc, nbcc;
	const char *all[3 * ROUTE_MAX_RCPTS];   /* the envelope, no twice */
	size_t nall;
	size_t skipped;           /* invalid or beyond ROUTE_MAX_RCPTS */
	bool fallback;            /* no usable routes: [mail] default_to */
	char spare[CONFIG_STR];
};

/* The recipients from a location's routes (kind "to", "cc" or "bcc");
 * invalid addresses are skipped; no usable route: default_to (addresses
 * separated by commas or spaces). Returns the envelope's size. */
size_t route_resolve(struct route_rcpts *r, const char *const *emails,
    const char *const *kinds, size_t n, const char *default_to);

#endif
