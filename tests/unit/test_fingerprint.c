/* test_fingerprint: two posts have one fingerprint when they would store
 * the same request (docs/interface.md, Answers: "the fields as they would be
 * stored: line breaks, consent, trimming"), and only then. */
#include <stdlib.h>
#include <string.h>

#include "fingerprint.h"
#include "form.h"
#include "spool.h"
#include "tap.h"

/* Maria's request, to which each case adds or changes fields. */
#define BASE "first_name=Maria&last_name=Gonzalez&" \
    "email=maria%40example.com&location=midtown"

/* The digest of a urlencoded body, as submit.c takes it. */
static void
digest(const char *body, unsigned char out[FINGERPRINT_LEN])
{
	struct form f;
	struct appointment a;
	struct validate_errors errs;

	if (form_parse_urlencoded(&f, body, strlen(body), NULL) != FORM_OK ||
	    validate_fields(&f, &a, &errs) == VALIDATE_NOMEM)
		abort();
	fingerprint_digest(&a, &errs, out);
	appointment_free(&a);
	form_free(&f);
}

static bool
same(const char *x, const char *y)
{
	unsigned char a[FINGERPRINT_LEN], b[FINGERPRINT_LEN];

	digest(x, a);
	digest(y, b);
	return memcmp(a, b, sizeof(a)) == 0;
}

static const struct {
	const char *desc, *first, *second;
	bool same;
} cases[] = {
	/* as they would be stored: the same request */
	{ "CRLF (a form without JavaScript) and LF (form.js)",
	    BASE "&message=Since+March.%0AWorse+at+night.",
	    BASE "&message=Since+March.%0D%0AWorse+at+night.", true },
	{ "a lone CR, NEL, LS and PS are line breaks too",
	    "message=a%0Db%C2%85c%E2%80%A8d%E2%80%A9e&" BASE,
	    "message=a%0Ab%0Ac%0Ad%0Ae&" BASE, true },
	{ "but two line breaks are not one", BASE "&message=a%0A%0Ab",
	    BASE "&message=a%0Ab", false },
	{ "consent=yes and consent=on", BASE "&consent=yes", BASE "&consent=on",
	    true },
	{ "consent=1 and consent=true", BASE "&consent=1",
	    BASE "&consent=true", true },
	{ "consent absent, empty and blank", BASE, BASE "&consent=+", true },
	{ "an optional field absent, empty and blank", BASE "&service=",
	    BASE "&preferred_time=%C2%A0", true },
	{ "surrounding white space, NBSP included",
	    BASE "&service=Back+pain", BASE "&service=%C2%A0Back+pain+%09",
	    true },
	{ "the order of the fields", BASE "&service=s&phone=2125550143",
	    "phone=2125550143&service=s&" BASE, true },
	{ "unknown fields", BASE, BASE "&utm_source=ad", true },
	{ "the key itself is not fingerprinted", BASE "&submission_id=a",
	    BASE "&submission_id=b", true },
	/* another request */
	{ "consent given or not", BASE, BASE "&consent=yes", false },
	{ "another message", BASE, BASE "&message=Other", false },
	{ "a field moved to another", BASE "&service=x",
	    BASE "&preferred_time=x", false },
	{ "text shifted from one field to the next",
	    "first_name=Ma&last_name=riaGonzalez&email=maria%40example.com&"
	    "location=midtown", "first_name=Maria&last_name=Gonzalez&"
	    "email=maria%40example.com&location=midtown", false },
	{ "another location", BASE, "location=fidi&first_name=Maria&"
	    "last_name=Gonzalez&email=maria%40example.com", false },
	{ "an invalid post is never an accepted one: a bad email",
	    BASE, "email=bad&first_name=Maria&last_name=Gonzalez&"
	    "location=midtown", false },
	{ "nor is a field given twice", BASE,
	    BASE "&first_name=Maria", false },
	{ "nor one that only its line breaks make invalid (a CRLF in a "
	    "one-line field)", BASE "&service=a+b", BASE "&service=a%0D%0Ab",
	    false },
	/* the key's own field is no field of the fingerprint: its error does
	 * not make the post another */
	{ "a malformed submission_id", BASE, BASE "&submission_id=a+b", true },
};

int
main(void)
{
	unsigned char a[FINGERPRINT_LEN], b[FINGERPRINT_LEN];
	struct form f;
	struct appointment ap;
	struct validate_errors errs;
	struct spool_entry e = { .spam = false }, d;
	char *text;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		tap_ok(same(cases[i].first, cases[i].second) == cases[i].same,
		    "%s: %s", cases[i].same ? "same" : "other", cases[i].desc);

	/* A location that is no longer available is asked after: the
	 * post is the same one, and gets its first answer. */
	digest(BASE, a);
	form_parse_urlencoded(&f, BASE, strlen(BASE), NULL);
	validate_fields(&f, &ap, &errs);
	validate_unavailable(&ap, &errs);
	tap_ok(errs.n == 1 && strcmp(errs.e[0].field, "location") == 0,
	    "a location disabled since: only its error");
	form_free(&f);
	appointment_free(&ap);
	digest("email=bad&first_name=x", b);
	tap_ok(memcmp(a, b, sizeof(a)) != 0, "the valid post's digest is not "
	    "the one of invalid posts");

	/* The replay takes the digest of a spooled entry's request, read
	 * back: it is the post's. */
	digest(BASE "&consent=on&service=%C2%A0Back+pain", a);
	form_parse_urlencoded(&f, BASE "&consent=on&service=%C2%A0Back+pain",
	    strlen(BASE "&consent=on&service=%C2%A0Back+pain"), NULL);
	validate_fields(&f, &e.a, &errs);
	form_free(&f);
	snprintf(e.reference, sizeof(e.reference), "FD-ABCDEFGH");
	snprintf(e.created_at, sizeof(e.created_at),
	    "2026-11-29T01:02:03.000004Z");
	e.key = strdup("k-1");
	e.msgid_domain = strdup("clinic.example");
	text = spool_encode(&e);
	tap_ok(text != NULL && spool_decode(text, &d) == 0, "an entry round "
	    "trip");
	fingerprint_digest(&d.a, NULL, b);
	tap_ok(memcmp(a, b, sizeof(a)) == 0, "a spooled entry's digest is its "
	    "post's");
	free(text);
	spool_entry_free(&d);
	spool_entry_free(&e);
	return tap_done();
}
