/* cli: the options every program shares (-c, -h, --version, -t). */
#ifndef FRONTDESK_CLI_H
#define FRONTDESK_CLI_H

#include <stdbool.h>

#include "config.h"

struct cli {
	const char *config_path;
	bool test_only;   /* -t */
	bool verbose;     /* -v */
	int argi;         /* first operand */
};

/* Parses the common options; prints help or the version and exits as
 * asked, exits 2 on a usage error. `usage` is the program's help text. */
void cli_parse(struct cli *o, int argc, char **argv, const char *prog,
    const char *usage, bool allow_t);
/* Loads the configuration or exits 1 with one line naming the problem. */
void cli_load_config(const struct cli *o, struct config *cfg,
    const char *prog);

#endif
