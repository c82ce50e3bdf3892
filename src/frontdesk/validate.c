/* validate: the field rules (docs/interface.md, Submission fields), from
 * a parsed form to a request, driven by the table in fields.c. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"
#include "common/text.h"

/* Where each slot lives in struct appointment. */
static const size_t slot_offset[SLOT_COUNT] = {
	[SLOT_FIRST_NAME] = offsetof(struct appointment, first_name),
	[SLOT_LAST_NAME] = offsetof(struct appointment, last_name),
	[SLOT_EMAIL] = offsetof(struct appointment, email),
	[SLOT_PHONE] = offsetof(struct appointment, phone),
	[SLOT_LOCATION] = offsetof(struct appointment, location),
	[SLOT_SERVICE] = offsetof(struct appointment, service),
	[SLOT_PREFERRED_TIME] = offsetof(struct appointment, preferred_time),
	[SLOT_MESSAGE] = offsetof(struct appointment, message),
	[SLOT_SUBMISSION_ID] = offsetof(struct appointment, submission_id),
};

char **
appointment_text(struct appointment *a, enum field_slot slot)
{
	return (char **)(void *)((char *)a + slot_offset[slot]);
}

const char *
appointment_value(const struct appointment *a, enum field_slot slot)
{
	return *(char *const *)(const void *)((const char *)a +
	    slot_offset[slot]);
}

static const char why_nomem[] = "out of memory";

/* Checks and copies a trimmed, valid value; in multi-line text every line
 * break (CRLF, CR, NEL, LS, PS) becomes "\n", which never lengthens it. */
static const char *
clean_text(const struct field *r, const char *s, size_t len, char **out)
{
	const unsigned char	*p = (const unsigned char *)s;
	char			*d;
	size_t			 i, n, o = 0;
	uint32_t		 c;

	if ((d = malloc(len + 1)) == NULL)
		return why_nomem;
	for (i = 0; i < len; i += n) {
		n = text_utf8_decode(p + i, len - i, &c);
		if (text_is_break(c) && !r->multiline) {
			free(d);
			return "must be a single line";
		}
		if (text_is_break(c)) {
			if (c == '\r' && i + 1 < len && p[i + 1] == '\n')
				n++;
			d[o++] = '\n';
			continue;
		}
		if (text_is_control(c) && !(c == '\t' && r->multiline)) {
			free(d);
			return "contains control characters";
		}
		/* In one line, they could make a name show as another. */
		if (!r->multiline && text_is_bidi_control(c)) {
			free(d);
			return "contains bidirectional control characters";
		}
		memcpy(d + o, p + i, n);
		o += n;
	}
	d[o] = '\0';
	if (!r->multiline && !text_shows_something(d, o)) {
		free(d);
		return "shows no visible characters";
	}
	if (r->max > 0 && text_utf8_length(d, o) > r->max) {
		free(d);
		return r->too_long;
	}
	*out = d;
	return NULL;
}

static const char why_unavailable[] = "is not an available location";

/* The field's own syntax, once it is clean text. */
static const char *
judge(const struct field *r, const char *v)
{
	size_t	 len = strlen(v);

	switch (r->kind) {
	case FIELD_EMAIL:
		return text_email_patient(v, len) ? NULL :
		    "is not a valid email address";
	case FIELD_PHONE:
		return text_phone(v, len) ? NULL :
		    "is not a valid phone number";
	case FIELD_LOCATION:
		/* Whether it names an active location is asked after
		 * (validate_unavailable), with the same words. */
		return text_slug(v, len) ? NULL : why_unavailable;
	case FIELD_KEY:
		return text_key(v, len) ? NULL :
		    "must be 1-64 letters, digits, '-' or '_'";
	default:
		return NULL;
	}
}

/* Returns why the field fails, or NULL with *out the clean value (NULL when
 * absent or blank). */
static const char *
check_field(const struct field *r, const struct form *f, char **out)
{
	const struct form_field	*fld;
	const char		*v, *why;
	size_t			 len;

	*out = NULL;
	if (form_count(f, r->name) > 1)
		return "was given more than once";
	if ((fld = form_get(f, r->name)) == NULL)
		return r->required ? "is required" : NULL;
	v = fld->value;
	len = fld->value_len;
	if (!text_utf8_valid(v, len))
		return "is not valid UTF-8";
	text_trim(&v, &len);
	if (len == 0)
		return r->required ? "is required" : NULL;
	if ((why = clean_text(r, v, len, out)) != NULL)
		return why;
	if ((why = judge(r, *out)) != NULL) {
		free(*out);
		*out = NULL;
	}
	return why;
}

/* The honeypot is never an error, so a bot learns nothing; any copy of it
 * with content, even undecodable content, marks the post. */
static bool
filled_honeypot(const struct form *f, const char *name)
{
	size_t nlen = strlen(name);

	for (size_t i = 0; i < f->nfields; i++) {
		const char *v = f->fields[i].value;
		size_t len = f->fields[i].value_len;

		if (f->fields[i].name_len != nlen ||
		    memcmp(f->fields[i].name, name, nlen) != 0)
			continue;
		if (!text_utf8_valid(v, len))
			return true;
		text_trim(&v, &len);
		if (len > 0)
			return true;
	}
	return false;
}

enum validate_result
validate_fields(const struct form *f, struct appointment *a,
    struct validate_errors *errs)
{
	const char *why[FIELDS_MAX] = { 0 };
	size_t email = 0, phone = 0;

	memset(a, 0, sizeof(*a));
	errs->n = 0;
	for (size_t i = 0; i < fields_count; i++) {
		const struct field *r = &fields[i];
		char *v = NULL;

		why[i] = NULL;
		if (r->kind == FIELD_HONEYPOT)
			a->honeypot = filled_honeypot(f, r->name);
		else
			why[i] = check_field(r, f, &v);
		if (why[i] == why_nomem)
			return VALIDATE_NOMEM;
		if (r->kind == FIELD_FLAG)
			a->consent = v != NULL;
		if (r->kind == FIELD_EMAIL)
			email = i;
		if (r->kind == FIELD_PHONE)
			phone = i;
		if (r->slot == SLOT_NONE)
			free(v);
		else
			*appointment_text(a, r->slot) = v;
	}
	if (why[email] == NULL && why[phone] == NULL &&
	    a->email == NULL && a->phone == NULL) {
		why[email] = "is required unless a phone number is given";
		why[phone] = "is required unless an email address is given";
	}
	for (size_t i = 0; i < fields_count; i++) {
		if (why[i] == NULL)
			continue;
		errs->e[errs->n].field = fields[i].name;
		errs->e[errs->n].why = why[i];
		errs->n++;
	}
	return errs->n == 0 ? VALIDATE_OK : VALIDATE_INVALID;
}

enum validate_result
validate_unavailable(struct appointment *a, struct validate_errors *errs)
{
	size_t at = 0, row;

	for (row = 0; fields[row].kind != FIELD_LOCATION; row++)
		continue;
	free(a->location);
	a->location = NULL;
	/* In the table's order, as validate_fields reports the others. */
	while (at < errs->n && fields_find(errs->e[at].field) - fields <
	    (ptrdiff_t)row)
		at++;
	if (errs->n < VALIDATE_MAX_ERRORS) {
		memmove(&errs->e[at + 1], &errs->e[at], (errs->n - at) *
		    sizeof(errs->e[0]));
		errs->e[at].field = fields[row].name;
		errs->e[at].why = why_unavailable;
		errs->n++;
	}
	return VALIDATE_INVALID;
}

enum validate_result
validate_form(const struct form *f, validate_location_fn location_ok,
    void *arg, struct appointment *a, struct validate_errors *errs)
{
	enum validate_result r = validate_fields(f, a, errs);

	if (r != VALIDATE_NOMEM && a->location != NULL && location_ok != NULL &&
	    !location_ok(a->location, arg))
		r = validate_unavailable(a, errs);
	return r;
}

enum validate_result
validate_appointment(const struct appointment *a,
    validate_location_fn location_ok, void *arg, struct validate_errors *errs)
{
	struct form f = { .nfields = 0 };
	struct appointment clean;
	enum validate_result r;

	for (size_t i = 0; i < fields_count; i++) {
		const struct field *fl = &fields[i];
		const char *v = NULL;

		if (fl->kind == FIELD_FLAG)
			v = a->consent ? "yes" : NULL;
		else if (fl->slot != SLOT_NONE)
			v = appointment_value(a, fl->slot);
		if (v == NULL)
			continue;
		/* validate_form only reads the form: the casts lose nothing. */
		f.fields[f.nfields].name = (char *)(uintptr_t)fl->name;
		f.fields[f.nfields].name_len = strlen(fl->name);
		f.fields[f.nfields].value = (char *)(uintptr_t)v;
		f.fields[f.nfields].value_len = strlen(v);
		f.nfields++;
	}
	if ((r = validate_form(&f, location_ok, arg, &clean, errs)) == VALIDATE_OK) {
		/* Valid once cleaned is not enough: what is stored must be
		 * what a post would have stored, byte for byte. */
		for (size_t i = 0; i < fields_count; i++) {
			const struct field *fl = &fields[i];
			const char *in, *out;

			if (fl->slot == SLOT_NONE)
				continue;
			in = appointment_value(a, fl->slot);
			out = appointment_value(&clean, fl->slot);
			if ((in == NULL) == (out == NULL) &&
			    (in == NULL || strcmp(in, out) == 0))
				continue;
			errs->e[errs->n].field = fl->name;
			errs->e[errs->n].why = "is not as validation stores it "
			    "(surrounding white space, an empty value or a line "
			    "break other than LF)";
			errs->n++;
		}
		if (errs->n > 0)
			r = VALIDATE_INVALID;
	}
	appointment_free(&clean);
	return r;
}

void
appointment_free(struct appointment *a)
{
	for (int slot = 0; slot < SLOT_COUNT; slot++)
		free(*appointment_text(a, (enum field_slot)slot));
	memset(a, 0, sizeof(*a));
}
