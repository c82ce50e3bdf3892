/* frontdesk-console: the staff and admin console's FastCGI responder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/account.h"
#include "account/seal.h"
#include "common/cli.h"
#include "common/config.h"
#include "common/log.h"
#include "console.h"
#include "web/fcgi.h"
#include "web/sock.h"

static const char usage[] =
    "usage: frontdesk-console [-t] [-v] [--replace] [-c FILE]\n"
    "\n"
    "The staff and admin console's JSON API, behind the clinic's web\n"
    "server: sign-in, the requests of each person's locations, triage and\n"
    "notes, and the admins' locations, routes, failed mail and accounts.\n"
    "It holds no SMTP credentials: resends are queued for the mailer.\n"
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
    "Listens on [console] listen, or on an inherited socket (fd 0, or\n"
    "LISTEN_FDS from systemd). SIGTERM finishes requests in flight, exits 0.\n";

int
main(int argc, char **argv)
{
	struct fcgi_app app;
	struct config cfg;
	struct cli o;
	char err[512], q[1100];
	int fd, r;

	cli_start(&o, &cfg, argc, argv, "frontdesk-console", usage,
	    CLI_TEST | CLI_REPLACE);
	if (cfg.console_key_file[0] != '\0' &&
	    seal_load_key(cfg.console_key_file, err, sizeof(err)) == -1) {
		if (o.test_only) {
			fprintf(stderr, "frontdesk-console: %s\n", err);
			return 1;
		}
		fcgi_hold_signals();
		log_init("frontdesk-console", o.verbose);
		fatal("key_file_unusable", "error=%s", log_quote(q, sizeof(q),
		    err));
	}
	if (o.test_only) {
		printf("frontdesk-console: configuration %s is ok\n",
		    o.config_path);
		return 0;
	}
	fcgi_hold_signals();
	log_init("frontdesk-console", o.verbose);
	if (account_init(0) == -1)
		fatal("libsodium_init_failed", NULL);
	if (cfg.console_key_file[0] == '\0' &&
	    cfg.console_auth == CONFIG_AUTH_LOCAL &&
	    cfg.console_second_factor != CONFIG_2FA_OFF)
		log_warn("second_factor_unsealed", "hint=\"set [console] key_file "
		    "(frontdeskctl console-key FILE makes one): until then "
		    "second-factor secrets are stored as they are\"");
	fd = sock_open(cfg.console_listen, cfg.console_socket_mode, o.replace);
	console_app(&app, &cfg);
	r = fcgi_run(&cfg, fd, &app);
	sock_unlink(cfg.console_listen);
	return r;
}
