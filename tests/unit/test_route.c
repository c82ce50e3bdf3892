/* Unit tests for common/route.c: who gets a location's email, the rule
 * the mailer sends by and the console previews. */
#include <stdio.h>
#include <string.h>

#include "route.h"
#include "tap.h"

static int
same(const char *const *got, size_t n, const char *const *want)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (want[i] == NULL || strcmp(got[i], want[i]) != 0)
			return 0;
	return want[i] == NULL;
}

static const struct {
	const char *what;
	const char *emails[6], *kinds[6];
	const char *default_to;
	const char *to[4], *cc[4], *bcc[4];
	size_t nall, skipped;
	bool fallback;
} routes[] = {
	{ "to, cc and bcc",
	  { "a@x.example", "b@x.example", "c@x.example" },
	  { "to", "cc", "bcc" }, "d@x.example",
	  { "a@x.example" }, { "b@x.example" }, { "c@x.example" }, 3, 0, false },
	{ "no routes: default_to",
	  { NULL }, { NULL }, "desk@clinic.example",
	  { "desk@clinic.example" }, { NULL }, { NULL }, 1, 0, true },
	{ "default_to list",
	  { NULL }, { NULL }, " a@x.example, b@x.example;c@x.example ",
	  { "a@x.example", "b@x.example", "c@x.example" }, { NULL }, { NULL },
	  3, 0, true },
	{ "no routes, no default_to",
	  { NULL }, { NULL }, "",
	  { NULL }, { NULL }, { NULL }, 0, 0, true },
	{ "bcc only: no default_to",
	  { "s@x.example" }, { "bcc" }, "d@x.example",
	  { NULL }, { NULL }, { "s@x.example" }, 1, 0, false },
	{ "invalid routes skipped",
	  { "ok@x.example", "bad\r\nBcc: e@evil.example", "no-at", "c@x.example" },
	  { "to", "to", "cc", "weird" }, "d@x.example",
	  { "ok@x.example" }, { NULL }, { NULL }, 1, 3, false },
	{ "all routes invalid: default_to",
	  { "bad address@x.example" }, { "to" }, "d@x.example",
	  { "d@x.example" }, { NULL }, { NULL }, 1, 1, true },
	{ "twice in the envelope: once",
	  { "a@x.example", "A@X.example", "b@x.example" }, { "to", "bcc", "cc" },
	  "", { "a@x.example" }, { "b@x.example" }, { NULL }, 2, 0, false },
};

static void
test_routes(void)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		struct route_rcpts r;
		size_t n = 0, got;

		while (routes[i].emails[n] != NULL)
			n++;
		got = route_resolve(&r, routes[i].emails, routes[i].kinds, n,
		    routes[i].default_to);
		tap_ok(got == routes[i].nall && r.nall == got &&
		    same(r.to, r.nto, routes[i].to) &&
		    same(r.cc, r.ncc, routes[i].cc) &&
		    same(r.bcc, r.nbcc, routes[i].bcc) &&
		    r.skipped == routes[i].skipped &&
		    r.fallback == routes[i].fallback, "route: %s",
		    routes[i].what);
	}
}

static void
test_many_routes(void)
{
	static char addrs[100][32];
	const char *emails[100], *kinds[100];
	struct route_rcpts r;

	for (int i = 0; i < 100; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "r%d@x.example", i);
		emails[i] = addrs[i];
		kinds[i] = "to";
	}
	tap_ok(route_resolve(&r, emails, kinds, 100, "") == ROUTE_MAX_RCPTS &&
	    r.skipped == 100 - ROUTE_MAX_RCPTS, "more routes than fit: "
	    "bounded, the rest counted");
}

int
main(void)
{
	test_routes();
	test_many_routes();
	return tap_done();
}
