/* fields: the appointment form's fields, one row each. Validation, the
 * HTML error page's labels, the idempotency fingerprint and the spool's
 * entries are all driven by this one table. */
#ifndef FRONTDESK_FIELDS_H
#define FRONTDESK_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

enum field_kind {
	FIELD_TEXT,       /* free text: UTF-8, limits, one line unless multiline */
	FIELD_EMAIL,      /* text_email_patient */
	FIELD_PHONE,      /* text_phone */
	FIELD_LOCATION,   /* text_slug naming an active location */
	FIELD_FLAG,       /* consent: any non-empty value means yes */
	FIELD_HONEYPOT,   /* website: never an error, a value marks spam */
	FIELD_KEY,        /* submission_id: text_key */
};

/* Where a field's clean value lives in struct appointment (validate.h). */
enum field_slot {
	SLOT_FIRST_NAME, SLOT_LAST_NAME, SLOT_EMAIL, SLOT_PHONE, SLOT_LOCATION,
	SLOT_SERVICE, SLOT_PREFERRED_TIME, SLOT_MESSAGE, SLOT_SUBMISSION_ID,
	SLOT_COUNT,
	SLOT_NONE = -1,   /* a flag or the honeypot: a bool, not a string */
};

struct field {
	const char *name;       /* the form's name= */
	const char *label;      /* the form's <label>, for the HTML 422 page */
	enum field_kind kind;
	bool required;
	bool multiline;         /* may hold line breaks (and tabs) */
	size_t max;             /* code points (0: the kind's rule alone) */
	const char *too_long;   /* the error past max */
	enum field_slot slot;
	bool fingerprint;       /* part of the idempotency fingerprint */
	bool spooled;           /* kept under its name in a spool entry */
};

/*
 * The table, in the order errors are reported and fields fingerprinted.
 * www/index.html.in (name=, maxlength=, the <label>s) and www/form.js
 * (LABELS) must agree with it: tests/unit/test_fields.c reads both.
 */
#define FIELDS_MAX 16   /* rows the table may grow to */
extern const struct field fields[];
extern const size_t fields_count;

/* The row of a field name, or NULL. */
const struct field *fields_find(const char *name);

#endif
