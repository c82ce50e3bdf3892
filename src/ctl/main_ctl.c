/* frontdeskctl: the admin CLI for the schema, locations, routes, requests,
 * the outbox, retention, the console's accounts and the audit log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static const char usage[] =
    "usage: frontdeskctl [-v] [-c FILE] COMMAND [ARGS]\n"
    "\n"
    "Administers frontdesk through its database: the schema, the clinic's\n"
    "locations, who gets each location's mail, the stored appointment\n"
    "requests, the outbox of mail, the console's accounts and the audit\n"
    "log. Every change applies to the next request or message; nothing\n"
    "needs a restart. Every change and export is recorded in the audit log\n"
    "as frontdeskctl:OSUSER.\n"
    "\n"
    "  -c, --config FILE  configuration (default " CONFIG_DEFAULT_PATH ");\n"
    "                     [database] conninfo, [smtp] from (resend) and\n"
    "                     [console] auth, second_factor (user list)\n"
    "  -v, --verbose      say more\n"
    "  -h, --help         this help; COMMAND --help: that command's help\n"
    "      --version      print the version\n"
    "\n"
    "Commands:\n"
    "  db migrate                          apply the schema (idempotent)\n"
    "  location add SLUG --name NAME [--thank-you URL]\n"
    "  location list [--json]\n"
    "  location enable SLUG\n"
    "  location disable SLUG               never the last active one\n"
    "  route add SLUG EMAIL [--cc|--bcc]   add a recipient (To by default)\n"
    "  route remove SLUG EMAIL\n"
    "  route list [SLUG] [--json]\n"
    "  request list [--location SLUG] [--since YYYY-MM-DD]\n"
    "               [--status received|spam] [--json|--csv]\n"
    "  request show REF [--json]\n"
    "  request resend REF                  mail it again, new Message-ID\n"
    "  request unspam REF                  a honeypot false positive: mark\n"
    "                                      it received and queue its mail\n"
    "  outbox list [--status pending|sent|dead] [--json]\n"
    "  outbox retry ID | --all-dead        dead mail back to pending\n"
    "  purge --older-than DAYS [--include-undelivered]\n"
    "                                      delete old requests and their\n"
    "                                      mail; never one still pending,\n"
    "                                      nor one whose mail died unsent\n"
    "  user add NAME --role staff|admin [--location SLUG]... [--password-stdin]\n"
    "  user set NAME [--role staff|admin] [--location SLUG]...\n"
    "                                      the locations given replace the old\n"
    "  user passwd NAME [--password-stdin] a new password; ends its sessions\n"
    "  user disable NAME                   no sign-in; ends its sessions\n"
    "  user enable NAME                    and lifts a lockout\n"
    "  user reset-2fa NAME                 enrol the second factor again\n"
    "  user list [--json]\n"
    "  audit list [--user NAME] [--reference REF] [--since YYYY-MM-DD] [--json]\n"
    "  console-key FILE                    make the key of [console] key_file\n"
    "\n"
    "NOUN --help (e.g. `user --help`) lists a noun's commands with their help.\n"
    "\n"
    "Exit status: 0 done; 1 an error (a bad value, an unknown slug or\n"
    "reference, a database error), told in one line on stderr; 2 a usage\n"
    "error (an unknown command or option, a wrong number of arguments).\n"
    "\n"
    "Give each program its own configuration file with its own role's\n"
    "conninfo: frontdeskctl runs as a member of frontdesk_admin; `db migrate`\n"
    "as the database owner (it creates tables and the roles). Retention:\n"
    "run `frontdeskctl purge --older-than 90` daily unless your policy says\n"
    "otherwise. See frontdeskctl(8).\n";

#define OUTPUT_HELP \
    "  --json    a JSON array of objects, for scripts\n" \
    "  -h, --help  this help\n"

static const struct ctl_cmd commands[] = {
	{ "db", "migrate", ctl_db_migrate, "db migrate",
	    "Applies the numbered files NNN_*.sql of the sql directory\n"
	    "that are not applied yet, in order, each in its own\n"
	    "transaction, and records each in the table\n"
	    "schema_migrations. Running it again applies nothing.\n"
	    "Several at once wait for each other.\n"
	    "The sql directory: $FRONTDESK_SQL_DIR if set; else the\n"
	    "source tree's sql/ when run from the build tree; else the\n"
	    "installed one (" FRONTDESK_SQLDIR_INSTALLED ").\n"
	    "Run it as the database owner, with the right to create\n"
	    "roles (002_roles.sql creates frontdesk_web,\n"
	    "frontdesk_mailer and frontdesk_admin when missing).\n" },
	{ "location", "add", ctl_location_add,
	    "location add SLUG --name NAME [--thank-you URL]",
	    "Adds an active location. SLUG is what the form posts as\n"
	    "`location`: 1-64 of a-z, 0-9 and '-', starting with a\n"
	    "letter or digit. NAME (1-200 characters, one line) is shown\n"
	    "on the form and in the email's subject.\n"
	    "  --name NAME      required\n"
	    "  --thank-you URL  where the visitor goes after posting,\n"
	    "                   instead of [http] thank_you_url: a path\n"
	    "                   (/...) or an http(s):// URL, at most\n"
	    "                   500 bytes\n" },
	{ "location", "list", ctl_location_list, "location list [--json]",
	    "Lists every location, active or not, in the order they\n"
	    "were added.\n"
	    OUTPUT_HELP },
	{ "location", "enable", ctl_location_enable, "location enable SLUG",
	    "Makes a location selectable on the form again.\n" },
	{ "location", "disable", ctl_location_disable, "location disable SLUG",
	    "Stops a location from taking new requests. Its stored\n"
	    "requests and their pending mail are kept and still follow\n"
	    "its routes. The last active location cannot be disabled.\n" },
	{ "route", "add", ctl_route_add, "route add SLUG EMAIL [--cc|--bcc]",
	    "Sends the location's mail to EMAIL too, as To (the\n"
	    "default), Cc or Bcc. An address appears at most once per\n"
	    "location, whatever its case. A location without routes is\n"
	    "mailed to [mail] default_to. Mail still pending follows\n"
	    "the change.\n"
	    "  --cc    a Cc recipient\n"
	    "  --bcc   a Bcc recipient (never shown in the headers)\n" },
	{ "route", "remove", ctl_route_remove, "route remove SLUG EMAIL",
	    "Stops sending the location's mail to EMAIL (any case).\n"
	    "To move a location's mail to a new address: route add the\n"
	    "new one, then route remove the old one.\n" },
	{ "route", "list", ctl_route_list, "route list [SLUG] [--json]",
	    "Lists the routes of every location, or of SLUG; in text, a\n"
	    "location without routes shows that [mail] default_to gets\n"
	    "its mail.\n"
	    OUTPUT_HELP },
	{ "request", "list", ctl_request_list,
	    "request list [--location SLUG] [--since YYYY-MM-DD] "
	    "[--status received|spam] [--json|--csv]",
	    "Lists stored requests, oldest first.\n"
	    "  --location SLUG  only this location's\n"
	    "  --since DATE     only those made on or after DATE, 00:00\n"
	    "                   in the database session's time zone\n"
	    "                   (PGTZ sets it)\n"
	    "  --status S       received or spam (honeypot)\n"
	    "  --json           a JSON array with every stored field,\n"
	    "                   keyed as the form names them, plus\n"
	    "                   reference, created_at (ISO 8601), status,\n"
	    "                   delivery (pending, sent, dead; null\n"
	    "                   for spam) and triage (new, contacted,\n"
	    "                   scheduled, closed)\n"
	    "  --csv            the same as RFC 4180 CSV with a header\n"
	    "                   row; a cell starting with = + - @ gets a\n"
	    "                   leading ' so a spreadsheet shows it as\n"
	    "                   text\n" },
	{ "request", "show", ctl_request_show, "request show REF [--json]",
	    "Shows one request (REF: FD-XXXXXXXX) and its mail.\n"
	    "  --json   one object with the fields of request list --json\n" },
	{ "request", "resend", ctl_request_resend, "request resend REF",
	    "Queues the request's email again as a new message with a\n"
	    "new Message-ID, to the location's current routes. A spam\n"
	    "request cannot be resent: use request unspam.\n" },
	{ "request", "unspam", ctl_request_unspam, "request unspam REF",
	    "For a request the honeypot took for spam: marks it\n"
	    "received and queues its email.\n" },
	{ "outbox", "list", ctl_outbox_list,
	    "outbox list [--status pending|sent|dead] [--json]",
	    "Lists the messages, oldest first. A message being sent\n"
	    "right now counts as pending.\n"
	    "  --status S   pending, sent or dead\n"
	    OUTPUT_HELP },
	{ "outbox", "retry", ctl_outbox_retry, "outbox retry ID | --all-dead",
	    "Puts a dead message (or with --all-dead every dead one)\n"
	    "back to pending, due now, with the same Message-ID. It is\n"
	    "queued anew: its attempt count restarts from 0 (backoff\n"
	    "from [mail] retry_min) and its give_up_after clock from\n"
	    "now; the earlier attempts stay recorded. Only dead\n"
	    "messages can be retried.\n" },
	{ "purge", NULL, ctl_purge,
	    "purge --older-than DAYS [--include-undelivered]",
	    "Deletes the requests made more than DAYS days ago with\n"
	    "their mail, notes, read state and triage (the audit log\n"
	    "keeps its rows), except those whose mail is still pending (or\n"
	    "being sent) and those whose email was never delivered to\n"
	    "anyone (every message dead, none sent: nobody at the front\n"
	    "desk has seen them), and says how many of each it kept.\n"
	    "Also drops idempotency keys older than 24 hours and the\n"
	    "rate limit's addresses with no post in the last hour.\n"
	    "Recommended: daily, with DAYS 90 or what your privacy\n"
	    "policy says.\n"
	    "  --older-than DAYS      required, 1 to 100000\n"
	    "  --include-undelivered  delete the undelivered ones too\n"
	    "                         (look at them first: outbox list\n"
	    "                         --status dead)\n" },
	{ "user", "add", ctl_user_add,
	    "user add NAME --role staff|admin [--location SLUG]... "
	    "[--password-stdin]",
	    "Adds an account of frontdesk-console. NAME: 1-64 of a-z,\n"
	    "0-9 and . _ @ - (a REMOTE_USER is matched in lower case).\n"
	    "A staff account sees the requests of its locations, at\n"
	    "least one; an admin sees every location and takes no\n"
	    "--location. Without --password-stdin a random password is\n"
	    "made and printed alone on one line of stdout (nothing else\n"
	    "is printed); with it, the password is the first line of\n"
	    "standard input without its line end. A password has 12 to\n"
	    "128 characters, no control characters; only its argon2id\n"
	    "hash is stored.\n"
	    "  --role R          staff or admin, required\n"
	    "  --location SLUG   a location of a staff account; repeat\n"
	    "                    for more\n"
	    "  --password-stdin  read the password from standard input\n" },
	{ "user", "set", ctl_user_set,
	    "user set NAME [--role staff|admin] [--location SLUG]...",
	    "Changes an account's role or locations. The locations given\n"
	    "replace the old ones. Made admin, an account drops its\n"
	    "locations; made staff, it needs --location.\n"
	    "  --role R          staff or admin\n"
	    "  --location SLUG   repeat for more\n" },
	{ "user", "passwd", ctl_user_passwd,
	    "user passwd NAME [--password-stdin]",
	    "Gives an account a new password, as user add does (random\n"
	    "and printed alone, or the first line of standard input),\n"
	    "and ends its sessions.\n"
	    "  --password-stdin  read the password from standard input\n" },
	{ "user", "disable", ctl_user_disable, "user disable NAME",
	    "The account can no longer sign in; its sessions end now.\n"
	    "Its audit rows, notes and history stay.\n" },
	{ "user", "enable", ctl_user_enable, "user enable NAME",
	    "The account can sign in again; a lockout after failed\n"
	    "sign-ins is lifted too.\n" },
	{ "user", "reset-2fa", ctl_user_reset_2fa, "user reset-2fa NAME",
	    "Forgets the account's second factor (a lost phone): where\n"
	    "[console] second_factor asks one of it, it enrols again at\n"
	    "its next sign-in. Its sessions end.\n" },
	{ "user", "list", ctl_user_list, "user list [--json]",
	    "Lists the accounts in the order they were added: role,\n"
	    "locations, enabled, second factor (on: enrolled; enrol:\n"
	    "[console] second_factor of this file asks it and it is not\n"
	    "enrolled yet; off), a lockout, the last sign-in.\n"
	    "  --json    an array of {username, role, locations, enabled,\n"
	    "            second_factor, last_sign_in}\n"
	    "  -h, --help  this help\n" },
	{ "audit", "list", ctl_audit_list,
	    "audit list [--user NAME] [--reference REF] [--since YYYY-MM-DD] "
	    "[--json]",
	    "Lists the audit log, oldest first: every sign-in, view,\n"
	    "export and change made in the console or with frontdeskctl\n"
	    "(as frontdeskctl:OSUSER). The log is append-only: no role\n"
	    "but the database owner can change or remove a row, and\n"
	    "purge keeps it.\n"
	    "  --user NAME       rows of this user, as the list shows it\n"
	    "  --reference REF   rows about this request\n"
	    "  --since DATE      rows from DATE, 00:00 in the database\n"
	    "                    session's time zone\n"
	    "  --json            an array of {at, user, address, action,\n"
	    "                    object, detail}\n" },
	{ "console-key", NULL, ctl_console_key, "console-key FILE",
	    "Writes a new random key (64 hex digits, mode 0600) to FILE,\n"
	    "which must not exist: [console] key_file, with which the\n"
	    "console seals second-factor secrets in the database. Give\n"
	    "the file to the console's user. Needs no database.\n" },
};

static const struct ctl_cmd *
find_command(int argc, char **argv, int *used)
{
	const size_t n = sizeof(commands) / sizeof(commands[0]);

	for (size_t i = 0; i < n; i++) {
		if (strcmp(commands[i].noun, argv[0]) != 0)
			continue;
		if (commands[i].verb == NULL) {
			*used = 1;
			return &commands[i];
		}
		if (argc > 1 && strcmp(commands[i].verb, argv[1]) == 0) {
			*used = 2;
			return &commands[i];
		}
	}
	return NULL;
}

/* `NOUN --help`: the help of each of the noun's commands. */
static int
noun_help(const char *noun)
{
	bool first = true;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].noun, noun) != 0)
			continue;
		printf("%susage: %s [-c FILE] %s\n\n%s", first ? "" : "\n",
		    CTL_PROG, commands[i].synopsis, commands[i].help);
		first = false;
	}
	return CTL_OK;
}

static bool
known_noun(const char *noun)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].noun, noun) == 0)
			return true;
	return false;
}

int
main(int argc, char **argv)
{
	struct ctl c;
	int used, rc;

	memset(&c, 0, sizeof(c));
	cli_parse(&c.opts, argc, argv, CTL_PROG, usage, false);
	argc -= c.opts.argi;
	argv += c.opts.argi;
	if (argc == 0)
		return ctl_usage(NULL, "no command given");
	if (strcmp(argv[0], "help") == 0) {
		fputs(usage, stdout);
		return CTL_OK;
	}
	if ((c.cmd = find_command(argc, argv, &used)) == NULL) {
		if (known_noun(argv[0]) && argc == 2 &&
		    (strcmp(argv[1], "--help") == 0 ||
		    strcmp(argv[1], "-h") == 0))
			return noun_help(argv[0]);
		if (known_noun(argv[0]) && argc > 1)
			return ctl_usage(NULL, "unknown command \"%s %s\"",
			    argv[0], argv[1]);
		if (known_noun(argv[0]))
			return ctl_usage(NULL, "\"%s\" needs a command",
			    argv[0]);
		return ctl_usage(NULL, "unknown command \"%s\"", argv[0]);
	}
	/* The command sees its own words as argv[0], as getopt expects. */
	argc -= used - 1;
	argv += used - 1;
	optind = 0;   /* glibc: start getopt afresh on the command's words */
	rc = c.cmd->run(&c, argc, argv);
	ctl_close(&c);
	return rc;
}
