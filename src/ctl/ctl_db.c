/* ctl_db: `db migrate`, the numbered sql/NNN_*.sql files applied in order. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

#define MIGRATIONS_MAX 1000

static const char create_table_sql[] =
    "CREATE TABLE schema_migrations ("
    " name       text PRIMARY KEY,"
    " checksum   text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

/* The build tree runs against the source tree's sql/, so that a
 * developer never has to install anything; an installed binary uses the
 * installed copy. $FRONTDESK_SQL_DIR overrides both. */
static const char *
ctl_db_sqldir(void)
{
	static char exe[PATH_MAX];
	const char *env = getenv("FRONTDESK_SQL_DIR");
	const char *root = FRONTDESK_BUILD_ROOT;
	size_t rootlen = strlen(root);
	ssize_t n;

	if (env != NULL && *env != '\0')
		return env;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		if (strncmp(exe, root, rootlen) == 0 && exe[rootlen] == '/')
			return FRONTDESK_SQLDIR_SOURCE;
	}
	return FRONTDESK_SQLDIR_INSTALLED;
}

/* NNN_name.sql: three digits, an underscore, a name, ".sql". */
static int
ctl_db_is_migration(const struct dirent *d)
{
	const char *s = d->d_name;
	size_t len = strlen(s);

	return len > 8 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' &&
	    s[1] <= '9' && s[2] >= '0' && s[2] <= '9' && s[3] == '_' &&
	    strcmp(s + len - 4, ".sql") == 0;
}

static int
ctl_db_read(const char *dir, const char *name, struct buf *out)
{
	char path[PATH_MAX], chunk[8192];
	const char *why = NULL;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		why = strerror(errno);
	while (f != NULL && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(out, chunk, n);
	if (f != NULL && ferror(f))
		why = strerror(errno);
	else if (f != NULL && buf_str(out) == NULL)
		why = "out of memory";
	if (f != NULL)
		fclose(f);
	if (why == NULL)
		return 0;
	ctl_err("cannot read %s: %s", path, why);
	return -1;
}

/* The line of a statement position (1-based characters) in the file. */
static int
ctl_db_line(const char *text, const char *pos)
{
	long chars = strtol(pos, NULL, 10);
	int line = 1;

	for (long i = 1; i < chars && *text != '\0'; text++) {
		/* Positions count characters, not bytes. */
		if (((unsigned char)*text & 0xc0) != 0x80)
			i++;
		if (*text == '\n')
			line++;
	}
	return line;
}

/* Inside the migration lock: is it applied already? 1, 0 or -1. */
static int
ctl_db_applied(struct ctl *c, const char *name, const char *sum)
{
	const char *vals[] = { name };
	PGresult *r;
	int applied;

	if ((r = ctl_exec(c, "SELECT to_regclass('schema_migrations') IS NULL",
	    0, NULL)) == NULL)
		return -1;
	applied = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	/* Created only when missing, so that a later run needs no CREATE. */
	if (applied && ctl_run(c, create_table_sql, 0, NULL) == -1)
		return -1;
	if ((r = ctl_exec(c, "SELECT checksum FROM schema_migrations"
	    " WHERE name = $1", 1, vals)) == NULL)
		return -1;
	applied = PQntuples(r) == 1;
	if (applied && strcmp(PQgetvalue(r, 0, 0), sum) != 0)
		fprintf(stderr, "%s: warning: %s has changed since it was "
		    "applied; a change needs a new numbered file\n", CTL_PROG,
		    name);
	PQclear(r);
	return applied;
}

static int
ctl_db_checksum(struct ctl *c, const char *text, char sum[65])
{
	const char *vals[] = { text };
	PGresult *r = ctl_exec(c,
	    "SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex')", 1, vals);

	if (r == NULL)
		return -1;
	snprintf(sum, 65, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

/* One file in its own transaction: 1 applied, 0 already there, -1. */
static int
ctl_db_apply(struct ctl *c, const char *dir, const char *name)
{
	struct buf text = { 0 };
	const char *vals[2], *sql;
	char sum[65];
	PGresult *r;
	int done = -1, already;

	if (ctl_db_read(dir, name, &text) == -1)
		goto out;
	if (ctl_begin(c, CTL_LOCK_MIGRATE) == -1)
		goto out;
	sql = buf_str(&text);
	if (ctl_db_checksum(c, sql, sum) == -1 ||
	    (already = ctl_db_applied(c, name, sum)) == -1)
		goto end;
	if (already) {
		done = 0;
		goto end;
	}
	/* The file may hold many statements (but no BEGIN or COMMIT): PQexec
	 * runs them all within our transaction. It comes from the sql
	 * directory, never from input. */
	r = PQexec(c->conn, sql);
	/* An empty file, or one of comments only, is a valid no-op. */
	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK &&
	    PQresultStatus(r) != PGRES_EMPTY_QUERY) {
		const char *pos = PQresultErrorField(r,
		    PG_DIAG_STATEMENT_POSITION);
		char what[512];

		if (pos != NULL)
			snprintf(what, sizeof(what), "%s, line %d", name,
			    ctl_db_line(sql, pos));
		else
			snprintf(what, sizeof(what), "%s", name);
		ctl_db_error(what, r, c->conn);
		PQclear(r);
		goto end;
	}
	PQclear(r);
	vals[0] = name;
	vals[1] = sum;
	if (ctl_run(c, "INSERT INTO schema_migrations (name, checksum)"
	    " VALUES ($1, $2)", 2, vals) == 0 && ctl_commit(c) == 0)
		done = 1;
end:
	/* Nothing was changed when it was applied already. */
	if (done != 1)
		ctl_rollback(c);
out:
	buf_free(&text);
	return done;
}

int
ctl_db_migrate(struct ctl *c, int argc, char **argv)
{
	const char *dir = ctl_db_sqldir();
	struct dirent **list = NULL;
	int n, applied = 0, rc = CTL_OK;

	if (ctl_getopt(c, argc, argv, NULL) != -1)
		return CTL_USAGE;
	if (ctl_operands(c, argc, 0, 0) == -1)
		return CTL_USAGE;
	if ((n = scandir(dir, &list, ctl_db_is_migration, alphasort)) < 0)
		return ctl_err("cannot read the sql directory %s: %s", dir,
		    strerror(errno));
	if (n == 0)
		rc = ctl_err("no migrations (NNN_*.sql) in %s", dir);
	if (c->opts.verbose)
		printf("sql directory: %s\n", dir);
	for (int i = 0; i < n && rc == CTL_OK; i++) {
		int done = ctl_db_apply(c, dir, list[i]->d_name);

		if (done == -1)
			rc = CTL_ERR;
		else if (done == 1) {
			printf("applied %s\n", list[i]->d_name);
			applied++;
		}
	}
	if (rc == CTL_OK && applied == 0)
		printf("nothing to apply: all %d migrations are applied\n", n);
	else if (rc == CTL_OK)
		printf("applied %d of %d migrations\n", applied, n);
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return rc;
}
