/* reply: the answers to a post (accepted, invalid), in either mode. */
#include <string.h>

#include <jansson.h>

#include "fields.h"
#include "reply.h"

/* The form's label for a field, as the patient saw it. */
static const char *
field_label(const char *name)
{
	const struct field *f = fields_find(name);

	return f != NULL ? f->label : name;
}

void
reply_invalid(struct http_answer *a, const struct validate_errors *e)
{
	if (a->json) {
		json_t *errs = json_object();

		for (size_t i = 0; i < e->n; i++)
			json_object_set_new(errs, e->e[i].field,
			    json_string(e->e[i].why));
		http_json(a, 422, json_pack("{s:o}", "errors", errs));
		return;
	}
	http_html_open(a, 422, "Please check your request");
	buf_adds(&a->body, "<p>Your request was not sent. Please go back and "
	    "correct the following:</p>\n<ul>\n");
	for (size_t i = 0; i < e->n; i++) {
		buf_adds(&a->body, "<li><strong>");
		http_html_escape(&a->body, field_label(e->e[i].field));
		buf_adds(&a->body, "</strong> ");
		http_html_escape(&a->body, e->e[i].why);
		buf_adds(&a->body, "</li>\n");
	}
	buf_adds(&a->body, "</ul>\n");
	http_html_close(a);
}

void
reply_thank_you_url(struct buf *b, const char *url, const char *ref)
{
	const char *hash = strchr(url, '#');
	size_t base = hash ? (size_t)(hash - url) : strlen(url);

	buf_add(b, url, base);
	buf_adds(b, memchr(url, '?', base) ? "&ref=" : "?ref=");
	buf_adds(b, ref);
	if (hash)
		buf_adds(b, hash);
}

void
reply_accepted(struct http_answer *a, const char *reference,
    const char *thank_you_url)
{
	struct buf loc = { 0 };

	if (a->json) {
		http_json(a, 201, json_pack("{s:s,s:s}", "reference", reference,
		    "status", "received"));
		return;
	}
	reply_thank_you_url(&loc, thank_you_url, reference);
	if (buf_str(&loc) == NULL) {
		a->body.failed = true;
		return;
	}
	http_header(a, "Location", buf_str(&loc));
	http_html_open(a, 303, "Request received");
	buf_adds(&a->body, "<p>Thank you. Your reference is ");
	http_html_escape(&a->body, reference);
	buf_adds(&a->body, ".</p><p><a href=\"");
	http_html_escape(&a->body, buf_str(&loc));
	buf_adds(&a->body, "\">Continue</a></p></main></body></html>\n");
	buf_free(&loc);
}

