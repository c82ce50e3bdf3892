/* Unit tests for reference.c: encoding, alphabet, randomness. */
#include <string.h>

#include "reference.h"
#include "tap.h"

static const struct {
	unsigned char rnd[5];
	const char *want;
} cases[] = {
	{ { 0, 0, 0, 0, 0 }, "FD-00000000" },
	{ { 0xff, 0xff, 0xff, 0xff, 0xff }, "FD-ZZZZZZZZ" },
	{ { 0, 0, 0, 0, 1 }, "FD-00000001" },
	{ { 0, 0, 0, 0, 31 }, "FD-0000000Z" },
	{ { 0, 0, 0, 0, 32 }, "FD-00000010" },
	{ { 0x84, 0x21, 0x08, 0x42, 0x10 }, "FD-GGGGGGGG" },
};

int
main(void)
{
	char ref[REFERENCE_LEN + 1], seen[64][REFERENCE_LEN + 1];
	int dup = 0, invalid = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		reference_encode(cases[i].rnd, ref);
		tap_ok(strcmp(ref, cases[i].want) == 0, "encode %zu: %s", i, ref);
		tap_ok(reference_valid(ref), "valid %s", ref);
	}
	tap_ok(!reference_valid("FD-0000000I"), "I is not Crockford");
	tap_ok(!reference_valid("FD-0000000U"), "U is not Crockford");
	tap_ok(!reference_valid("FD-0000000"), "too short");
	tap_ok(!reference_valid("FD-000000000"), "too long");
	tap_ok(!reference_valid("XX-00000000"), "wrong prefix");
	tap_ok(!reference_valid("FD-0000000a"), "lower case");
	for (int i = 0; i < 64; i++) {
		if (reference_new(seen[i]) != 0 || !reference_valid(seen[i]))
			invalid++;
		for (int j = 0; j < i; j++)
			dup += strcmp(seen[i], seen[j]) == 0;
	}
	tap_ok(invalid == 0, "64 new references are valid");
	tap_ok(dup == 0, "64 new references are distinct");
	return tap_done();
}
