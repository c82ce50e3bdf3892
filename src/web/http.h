/* http: answers (status lines, JSON and HTML bodies, escaping), for any
 * FastCGI program here. */
#ifndef FRONTDESK_HTTP_H
#define FRONTDESK_HTTP_H

#include <stdbool.h>

#include <jansson.h>

#include "common/buf.h"

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
void http_html_escape(struct buf *b, const char *s);

/* A JSON body (v is stolen; NULL is out of memory). */
void http_json(struct http_answer *a, int status, json_t *v);
/* An HTML page: the head and an <h1> of title, then the caller's body,
 * then the closing line that leads back to the form. */
void http_html_open(struct http_answer *a, int status, const char *title);
void http_html_close(struct http_answer *a);
/* {"error": why} in JSON mode, else a small HTML page. */
void http_error(struct http_answer *a, int status, const char *why);
void http_text(struct http_answer *a, int status, const char *text);
/* Appends a header line; name and value must be trusted text. */
void http_header(struct http_answer *a, const char *name, const char *value);

/* Writes the whole CGI answer ("Status: ...") into out. */
void http_serialize(struct http_answer *a, struct buf *out);
void http_answer_free(struct http_answer *a);

#endif
