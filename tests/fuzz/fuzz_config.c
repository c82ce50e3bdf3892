/* fuzz_config: libFuzzer harness for the INI configuration parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	char err[512], *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';  /* a NUL inside simply ends the text early */
	err[0] = '\0';
	if (config_load_string(&c, "fuzz.conf", text, err, sizeof(err)) == 0) {
		/* What the programs rely on once a file is accepted. */
		if (c.fcgi_threads < 1 || c.fcgi_threads > 256 ||
		    c.fcgi_max_body < 1024 || c.fcgi_max_body > 16777216 ||
		    c.mail_retry_max < c.mail_retry_min ||
		    c.ntrusted > NETADDR_MAX_CIDRS)
			abort();
	} else if (err[0] == '\0' || strchr(err, '\n') != NULL)
		abort();  /* an error is always one line */
	free(text);
	return 0;
}
