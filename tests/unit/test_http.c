/* Unit tests for web/http.c: answers in both modes, escaping, Accept. */
#include <string.h>

#include "fcgi.h"
#include "http.h"
#include "tap.h"
#include "../common/serialize.h"

static const struct {
	const char *accept;
	bool json;
} accepts[] = {
	{ NULL, false },
	{ "text/html,application/xhtml+xml", false },
	{ "application/json", true },
	{ "text/html, Application/JSON;q=0.9", true },
	{ "*/*", false },
	{ "application/json;q=0", false },
	{ "application/json; q=0.000, text/html", false },
	{ "text/html;q=0.9, application/json;q=0.1", true },
	{ "application/jsonx", false },
	{ "application/json-patch+json", false },
	{ "application/json; charset=utf-8", true },
	{ "  application/json  ", true },
	{ "text/html,application/json;q=0.01", true },
	{ "", false },
};

int
main(void)
{
	struct http_answer a = { 0 };
	struct buf out = { 0 };

	for (size_t i = 0; i < sizeof(accepts) / sizeof(accepts[0]); i++)
		tap_ok(http_wants_json(accepts[i].accept) == accepts[i].json,
		    "Accept %s", accepts[i].accept ? accepts[i].accept : "(none)");

	memset(&a, 0, sizeof(a));
	a.json = true;
	http_header(&a, "Retry-After", "30");
	http_error(&a, 503, "down");
	serialize(&a, &out);
	tap_ok(strstr(out.p, "Retry-After: 30\r\n") &&
	    strstr(out.p, "{\"error\":\"down\"}"), "JSON error with header");
	http_answer_free(&a);

	memset(&a, 0, sizeof(a));
	http_error(&a, 404, "not <found>");
	tap_ok(a.status == 404 && strstr(a.body.p, "not &lt;found&gt;") &&
	    strstr(a.content_type, "text/html"), "HTML error page escapes");
	http_answer_free(&a);

	memset(&a, 0, sizeof(a));
	http_text(&a, 200, "ok\n");
	serialize(&a, &out);
	tap_ok(strstr(out.p, "Cache-Control: no-store\r\n") &&
	    strstr(out.p, "X-Content-Type-Options: nosniff\r\n") &&
	    strstr(out.p, "Content-Length: 3\r\n"), "every answer: no-store, nosniff, length");
	http_answer_free(&a);

	/* fcgi_note: pairs for the one access line, each whole or not at
	 * all. */
	{
		static struct fcgi_ctx c;
		char big[sizeof(c.note)];

		fcgi_note(&c, "outcome=%s location=%s", "accepted", "midtown");
		fcgi_note(&c, "n=%d", 7);
		tap_ok(strcmp(c.note, " outcome=accepted location=midtown n=7")
		    == 0 && c.note_len == strlen(c.note), "notes: %s", c.note);
		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		fcgi_note(&c, "big=%s", big);
		tap_ok(strcmp(c.note, " outcome=accepted location=midtown n=7")
		    == 0, "a pair that does not fit is left out: %s", c.note);
		fcgi_note(&c, "after=1");
		tap_ok(strcmp(c.note, " outcome=accepted location=midtown n=7 "
		    "after=1") == 0, "and the next still goes in: %s", c.note);
	}

	tap_ok(strcmp(http_reason(413), "Content Too Large") == 0, "413 reason");
	tap_ok(strcmp(http_reason(415), "Unsupported Media Type") == 0, "415");
	buf_free(&out);
	return tap_done();
}
