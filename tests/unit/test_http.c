/* Unit tests for http.c: answers in both modes, escaping, URLs. */
#include <string.h>

#include "http.h"
#include "tap.h"

static const struct {
	const char *url, *want;
} urls[] = {
	{ "/thank-you/", "/thank-you/?ref=FD-ABCDEFGH" },
	{ "/thanks?x=1", "/thanks?x=1&ref=FD-ABCDEFGH" },
	{ "/thanks#top", "/thanks?ref=FD-ABCDEFGH#top" },
	{ "https://c.example/t/?a=b#f", "https://c.example/t/?a=b&ref=FD-ABCDEFGH#f" },
};

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

static const struct {
	const char *url;
	bool ok;
} redirects[] = {
	{ "/thank-you/", true }, { "https://clinic.example/t", true },
	{ "http://clinic.example/", true }, { "", false },
	{ "//evil.example/", false }, { "/\\evil.example", false },
	{ "javascript:alert(1)", false }, { "/a b", false },
	{ "/a\r\nSet-Cookie: x", false }, { "https://", false },
	{ "thanks.html", false },
};

static void
serialize(struct http_answer *a, struct buf *out)
{
	buf_reset(out);
	http_serialize(a, out);
}

int
main(void)
{
	struct http_answer a = { 0 };
	struct validate_errors e = { .n = 2, .e = {
	    { "email", "is required" }, { "first_name", "<b>&\"'" } } };
	struct buf out = { 0 };

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		struct buf b = { 0 };

		http_thank_you_url(&b, urls[i].url, "FD-ABCDEFGH");
		tap_ok(strcmp(buf_str(&b), urls[i].want) == 0, "url %s -> %s",
		    urls[i].url, buf_str(&b));
		buf_free(&b);
	}
	for (size_t i = 0; i < sizeof(accepts) / sizeof(accepts[0]); i++)
		tap_ok(http_wants_json(accepts[i].accept) == accepts[i].json,
		    "Accept %s", accepts[i].accept ? accepts[i].accept : "(none)");

	for (size_t i = 0; i < sizeof(redirects) / sizeof(redirects[0]); i++)
		tap_ok(http_redirect_url_ok(redirects[i].url) == redirects[i].ok,
		    "redirect URL \"%s\" %s", redirects[i].url,
		    redirects[i].ok ? "ok" : "refused");

	a.json = true;
	http_accepted(&a, "FD-ABCDEFGH", "/t/");
	serialize(&a, &out);
	tap_ok(a.status == 201 && strstr(out.p, "Status: 201 Created\r\n") &&
	    strstr(out.p, "\r\n\r\n{\"reference\":\"FD-ABCDEFGH\","
	    "\"status\":\"received\"}"), "JSON accepted");
	http_answer_free(&a);

	memset(&a, 0, sizeof(a));
	http_accepted(&a, "FD-ABCDEFGH", "/t/");
	serialize(&a, &out);
	tap_ok(a.status == 303 && strstr(out.p, "Status: 303 See Other\r\n") &&
	    strstr(out.p, "Location: /t/?ref=FD-ABCDEFGH\r\n"), "HTML 303");
	http_answer_free(&a);

	memset(&a, 0, sizeof(a));
	a.json = true;
	http_invalid(&a, &e);
	tap_ok(a.status == 422 && strcmp(a.body.p, "{\"errors\":{\"email\":"
	    "\"is required\",\"first_name\":\"<b>&\\\"'\"}}") == 0,
	    "JSON 422: %s", a.body.p);
	http_answer_free(&a);

	memset(&a, 0, sizeof(a));
	http_invalid(&a, &e);
	tap_ok(a.status == 422 && strstr(a.body.p, "&lt;b&gt;&amp;&quot;&#39;") &&
	    !strstr(a.body.p, "<b>&"), "HTML 422 escapes");
	tap_ok(strstr(a.body.p, "<strong>Email address</strong> is required") &&
	    strstr(a.body.p, "<strong>First name</strong>"),
	    "HTML 422 names fields by their labels");
	tap_ok(strstr(a.body.p, "javascript:") == NULL &&
	    strstr(a.body.p, "Back button") != NULL,
	    "HTML pages need no script to lead back");
	http_answer_free(&a);

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

	tap_ok(strcmp(http_reason(413), "Content Too Large") == 0, "413 reason");
	tap_ok(strcmp(http_reason(415), "Unsupported Media Type") == 0, "415");
	buf_free(&out);
	return tap_done();
}
