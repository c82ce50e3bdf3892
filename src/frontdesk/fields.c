/* fields: the appointment form's fields, one row each. */
#include <string.h>

#include "fields.h"

/* A text field's limit, and the error that names it, from one number. */
#define MAX(n) (n), "must be at most " #n " characters"
#define NOMAX 0, NULL

const struct field fields[] = {
	{ "first_name", "First name", FIELD_TEXT, true, false, MAX(100),
	    SLOT_FIRST_NAME, true, true },
	{ "last_name", "Last name", FIELD_TEXT, true, false, MAX(100),
	    SLOT_LAST_NAME, true, true },
	{ "email", "Email address", FIELD_EMAIL, false, false, NOMAX,
	    SLOT_EMAIL, true, true },
	{ "phone", "Phone number", FIELD_PHONE, false, false, NOMAX,
	    SLOT_PHONE, true, true },
	{ "location", "Location", FIELD_LOCATION, true, false, NOMAX,
	    SLOT_LOCATION, true, true },
	{ "service", "Service or condition", FIELD_TEXT, false, false, MAX(200),
	    SLOT_SERVICE, true, true },
	{ "preferred_time", "Preferred days and times", FIELD_TEXT, false,
	    false, MAX(200), SLOT_PREFERRED_TIME, true, true },
	{ "message", "Anything we should know?", FIELD_TEXT, false, true,
	    MAX(5000), SLOT_MESSAGE, true, true },
	/* consent is spooled as a JSON boolean, not a string slot */
	{ "consent", "Consent", FIELD_FLAG, false, false, NOMAX, SLOT_NONE,
	    true, false },
	/* a spooled entry's status says spam; not fingerprinted: a filled
	 * honeypot is answered before the key is looked at, and its post
	 * never takes one */
	{ "website", "This page", FIELD_HONEYPOT, false, false, NOMAX,
	    SLOT_NONE, false, false },
	/* the key: not fingerprinted (it is what the fingerprint is kept
	 * under), spooled as the entry's own "key" */
	{ "submission_id", "This page", FIELD_KEY, false, false, NOMAX,
	    SLOT_SUBMISSION_ID, false, false },
};
const size_t fields_count = sizeof(fields) / sizeof(fields[0]);
_Static_assert(sizeof(fields) / sizeof(fields[0]) <= FIELDS_MAX,
    "raise FIELDS_MAX");

const struct field *
fields_find(const char *name)
{
	for (size_t i = 0; i < fields_count; i++)
		if (strcmp(fields[i].name, name) == 0)
			return &fields[i];
	return NULL;
}
