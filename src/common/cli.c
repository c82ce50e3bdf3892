/* cli: the options every program shares (-c, -h, --version, -t). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"

#ifndef FRONTDESK_VERSION
#define FRONTDESK_VERSION "0.0.0"
#endif

void
cli_parse(struct cli *o, int argc, char **argv, const char *prog,
    const char *usage, bool allow_t)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	opterr = 0;  /* one line of our own instead of getopt's and ours */
	o->config_path = CONFIG_DEFAULT_PATH;
	/* "+": stop at the first operand, so a command's own options (e.g.
	 * "route add SLUG EMAIL --cc") are left to it. */
	while ((ch = getopt_long(argc, argv, allow_t ? "+c:htv" : "+c:hv",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config_path = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		case 'V':
			printf("%s %s\n", prog, FRONTDESK_VERSION);
			exit(0);
		case 't':
			o->test_only = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		default:
			if (optopt != 0)
				fprintf(stderr, "%s: unknown or incomplete option "
				    "-%c (see %s -h)\n", prog, optopt, prog);
			else
				fprintf(stderr, "%s: unknown option %s (see %s -h)\n",
				    prog, argv[optind - 1], prog);
			exit(2);
		}
	}
	o->argi = optind;
}

void
cli_load_config(const struct cli *o, struct config *cfg, const char *prog)
{
	char err[1024], q[2100];

	/* One logfmt line like every other event, before logging is set up
	 * for the program's run (it is -t's answer too). */
	if (config_load(cfg, o->config_path, err, sizeof(err)) == -1) {
		log_init(prog, 0);
		fatal("config_invalid", "error=%s", log_quote(q, sizeof(q), err));
	}
}
