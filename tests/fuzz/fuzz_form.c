/* fuzz_form: libFuzzer harness for form_parse() and validate_form(). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "validate.h"
#include "text.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static bool
location_ok(const char *slug, void *arg)
{
	(void)arg;
	return strcmp(slug, "midtown") == 0;
}

/* What validate_form() promises about every string it stores. */
static void
check_text(const char *s, bool multiline)
{
	size_t	 i, len;

	if (s == NULL)
		return;
	len = strlen(s);
	if (len == 0 || !text_utf8_valid(s, len))
		abort();
	for (i = 0; i < len; i++)
		if (s[i] == '\r' || s[i] == 0x7f ||
		    ((unsigned char)s[i] < 0x20 &&
		    !(multiline && (s[i] == '\n' || s[i] == '\t'))))
			abort();
}

static void
check_appointment(const struct appointment *a)
{
	if (a->first_name == NULL || a->last_name == NULL ||
	    a->location == NULL || (a->email == NULL && a->phone == NULL))
		abort();
	check_text(a->first_name, false);
	check_text(a->last_name, false);
	check_text(a->email, false);
	check_text(a->phone, false);
	check_text(a->location, false);
	check_text(a->service, false);
	check_text(a->preferred_time, false);
	check_text(a->message, true);
	check_text(a->submission_id, false);
}

static void
check(const char *type, const char *body, size_t len)
{
	struct form		 f;
	struct appointment	 a;
	struct validate_errors	 errs;
	const char		*why = NULL;
	size_t			 i;

	if (form_parse(&f, type, body, len, &why) != FORM_OK) {
		/* Every failure says why and leaves nothing behind. */
		if (why == NULL || f.nfields != 0)
			abort();
		return;
	}
	if (f.nfields > FORM_MAX_FIELDS)
		abort();
	for (i = 0; i < f.nfields; i++)
		if (f.fields[i].name[f.fields[i].name_len] != '\0' ||
		    f.fields[i].value[f.fields[i].value_len] != '\0')
			abort();
	if (validate_form(&f, location_ok, NULL, &a, &errs) == 0)
		check_appointment(&a);
	else if (errs.n == 0 || errs.n > VALIDATE_MAX_ERRORS)
		abort();
	appointment_free(&a);
	form_free(&f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly `size` bytes, so ASan catches any read past the
	 * body that the parser might make assuming a terminator. */
	char	*body = malloc(size ? size : 1);

	if (body == NULL)
		return 0;
	memcpy(body, data, size);
	check("application/x-www-form-urlencoded", body, size);
	check("multipart/form-data; boundary=XyZ", body, size);
	free(body);
	return 0;
}
