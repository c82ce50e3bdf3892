/* test_session: the console's cookie reading and origin rule. */
#include <string.h>

#include "session_rules.h"
#include "tap.h"

static const struct {
	const char *header;
	const char *want;    /* NULL: no token */
} cookies[] = {
	{ "__Host-fd_session=abcDEF123_-", "abcDEF123_-" },
	{ "a=1; __Host-fd_session=tok; b=2", "tok" },
	{ "__Host-fd_session=first; __Host-fd_session=second", "first" },
	{ "x__Host-fd_session=tok", NULL },
	{ "__Host-fd_session=", NULL },
	{ "__Host-fd_session=a b", NULL },
	{ "__Host-fd_session=\"quoted\"", NULL },
	{ "__Host-fd_session=a;b", "a" },
	{ "fd_session=tok", NULL },
	{ NULL, NULL },
	{ "", NULL },
};

static const struct {
	const char *configured, *scheme, *https, *host, *port, *want;
} owns[] = {
	{ "", "http", NULL, "127.0.0.1:8080", "8080", "http://127.0.0.1:8080" },
	{ "", "http", NULL, "127.0.0.1", "8080", "http://127.0.0.1:8080" },
	{ "", "https", NULL, "Staff.Clinic.Example", "443",
	    "https://staff.clinic.example" },
	{ "", NULL, "on", "staff.clinic.example", "8443",
	    "https://staff.clinic.example:8443" },
	{ "", "http", NULL, "[::1]", "8080", "http://[::1]:8080" },
	{ "", "http", NULL, "[::1]:9", "9", "http://[::1]:9" },
	{ "https://staff.clinic.example/", "http", NULL, "x", "1",
	    "https://staff.clinic.example" },
};

static const struct {
	const char *origin;
	bool foreign;
} origins[] = {
	{ NULL, false },
	{ "http://127.0.0.1:8080", false },
	{ "HTTP://127.0.0.1:8080", false },
	{ "http://127.0.0.1:8081", true },
	{ "http://127.0.0.1:8080.evil.example", true },
	{ "http://127.0.0.1", true },
	{ "https://127.0.0.1:8080", true },
	{ "null", true },
	{ "", true },
};

int
main(void)
{
	char out[64], own[300];

	for (size_t i = 0; i < sizeof(cookies) / sizeof(cookies[0]); i++) {
		bool got = session_cookie_token(cookies[i].header,
		    "__Host-fd_session", out, sizeof(out));

		tap_ok(got == (cookies[i].want != NULL) && (!got ||
		    strcmp(out, cookies[i].want) == 0), "cookie \"%s\"",
		    cookies[i].header ? cookies[i].header : "(none)");
	}
	tap_ok(!session_cookie_token("__Host-fd_session=0123456789", "__Host-"
	    "fd_session", out, 5), "a token longer than its buffer is none");
	for (size_t i = 0; i < sizeof(owns) / sizeof(owns[0]); i++) {
		session_own_origin(owns[i].configured, owns[i].scheme,
		    owns[i].https, owns[i].host, owns[i].port, own, sizeof(own));
		tap_ok(strcmp(own, owns[i].want) == 0, "own origin %s (want %s)",
		    own, owns[i].want);
	}
	for (size_t i = 0; i < sizeof(origins) / sizeof(origins[0]); i++)
		tap_ok(session_origin_foreign(origins[i].origin,
		    "http://127.0.0.1:8080") == origins[i].foreign,
		    "Origin %s is %s", origins[i].origin ? origins[i].origin :
		    "(none)", origins[i].foreign ? "foreign" : "own");
	return tap_done();
}
