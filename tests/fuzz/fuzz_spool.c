/* fuzz_spool: libFuzzer harness for decoding spool files, which a crash
 * or a full disk may leave half-written. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spool.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spool_entry e, again;
	char *text = malloc(size + 1), *enc;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (spool_decode(text, &e) == 0) {
		/* What decodes must encode, and decode to the same. */
		if (!reference_valid(e.reference) || e.a.location == NULL ||
		    (enc = spool_encode(&e)) == NULL)
			abort();
		if (spool_decode(enc, &again) != 0 ||
		    strcmp(again.reference, e.reference) != 0 ||
		    (again.key == NULL) != (e.key == NULL))
			abort();
		spool_entry_free(&again);
		free(enc);
		spool_entry_free(&e);
	}
	free(text);
	return 0;
}
