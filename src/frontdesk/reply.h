/* reply: the answers to a post, in JSON or HTML mode. */
#ifndef FRONTDESK_REPLY_H
#define FRONTDESK_REPLY_H

#include "common/buf.h"
#include "validate.h"
#include "web/http.h"

/* 422 with every field's error; the HTML page names fields by the form's
 * labels (fields.c). */
void reply_invalid(struct http_answer *a, const struct validate_errors *e);
/* 201 {"reference":...} in JSON mode, else 303 to thank_you_url?ref=. */
void reply_accepted(struct http_answer *a, const char *reference,
    const char *thank_you_url);
/* The URL with "ref=REFERENCE" added to its query. */
void reply_thank_you_url(struct buf *b, const char *url, const char *ref);

#endif
