/* routes: frontdesk's route table and its small handlers. */
#include <stdint.h>
#include <string.h>

#include "metrics.h"
#include "replayer.h"
#include "routes.h"
#include "submit.h"

static void
handle_locations(struct fcgi_ctx *c)
{
	struct buf json = { 0 };

	if (store_locations_json(routes_store(c), &json) != STORE_OK) {
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
	if (store_healthy(routes_store(c)))
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
	struct store *st = routes_store(c);
	bool up;

	c->ans.status = 200;
	c->ans.content_type = "text/plain; version=0.0.4; charset=utf-8";
	metrics_render(&c->ans.body);
	/* The queue lives in the database; without it, say so in a gauge
	 * (and leave the mailer's heartbeat out: nobody knows it then, and
	 * an absent heartbeat alerts as a stale one does). */
	up = store_outbox_stats(st, &c->ans.body) == STORE_OK;
	if (up)
		(void)store_mailer_heartbeat(st, &c->ans.body);
	buf_printf(&c->ans.body, "# HELP frontdesk_database_up Whether the "
	    "database answered this scrape.\n# TYPE frontdesk_database_up "
	    "gauge\nfrontdesk_database_up %d\n", up);
}

/* In enum metrics_route's order: a route's index is its metric. */
static const struct fcgi_route routes[] = {
	[METRICS_ROUTE_APPOINTMENTS] = { "/appointments", "POST", submit_handle },
	[METRICS_ROUTE_LOCATIONS] = { "/locations", "GET", handle_locations },
	[METRICS_ROUTE_HEALTHZ] = { "/healthz", "GET", handle_healthz },
	[METRICS_ROUTE_METRICS] = { "/metrics", "GET", handle_metrics },
};

static void
worker_open(void *state, const struct config *cfg)
{
	struct store *st = state;

	st->conninfo = cfg->db_conninfo;
	st->app_name = "frontdesk";
	/* Connect early so that the first request does not pay for it; a
	 * database that is down now is retried per request. */
	(void)store_open(st);
}

static void
worker_close(void *state)
{
	store_close(state);
}

static void
answered(const struct fcgi_ctx *c, double seconds)
{
	metrics_request(c->route < 0 ? METRICS_ROUTE_OTHER :
	    (enum metrics_route)c->route, c->ans.status, seconds);
}

void
routes_app(struct fcgi_app *app, const struct config *cfg)
{
	*app = (struct fcgi_app){
		.listen = cfg->fcgi_listen,
		.threads = cfg->fcgi_threads,
		.prefix = cfg->http_prefix,
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
		.worker_size = sizeof(struct store),
		.worker_open = worker_open,
		.worker_close = worker_close,
		.answered = answered,
	};
	if (cfg->spool_dir[0] != '\0') {
		app->background = replayer_main;
		app->background_arg = (void *)(uintptr_t)cfg;
	}
}
