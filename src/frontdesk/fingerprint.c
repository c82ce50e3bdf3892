/* fingerprint: the digest of a post's fields as they would be stored. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "fields.h"
#include "fingerprint.h"

/* The message's first line names its format: a later format is another
 * message, never one that reads the same. */
#define FINGERPRINT_FORMAT "frontdesk fingerprint 2\n"

/* Does errs refuse one of the fingerprinted fields? */
static bool
refused(const struct validate_errors *errs)
{
	for (size_t i = 0; errs != NULL && i < errs->n; i++) {
		const struct field *r = fields_find(errs->e[i].field);

		if (r == NULL || r->fingerprint)
			return true;
	}
	return false;
}

static void
add(crypto_hash_sha256_state *st, const char *s, size_t len)
{
	crypto_hash_sha256_update(st, (const unsigned char *)s, len);
}

void
fingerprint_digest(const struct appointment *a,
    const struct validate_errors *errs, unsigned char out[FINGERPRINT_LEN])
{
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	add(&st, FINGERPRINT_FORMAT, strlen(FINGERPRINT_FORMAT));
	if (refused(errs)) {
		/* No field line: no valid post's message is this one. */
		add(&st, "invalid\n", strlen("invalid\n"));
		crypto_hash_sha256_final(&st, out);
		return;
	}
	/* name, length and value per field: no two posts' messages can
	 * read the same (a value may hold any byte, "\n" included). */
	for (size_t i = 0; i < fields_count; i++) {
		const struct field *r = &fields[i];
		const char *v;
		char head[64];
		size_t len;
		int n;

		if (!r->fingerprint)
			continue;
		if (r->kind == FIELD_FLAG)
			v = a->consent ? "1" : "0";
		else
			v = r->slot == SLOT_NONE ? NULL :
			    appointment_value(a, r->slot);
		len = v != NULL ? strlen(v) : 0;
		n = snprintf(head, sizeof(head), "%s %zu:", r->name, len);
		add(&st, head, (size_t)n);
		add(&st, v != NULL ? v : "", len);
		add(&st, "\n", 1);
	}
	crypto_hash_sha256_final(&st, out);
}
