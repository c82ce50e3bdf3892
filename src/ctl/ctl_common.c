/* ctl_common: frontdeskctl's messages, option parsing and database calls. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

int
ctl_err(const char *fmt, ...)
{
	char msg[1024], line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", CTL_PROG,
	    ctl_oneline(line, sizeof(line), msg));
	return CTL_ERR;
}

int
ctl_usage(struct ctl *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c != NULL && c->cmd != NULL)
		fprintf(stderr, "%s: %s%s%s: %s (usage: %s %s)\n", CTL_PROG,
		    c->cmd->noun, c->cmd->verb ? " " : "",
		    c->cmd->verb ? c->cmd->verb : "", msg, CTL_PROG,
		    c->cmd->synopsis);
	else
		fprintf(stderr, "%s: %s (see %s -h)\n", CTL_PROG, msg,
		    CTL_PROG);
	return CTL_USAGE;
}

static void
ctl_print_help(const struct ctl_cmd *cmd)
{
	printf("usage: %s [-c FILE] %s\n\n%s", CTL_PROG, cmd->synopsis,
	    cmd->help);
}

int
ctl_getopt(struct ctl *c, int argc, char **argv, const struct option *longopts)
{
	static const struct option help = { "help", no_argument, NULL, 'h' };
	struct option all[16];
	size_t n = 0;
	int ch;

	/* Every command takes --help as well as its own options. */
	while (longopts != NULL && longopts[n].name != NULL && n < 14) {
		all[n] = longopts[n];
		n++;
	}
	all[n++] = help;
	memset(&all[n], 0, sizeof(all[n]));

	opterr = 0;
	/* ":": a missing value is told apart from an unknown option. Long
	 * options only, but -h too, the way every program takes it. */
	ch = getopt_long(argc, argv, ":h", all, NULL);
	switch (ch) {
	case 'h':
		ctl_print_help(c->cmd);
		exit(CTL_OK);
	case ':':
		ctl_usage(c, "option %s needs a value", argv[optind - 1]);
		return '?';
	case '?':
		if (optopt != 0)
			ctl_usage(c, "unknown option -%c", optopt);
		else
			ctl_usage(c, "unknown option %s", argv[optind - 1]);
		return '?';
	default:
		return ch;
	}
}

int
ctl_json_args(struct ctl *c, int argc, char **argv, int min, int max,
    bool *json)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	*json = false;
	while ((ch = ctl_getopt(c, argc, argv, opts)) != -1) {
		if (ch != 'j')
			return -1;
		*json = true;
	}
	return ctl_operands(c, argc, min, max);
}

int
ctl_operands(struct ctl *c, int argc, int min, int max)
{
	int n = argc - optind;

	if (n < min) {
		ctl_usage(c, "missing argument");
		return -1;
	}
	if (n > max) {
		ctl_usage(c, "too many arguments");
		return -1;
	}
	return 0;
}

const char *
ctl_oneline(char *buf, size_t size, const char *s)
{
	size_t o = 0;
	bool space = false;

	if (size == 0)
		return "";
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	for (; *s != '\0' && o + 1 < size; s++) {
		if (*s == '\n' || *s == '\r' || *s == '\t' || *s == ' ') {
			space = true;
			continue;
		}
		if (space && o + 2 < size)
			buf[o++] = ' ';
		space = false;
		buf[o++] = *s;
	}
	buf[o] = '\0';
	return buf;
}

const struct config *
ctl_config(struct ctl *c)
{
	char err[1024];

	/* frontdeskctl speaks to a person: one plain line, as its other
	 * errors (the daemons log config_invalid instead). */
	if (!c->cfg_loaded) {
		if (config_load(&c->cfg, c->opts.config_path, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, CTL_PROG ": configuration error: %s\n",
			    err);
			exit(CTL_ERR);
		}
		c->cfg_loaded = true;
	}
	return &c->cfg;
}

/* libpq would print NOTICEs (e.g. a migration's "already exists,
 * skipping") on stderr, where only one line per error belongs. */
static void
ctl_quiet_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

PGconn *
ctl_conn(struct ctl *c)
{
	/* read-write: the primary of a multi-host conninfo's hosts (the
	 * conninfo may say target_session_attrs=any to read a standby). */
	const char *keys[] = { "application_name", "connect_timeout",
	    "target_session_attrs", "dbname", NULL };
	const char *vals[] = { CTL_PROG, "10", "read-write", NULL, NULL };

	if (c->conn != NULL)
		return c->conn;
	vals[3] = ctl_config(c)->db_conninfo;
	/* Our defaults come first so that the conninfo can override them. */
	c->conn = PQconnectdbParams(keys, vals, 1);
	if (c->conn == NULL) {
		ctl_err("cannot connect to the database: out of memory");
		exit(CTL_ERR);
	}
	if (PQstatus(c->conn) != CONNECTION_OK) {
		ctl_err("cannot connect to the database: %s",
		    PQerrorMessage(c->conn));
		PQfinish(c->conn);
		c->conn = NULL;
		exit(CTL_ERR);
	}
	PQsetNoticeProcessor(c->conn, ctl_quiet_notice, NULL);
	return c->conn;
}

void
ctl_close(struct ctl *c)
{
	if (c->conn != NULL)
		PQfinish(c->conn);
	c->conn = NULL;
}

int
ctl_db_error(const char *what, const PGresult *r, PGconn *conn)
{
	const char *msg = NULL, *detail = NULL;

	if (r != NULL) {
		msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
	}
	if (msg == NULL)
		msg = conn != NULL ? PQerrorMessage(conn) : "unknown error";
	if (detail != NULL)
		return ctl_err("%s: %s (%s)", what, msg, detail);
	return ctl_err("%s: %s", what, msg);
}

PGresult *
ctl_exec(struct ctl *c, const char *sql, int n, const char *const *vals)
{
	PGconn *conn = ctl_conn(c);
	PGresult *r = PQexecParams(conn, sql, n, NULL, vals, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return r;
	ctl_db_error("database error", r, conn);
	PQclear(r);
	return NULL;
}

int
ctl_run(struct ctl *c, const char *sql, int n, const char *const *vals)
{
	PGresult *r = ctl_exec(c, sql, n, vals);

	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

int
ctl_begin(struct ctl *c, const char *lock)
{
	const char *vals[] = { lock };

	if (ctl_run(c, "BEGIN", 0, NULL) == -1)
		return -1;
	if (lock != NULL &&
	    ctl_run(c, "SELECT pg_advisory_xact_lock($1::bigint)", 1,
	    vals) == -1) {
		ctl_rollback(c);
		return -1;
	}
	return 0;
}

int
ctl_commit(struct ctl *c)
{
	return ctl_run(c, "COMMIT", 0, NULL);
}

/* After an error already reported: nothing more to say if this fails
 * too, the server rolls back when the connection closes. */
void
ctl_rollback(struct ctl *c)
{
	if (c->conn != NULL)
		PQclear(PQexec(c->conn, "ROLLBACK"));
}
