/* metrics: this process's counters and latency histogram, Prometheus text. */
#ifndef FRONTDESK_METRICS_H
#define FRONTDESK_METRICS_H

#include "common/buf.h"

enum metrics_route {
	METRICS_ROUTE_APPOINTMENTS,
	METRICS_ROUTE_LOCATIONS,
	METRICS_ROUTE_HEALTHZ,
	METRICS_ROUTE_METRICS,
	METRICS_ROUTE_OTHER,
	METRICS_ROUTES
};

enum metrics_submission {
	METRICS_SUB_ACCEPTED,
	METRICS_SUB_SPAM,
	METRICS_SUB_REPLAYED,
	METRICS_SUB_REJECTED,   /* 422 */
	METRICS_SUB_CONFLICT,   /* 409 */
	METRICS_SUB_UNAVAILABLE,/* 503 */
	METRICS_SUB_LIMITED,    /* 429 */
	METRICS_SUBS
};

/* Counts one answered request; lock-free, callable from any thread. */
void metrics_request(enum metrics_route route, int status, double seconds);
void metrics_submission(enum metrics_submission outcome);
/* Appends this process's metrics in the Prometheus text format. */
void metrics_render(struct buf *out);
/* For the tests: forget everything. */
void metrics_reset(void);

#endif
