/* cli: the options every program shares (-c, -h, --version, -v), and
 * the ones some do (-t, --replace). */
#ifndef FRONTDESK_CLI_H
#define FRONTDESK_CLI_H

#include <stdbool.h>

#include "config.h"

struct cli {
	const char *config_path;
	bool test_only;   /* -t */
	bool replace;     /* --replace */
	bool verbose;     /* -v */
	int argi;         /* first operand */
};

/* What a program accepts beyond the common options. */
enum {
	CLI_TEST = 1,     /* -t: check the configuration */
	CLI_REPLACE = 2,  /* --replace: take over a live unix socket path */
};

/* Parses the common options and those in `accept` (CLI_*); prints help or
 * the version and exits as asked, exits 2 on a usage error. `usage` is
 * the program's help text. */
void cli_parse(struct cli *o, int argc, char **argv, const char *prog,
    const char *usage, unsigned accept);
/* A daemon's start: the common options (flags as cli_parse's), no
 * operands (exit 2 naming the first), the configuration loaded (exit 1
 * with one logfmt line). */
void cli_start(struct cli *o, struct config *cfg, int argc, char **argv,
    const char *prog, const char *usage, unsigned flags);
/* Loads the configuration or exits 1 with one line naming the problem. */
void cli_load_config(const struct cli *o, struct config *cfg,
    const char *prog);

#endif
