/* http: answers (status lines, JSON and HTML bodies, escaping). */
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "http.h"

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

/* Is the media range at s (len bytes, parameters included) exactly
 * application/json, with a quality above 0? */
static bool
range_is_json(const char *s, size_t len)
{
	static const char json[] = "application/json";
	size_t n = strcspn(s, ";");

	if (n > len)
		n = len;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n != sizeof(json) - 1 || strncasecmp(s, json, n) != 0)
		return false;
	/* q=0 (0.0, 0.00, 0.000) means "not this one" */
	for (size_t i = n; i < len; i++) {
		const char *p = s + i + 1;

		if (s[i] != ';')
			continue;
		while (*p == ' ' || *p == '\t')
			p++;
		if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
			p += 2;
			if (*p == '0' && strspn(p + 1 + (p[1] == '.'), "0") ==
			    strcspn(p + 1 + (p[1] == '.'), ";, \t"))
				return false;
		}
	}
	return true;
}

bool
http_wants_json(const char *accept)
{
	/* Each comma-separated media range on its own: a substring would
	 * take "application/jsonx" or "application/json;q=0" for JSON. */
	while (accept != NULL && *accept != '\0') {
		size_t len;

		accept += strspn(accept, " \t");
		len = strcspn(accept, ",");
		if (range_is_json(accept, len))
			return true;
		accept += len;
		if (*accept == ',')
			accept++;
	}
	return false;
}

void
http_html_escape(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': buf_adds(b, "&amp;"); break;
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		case '\'': buf_adds(b, "&#39;"); break;
		default: buf_addc(b, *s);
		}
	}
}

/* Serialises a JSON value into the body and frees it. */
void
http_json(struct http_answer *a, int status, json_t *v)
{
	char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;

	a->status = status;
	a->content_type = "application/json";
	if (s == NULL)
		a->body.failed = true;
	else
		buf_adds(&a->body, s);
	free(s);
	json_decref(v);
}

void
http_html_open(struct http_answer *a, int status, const char *title)
{
	a->status = status;
	a->content_type = "text/html; charset=utf-8";
	buf_adds(&a->body, "<!doctype html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\"><title>");
	http_html_escape(&a->body, title);
	buf_adds(&a->body, "</title></head><body><main><h1>");
	http_html_escape(&a->body, title);
	buf_adds(&a->body, "</h1>\n");
}

void
http_html_close(struct http_answer *a)
{
	/* No script link: these pages are mostly seen without JavaScript. */
	buf_adds(&a->body, "<p>Use your browser's Back button to return to "
	    "the form.</p></main></body></html>\n");
}

void
http_error(struct http_answer *a, int status, const char *why)
{
	if (a->json) {
		http_json(a, status, json_pack("{s:s}", "error", why));
		return;
	}
	http_html_open(a, status, http_reason(status));
	buf_adds(&a->body, "<p>");
	http_html_escape(&a->body, why);
	buf_adds(&a->body, "</p>\n");
	http_html_close(a);
}

void
http_text(struct http_answer *a, int status, const char *text)
{
	a->status = status;
	a->content_type = "text/plain; charset=utf-8";
	buf_adds(&a->body, text);
}

void
http_header(struct http_answer *a, const char *name, const char *value)
{
	buf_printf(&a->headers, "%s: %s\r\n", name, value);
}

void
http_serialize(struct http_answer *a, struct buf *out)
{
	if (a->headers.failed || a->body.failed) {
		buf_adds(out, "Status: 500 Internal Server Error\r\n"
		    "Content-Type: text/plain\r\n\r\nout of memory\n");
		return;
	}
	buf_printf(out, "Status: %d %s\r\n", a->status, http_reason(a->status));
	if (a->content_type != NULL)
		buf_printf(out, "Content-Type: %s\r\n", a->content_type);
	buf_printf(out, "Content-Length: %zu\r\n", a->body.len);
	buf_adds(out, "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n");
	if (a->headers.len)
		buf_add(out, a->headers.p, a->headers.len);
	buf_adds(out, "\r\n");
	if (a->body.len)
		buf_add(out, a->body.p, a->body.len);
}

void
http_answer_free(struct http_answer *a)
{
	buf_free(&a->headers);
	buf_free(&a->body);
}
