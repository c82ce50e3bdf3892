/* form: urlencoded and multipart/form-data bodies into a bounded field list. */
#ifndef FRONTDESK_FORM_H
#define FRONTDESK_FORM_H

#include <stddef.h>

#define FORM_MAX_FIELDS 50

/* Results of form_parse*(); each maps to one HTTP status. */
enum form_result {
	FORM_OK = 0,
	FORM_BAD = -1,         /* 400: cannot be parsed */
	FORM_TOO_MANY = -2,    /* 413: more than FORM_MAX_FIELDS fields or parts */
	FORM_UNSUPPORTED = -3, /* 415: not a form content type */
	FORM_NOMEM = -4        /* 500 */
};

/* Names and values are decoded, NUL-terminated copies; a value may hold
 * embedded NULs (e.g. "%00"), so the length is authoritative. Nothing is
 * trimmed or validated here: that is validate.c's job. */
struct form_field {
	char *name;
	size_t name_len;
	char *value;
	size_t value_len;
};

struct form {
	struct form_field fields[FORM_MAX_FIELDS];
	size_t nfields;
};

/* Dispatches on the Content-Type header value (media type compared
 * case-insensitively, parameters allowed). NULL or unknown type:
 * FORM_UNSUPPORTED. On error *why (if non-NULL) gets a short static reason
 * fit for an HTTP answer, e.g. "bad percent-escape". The form is always left
 * safe to pass to form_free(). */
int form_parse(struct form *f, const char *content_type, const char *body,
    size_t len, const char **why);
int form_parse_urlencoded(struct form *f, const char *body, size_t len,
    const char **why);
int form_parse_multipart(struct form *f, const char *boundary,
    size_t boundary_len, const char *body, size_t len, const char **why);

/* The first field named `name` (exact, case-sensitive), or NULL. */
const struct form_field *form_get(const struct form *f, const char *name);
/* How many fields are named `name`. */
size_t form_count(const struct form *f, const char *name);
void form_free(struct form *f);

#endif
