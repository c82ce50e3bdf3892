/* Unit tests for frontdesk/reply.c: the answers to a post. */
#include <string.h>

#include "reply.h"
#include "tap.h"
#include "../common/serialize.h"

static const struct {
	const char *url, *want;
} urls[] = {
	{ "/thank-you/", "/thank-you/?ref=FD-ABCDEFGH" },
	{ "/thanks?x=1", "/thanks?x=1&ref=FD-ABCDEFGH" },
	{ "/thanks#top", "/thanks?ref=FD-ABCDEFGH#top" },
	{ "https://c.example/t/?a=b#f", "https://c.example/t/?a=b&ref=FD-ABCDEFGH#f" },
};

int
main(void)
{
	struct http_answer a = { 0 };
	struct validate_errors e = { .n = 2, .e = {
	    { "email", "is required" }, { "first_name", "<b>&\"'" } } };
	struct buf out = { 0 };

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		struct buf b = { 0 };

		reply_thank_you_url(&b, urls[i].url, "FD-ABCDEFGH");
		tap_ok(strcmp(buf_str(&b), urls[i].want) == 0, "url %s -> %s",
		    urls[i].url, buf_str(&b));
		buf_free(&b);
	}
	a.json = true;
	reply_accepted(&a, "FD-ABCDEFGH", "/t/");
	serialize(&a, &out);
	tap_ok(a.status == 201 && strstr(out.p, "Status: 201 Created\r\n") &&
	    strstr(out.p, "\r\n\r\n{\"reference\":\"FD-ABCDEFGH\","
	    "\"status\":\"received\"}"), "JSON accepted");
	http_answer_free(&a);

	memset(&a, 0, sizeof(a));
	reply_accepted(&a, "FD-ABCDEFGH", "/t/");
	serialize(&a, &out);
	tap_ok(a.status == 303 && strstr(out.p, "Status: 303 See Other\r\n") &&
	    strstr(out.p, "Location: /t/?ref=FD-ABCDEFGH\r\n"), "HTML 303");
	http_answer_free(&a);

	memset(&a, 0, sizeof(a));
	a.json = true;
	reply_invalid(&a, &e);
	tap_ok(a.status == 422 && strcmp(a.body.p, "{\"errors\":{\"email\":"
	    "\"is required\",\"first_name\":\"<b>&\\\"'\"}}") == 0,
	    "JSON 422: %s", a.body.p);
	http_answer_free(&a);

	memset(&a, 0, sizeof(a));
	reply_invalid(&a, &e);
	tap_ok(a.status == 422 && strstr(a.body.p, "&lt;b&gt;&amp;&quot;&#39;") &&
	    !strstr(a.body.p, "<b>&"), "HTML 422 escapes");
	tap_ok(strstr(a.body.p, "<strong>Email address</strong> is required") &&
	    strstr(a.body.p, "<strong>First name</strong>"),
	    "HTML 422 names fields by their labels");
	tap_ok(strstr(a.body.p, "javascript:") == NULL &&
	    strstr(a.body.p, "Back button") != NULL,
	    "HTML pages need no script to lead back");
	http_answer_free(&a);

	buf_free(&out);
	return tap_done();
}
