/* validate: the field rules (docs/interface.md, Submission fields), from
 * a parsed form to a request, driven by the table in fields.c. */
#ifndef FRONTDESK_VALIDATE_H
#define FRONTDESK_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "fields.h"
#include "form.h"

#define VALIDATE_MAX_ERRORS 16
enum validate_result {
	VALIDATE_OK = 0,
	VALIDATE_INVALID = -1,   /* at least one field's error in errs */
	VALIDATE_NOMEM = -2,     /* out of memory: no verdict, answer 500 */
};

/* Every string is a trimmed, NUL-terminated, valid UTF-8 copy with line
 * breaks normalised to "\n" (only `message` may hold any); an optional field
 * that is absent or empty after trimming is NULL. */
struct appointment {
	char *first_name;
	char *last_name;
	char *email;
	char *phone;          /* as given (trimmed), not reformatted */
	char *location;       /* slug */
	char *service;
	char *preferred_time;
	char *message;
	bool consent;
	bool honeypot;        /* `website` was non-empty after trimming */
	char *submission_id;  /* the field's value; the header is the caller's */
};

struct validate_error {
	const char *field;  /* the form's field name, e.g. "email" */
	const char *why;    /* static text, e.g. "is required" */
};

struct validate_errors {
	struct validate_error e[VALIDATE_MAX_ERRORS];
	size_t n;
};

/* Called for a syntactically plausible location slug; returns true when it
 * names an active location. NULL: every non-empty slug is accepted. */
typedef bool (*validate_location_fn)(const char *slug, void *arg);

/* Fills *a and returns VALIDATE_OK when the form is valid, else
 * VALIDATE_INVALID with at least one error in *errs (one per field, in the
 * table's order).
 * `website` is never an error: a filled honeypot sets a->honeypot. Unknown
 * fields are ignored. A known field given twice is an error on that field.
 * Always call appointment_free(a) afterwards, whatever the result. */
enum validate_result validate_form(const struct form *f,
    validate_location_fn location_ok, void *arg, struct appointment *a,
    struct validate_errors *errs);
/* validate_form in two steps, for a caller that learns whether the
 * location is available only later (submit.c asks the database in the
 * statement that also looks the idempotency key up, with the fingerprint
 * of what validate_fields made). validate_fields applies every rule but
 * that one: a->location is then a well-formed slug, or NULL. */
enum validate_result validate_fields(const struct form *f,
    struct appointment *a, struct validate_errors *errs);
/* The location, well formed, names no available location: a->location
 * goes and its error takes its place in errs. Returns VALIDATE_INVALID. */
enum validate_result validate_unavailable(struct appointment *a,
    struct validate_errors *errs);
/* Judges a request that did not come from a form just now (a spool entry
 * read back) by the rules of one that did: its strings go through
 * validate_form, the same rules by the same code, and each must come out
 * as it went in, i.e. be what validate_form stores (trimmed, line breaks
 * as "\n", an empty optional field absent). a->consent is the flag; the
 * honeypot is not judged (it never is). VALIDATE_OK, VALIDATE_INVALID with
 * errs, or VALIDATE_NOMEM. */
enum validate_result validate_appointment(const struct appointment *a,
    validate_location_fn location_ok, void *arg,
    struct validate_errors *errs);
void appointment_free(struct appointment *a);
/* The string member that holds a slot's clean value. */
char **appointment_text(struct appointment *a, enum field_slot slot);
const char *appointment_value(const struct appointment *a,
    enum field_slot slot);

#endif
