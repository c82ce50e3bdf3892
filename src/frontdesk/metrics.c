/* metrics: this process's counters and latency histogram, Prometheus text. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"

static const char *const route_names[METRICS_ROUTES] = {
	"appointments", "locations", "healthz", "metrics", "other" };
static const char *const sub_names[METRICS_SUBS] = {
	"accepted", "spam", "replayed", "rejected", "conflict", "unavailable",
	"limited" };
/* The statuses frontdesk answers with; anything else counts as "other". */
static const int statuses[] = { 200, 201, 303, 400, 404, 405, 409, 413, 415,
    422, 429, 500, 503 };
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]) + 1)
/* Upper bounds in seconds, as Prometheus "le" labels. */
static const double bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))

static atomic_ulong requests[METRICS_ROUTES][NSTATUS];
static atomic_ulong submissions[METRICS_SUBS];
static atomic_ulong buckets[METRICS_ROUTES][NBOUNDS + 1];  /* last: +Inf */
static atomic_ulong duration_us[METRICS_ROUTES];

static size_t
status_index(int status)
{
	for (size_t i = 0; i < NSTATUS - 1; i++)
		if (statuses[i] == status)
			return i;
	return NSTATUS - 1;
}

void
metrics_request(enum metrics_route route, int status, double seconds)
{
	size_t b = 0;

	if ((unsigned)route >= METRICS_ROUTES)
		route = METRICS_ROUTE_OTHER;
	atomic_fetch_add_explicit(&requests[route][status_index(status)], 1,
	    memory_order_relaxed);
	while (b < NBOUNDS && seconds > bounds[b])
		b++;
	atomic_fetch_add_explicit(&buckets[route][b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&duration_us[route],
	    (unsigned long)(seconds * 1e6), memory_order_relaxed);
}

void
metrics_submission(enum metrics_submission outcome)
{
	if ((unsigned)outcome < METRICS_SUBS)
		atomic_fetch_add_explicit(&submissions[outcome], 1,
		    memory_order_relaxed);
}

static void
render_requests(struct buf *out)
{
	buf_adds(out, "# HELP frontdesk_http_requests_total Requests answered, "
	    "by route and status.\n# TYPE frontdesk_http_requests_total "
	    "counter\n");
	for (size_t r = 0; r < METRICS_ROUTES; r++)
		for (size_t s = 0; s < NSTATUS; s++) {
			unsigned long n = atomic_load(&requests[r][s]);
			char code[16];

			if (n == 0)
				continue;
			if (s < NSTATUS - 1)
				snprintf(code, sizeof(code), "%d", statuses[s]);
			else
				strcpy(code, "other");
			buf_printf(out, "frontdesk_http_requests_total{route=\"%s\","
			    "status=\"%s\"} %lu\n", route_names[r], code, n);
		}
}

static void
render_histogram(struct buf *out)
{
	buf_adds(out, "# HELP frontdesk_request_duration_seconds Time from "
	    "the request's arrival to its answer.\n# TYPE "
	    "frontdesk_request_duration_seconds histogram\n");
	for (size_t r = 0; r < METRICS_ROUTES; r++) {
		unsigned long cum = 0;

		for (size_t b = 0; b <= NBOUNDS; b++) {
			cum += atomic_load(&buckets[r][b]);
			if (b < NBOUNDS)
				buf_printf(out, "frontdesk_request_duration_seconds_"
				    "bucket{route=\"%s\",le=\"%g\"} %lu\n",
				    route_names[r], bounds[b], cum);
			else
				buf_printf(out, "frontdesk_request_duration_seconds_"
				    "bucket{route=\"%s\",le=\"+Inf\"} %lu\n",
				    route_names[r], cum);
		}
		buf_printf(out, "frontdesk_request_duration_seconds_sum{route="
		    "\"%s\"} %.6f\n", route_names[r],
		    (double)atomic_load(&duration_us[r]) / 1e6);
		buf_printf(out, "frontdesk_request_duration_seconds_count{route="
		    "\"%s\"} %lu\n", route_names[r], cum);
	}
}

void
metrics_render(struct buf *out)
{
	render_requests(out);
	buf_adds(out, "# HELP frontdesk_submissions_total Appointment posts, "
	    "by outcome.\n# TYPE frontdesk_submissions_total counter\n");
	for (size_t i = 0; i < METRICS_SUBS; i++)
		buf_printf(out, "frontdesk_submissions_total{outcome=\"%s\"} %lu\n",
		    sub_names[i], atomic_load(&submissions[i]));
	render_histogram(out);
}

void
metrics_reset(void)
{
	for (size_t r = 0; r < METRICS_ROUTES; r++) {
		for (size_t s = 0; s < NSTATUS; s++)
			atomic_store(&requests[r][s], 0);
		for (size_t b = 0; b <= NBOUNDS; b++)
			atomic_store(&buckets[r][b], 0);
		atomic_store(&duration_us[r], 0);
	}
	for (size_t i = 0; i < METRICS_SUBS; i++)
		atomic_store(&submissions[i], 0);
}
