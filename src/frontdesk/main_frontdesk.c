/* frontdesk: the FastCGI responder that takes appointment requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/config.h"
#include "routes.h"
#include "web/fcgi.h"
#include "web/sock.h"
#include "common/log.h"
#include "spool.h"

static const char usage[] =
    "usage: frontdesk [-t] [-v] [--replace] [-c FILE]\n"
    "\n"
    "The FastCGI responder behind the clinic's web server: it takes\n"
    "appointment requests, stores them with their email in one transaction\n"
    "and answers. It holds no SMTP credentials; frontdesk-mailer sends.\n"
    "\n"
    "  -c, --config FILE  configuration (default " CONFIG_DEFAULT_PATH ")\n"
    "  -t                 check the configuration and exit 0 or 1\n"
    "  -v, --verbose      debug logging\n"
    "      --replace      take over a unix socket path that a running\n"
    "                     process serves, with no gap (a restart without\n"
    "                     systemd's socket activation); without it such a\n"
    "                     path is refused\n"
    "  -h, --help         this help\n"
    "      --version      print the version\n"
    "\n"
    "Listens on [fastcgi] listen, or on an inherited socket (fd 0, or\n"
    "LISTEN_FDS from systemd). SIGTERM finishes requests in flight, exits 0.\n";

int
main(int argc, char **argv)
{
	struct fcgi_app app;
	struct config cfg;
	struct cli o;
	char err[512], q[1100];
	int fd, r;

	cli_start(&o, &cfg, argc, argv, "frontdesk", usage,
	    CLI_TEST | CLI_REPLACE);
	if (o.test_only) {
		printf("frontdesk: configuration %s is ok\n", o.config_path);
		return 0;
	}
	fcgi_hold_signals();
	log_init("frontdesk", o.verbose);
	/* Message-IDs are made here, on the domain of [smtp] from. */
	if (strchr(cfg.msgid_domain, '.') == NULL ||
	    strstr(cfg.msgid_domain, "localhost") != NULL)
		log_warn("msgid_domain", "domain=%s hint=\"set [smtp] from in "
		    "this file too: the Message-IDs made here take its domain\"",
		    log_value(q, sizeof(q), cfg.msgid_domain));
	if (cfg.spool_dir[0] != '\0' &&
	    spool_init(cfg.spool_dir, err, sizeof(err)) == -1)
		fatal("spool_unusable", "error=%s", log_quote(q, sizeof(q), err));
	fd = sock_open(cfg.fcgi_listen, cfg.fcgi_socket_mode, o.replace);
	routes_app(&app, &cfg);
	r = fcgi_run(&cfg, fd, &app);
	sock_unlink(cfg.fcgi_listen);
	return r;
}
