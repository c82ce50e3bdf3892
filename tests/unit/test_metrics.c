/* Unit tests for metrics.c: counters, histogram buckets, text format. */
#include <string.h>

#include "metrics.h"
#include "tap.h"

static const struct {
	double seconds;
	const char *line;  /* a bucket line that must count it */
} buckets[] = {
	{ 0.0005, "bucket{route=\"appointments\",le=\"0.001\"} 1\n" },
	{ 0.001, "bucket{route=\"appointments\",le=\"0.001\"} 1\n" },
	{ 0.002, "bucket{route=\"appointments\",le=\"0.0025\"} 1\n" },
	{ 0.3, "bucket{route=\"appointments\",le=\"0.5\"} 1\n" },
	{ 11, "bucket{route=\"appointments\",le=\"+Inf\"} 1\n" },
};

int
main(void)
{
	struct buf b = { 0 };

	for (size_t i = 0; i < sizeof(buckets) / sizeof(buckets[0]); i++) {
		metrics_reset();
		buf_reset(&b);
		metrics_request(METRICS_ROUTE_APPOINTMENTS, 201,
		    buckets[i].seconds);
		metrics_render(&b);
		tap_ok(strstr(buf_str(&b), buckets[i].line) != NULL,
		    "%gs lands in %.*s", buckets[i].seconds,
		    (int)strlen(buckets[i].line) - 1, buckets[i].line);
	}
	metrics_reset();
	buf_reset(&b);
	for (int i = 0; i < 3; i++)
		metrics_request(METRICS_ROUTE_APPOINTMENTS, 201, 0.004);
	metrics_request(METRICS_ROUTE_APPOINTMENTS, 422, 0.002);
	metrics_request(METRICS_ROUTE_OTHER, 404, 0.0001);
	metrics_request(METRICS_ROUTE_LOCATIONS, 299, 0.0001);
	metrics_submission(METRICS_SUB_ACCEPTED);
	metrics_submission(METRICS_SUB_SPAM);
	metrics_submission(METRICS_SUB_SPAM);
	metrics_render(&b);
	tap_ok(strstr(b.p, "frontdesk_http_requests_total{route=\"appointments\","
	    "status=\"201\"} 3\n") != NULL, "201s counted");
	tap_ok(strstr(b.p, "{route=\"appointments\",status=\"422\"} 1\n") != NULL,
	    "422 counted apart");
	tap_ok(strstr(b.p, "{route=\"other\",status=\"404\"} 1\n") != NULL,
	    "404 on other route");
	tap_ok(strstr(b.p, "{route=\"locations\",status=\"other\"} 1\n") != NULL,
	    "unknown status is other");
	tap_ok(strstr(b.p, "frontdesk_submissions_total{outcome=\"spam\"} 2\n")
	    != NULL, "spam counted");
	tap_ok(strstr(b.p, "frontdesk_request_duration_seconds_count{route="
	    "\"appointments\"} 4\n") != NULL, "histogram count");
	tap_ok(strstr(b.p, "frontdesk_request_duration_seconds_bucket{route="
	    "\"appointments\",le=\"0.0025\"} 1\n") != NULL &&
	    strstr(b.p, "frontdesk_request_duration_seconds_bucket{route="
	    "\"appointments\",le=\"0.005\"} 4\n") != NULL, "cumulative buckets");
	tap_ok(strstr(b.p, "# TYPE frontdesk_request_duration_seconds "
	    "histogram\n") != NULL, "TYPE line");
	buf_free(&b);
	return tap_done();
}
