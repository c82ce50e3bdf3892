/* test_verdict: which answer a POST gets, over every combination of what
 * the checks can find; docs/interface.md's order is honeypot, replay,
 * validation, store. */
#include <stdio.h>

#include "tap.h"
#include "verdict.h"

static const char *const names[] = {
	[VERDICT_STORE] = "store", [VERDICT_STORE_SPAM] = "store-spam",
	[VERDICT_DROP_SPAM] = "drop-spam", [VERDICT_REPLAY] = "replay",
	[VERDICT_CONFLICT] = "409", [VERDICT_INVALID] = "422",
	[VERDICT_UNAVAILABLE] = "503",
};

#define F false
#define T true

static const struct {
	const char *desc;
	struct verdict_facts f;   /* checks_failed, honeypot, valid, key */
	enum verdict want;
} cases[] = {
	{ "a valid new post is stored", { F, F, T, KEY_NEW }, VERDICT_STORE },
	{ "an invalid new post is 422", { F, F, F, KEY_NEW }, VERDICT_INVALID },
	{ "a repost with the same fields gets its first answer",
	    { F, F, T, KEY_SAME }, VERDICT_REPLAY },
	{ "the same key, other valid fields: 409",
	    { F, F, T, KEY_OTHER }, VERDICT_CONFLICT },
	{ "the same key, other fields that are also invalid: 409, not 422",
	    { F, F, F, KEY_OTHER }, VERDICT_CONFLICT },
	/* same fields can only be invalid if the rules changed since, or
	 * the first was spooled; the key's first answer still stands */
	{ "the same key and fields, invalid now: the first answer",
	    { F, F, F, KEY_SAME }, VERDICT_REPLAY },
	{ "a filled honeypot with valid fields is stored as spam",
	    { F, T, T, KEY_NEW }, VERDICT_STORE_SPAM },
	{ "a filled honeypot with invalid fields is dropped",
	    { F, T, F, KEY_NEW }, VERDICT_DROP_SPAM },
	{ "the honeypot comes before the replay (valid)",
	    { F, T, T, KEY_OTHER }, VERDICT_STORE_SPAM },
	{ "the honeypot comes before the replay (invalid)",
	    { F, T, F, KEY_SAME }, VERDICT_DROP_SPAM },
	{ "a twin still being spooled: 503, nothing promised",
	    { F, F, T, KEY_PENDING }, VERDICT_UNAVAILABLE },
	{ "a key that could not be looked up: 503",
	    { F, F, T, KEY_ERROR }, VERDICT_UNAVAILABLE },
	{ "an invalid post whose key could not be looked up: 503",
	    { F, F, F, KEY_ERROR }, VERDICT_UNAVAILABLE },
	{ "a failed check comes first (valid)",
	    { T, F, T, KEY_NEW }, VERDICT_UNAVAILABLE },
	{ "a failed check comes first, even before the honeypot",
	    { T, T, T, KEY_NEW }, VERDICT_UNAVAILABLE },
	{ "a failed check comes first, even before the replay",
	    { T, F, T, KEY_SAME }, VERDICT_UNAVAILABLE },
};

int
main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum verdict got = verdict_decide(&cases[i].f);

		tap_ok(got == cases[i].want, "%s (%s, want %s)", cases[i].desc,
		    names[got], names[cases[i].want]);
	}
	return tap_done();
}
