/* http: answers (status lines, JSON and HTML bodies, escaping). */
#ifndef FRONTDESK_HTTP_H
#define FRONTDESK_HTTP_H

#include <stdbool.h>

#include "buf.h"
#include "validate.h"

/* An answer being built: the CGI header block and the body, apart. */
struct http_answer {
	int status;
	bool json;            /* JSON mode (Accept has application/json) */
	struct buf headers;   /* extra header lines, each ending in \r\n */
	struct buf body;
	const char *content_type;
};

const char *http_reason(int status);
/* Does this Accept header ask for JSON? */
bool http_wants_json(const char *accept);
/* A thank-you URL we will redirect to: a path on this site ("/...", not
 * "//") or an http(s):// URL, printable ASCII, at most HTTP_URL_MAX. */
#define HTTP_URL_MAX 500
bool http_redirect_url_ok(const char *s);
void http_html_escape(struct buf *b, const char *s);

/* Each fills `a` (status, content type, body) in its mode. */
void http_error(struct http_answer *a, int status, const char *why);
void http_invalid(struct http_answer *a, const struct validate_errors *e);
void http_accepted(struct http_answer *a, const char *reference,
    const char *thank_you_url);
void http_text(struct http_answer *a, int status, const char *text);
/* Appends a header line; name and value must be trusted text. */
void http_header(struct http_answer *a, const char *name, const char *value);

/* The URL with "ref=REFERENCE" added to its query. */
void http_thank_you_url(struct buf *b, const char *url, const char *ref);

/* Writes the whole CGI answer ("Status: ...") into out. */
void http_serialize(struct http_answer *a, struct buf *out);
void http_answer_free(struct http_answer *a);

#endif
