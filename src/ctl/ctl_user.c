/* ctl_user: `user add|set|passwd|disable|enable|reset-2fa|list`: the
 * accounts of frontdesk-console. Each change and its audit row commit
 * together. Passwords are hashed here (argon2id) and never stored,
 * printed (but the random one, once, alone on stdout) or logged. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "ctl.h"
#include "account/account.h"
#include "account/seal.h"

#define USER_MAX_LOCATIONS 64

/* A staff account's locations as the database lists them: JSON text. */
#define USER_LOCATIONS_JSON \
    "(SELECT coalesce(json_agg(l.slug ORDER BY l.id), '[]')::text" \
    " FROM user_locations ul JOIN locations l ON l.id = ul.location_id" \
    " WHERE ul.user_id = u.id)"

struct user_args {
	const char *name;
	const char *role;           /* NULL: not given */
	const char *locations[USER_MAX_LOCATIONS];
	size_t nlocations;
	bool locations_given;
	bool password_stdin;
};

static int
user_check_name(const char *name)
{
	if (account_name_ok(name))
		return 0;
	ctl_err("\"%s\" is not a valid account name (1-%d of a-z, 0-9 and "
	    ". _ @ -, in lower case)", name, ACCOUNT_NAME_MAX);
	return -1;
}

/* The options add and set share; CTL_OK, CTL_USAGE or CTL_ERR. */
static int
user_parse(struct ctl *c, int argc, char **argv, struct user_args *a,
    bool with_password)
{
	static const struct option opts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "location", required_argument, NULL, 'l' },
		{ "password-stdin", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct option set_opts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "location", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(a, 0, sizeof(*a));
	while ((ch = ctl_getopt(c, argc, argv, with_password ? opts :
	    set_opts)) != -1) {
		if (ch == 'r')
			a->role = optarg;
		else if (ch == 'p')
			a->password_stdin = true;
		else if (ch == 'l') {
			bool dup = false;

			a->locations_given = true;
			for (size_t i = 0; i < a->nlocations; i++)
				dup = dup || strcmp(a->locations[i],
				    optarg) == 0;
			if (dup)
				continue;
			if (a->nlocations == USER_MAX_LOCATIONS)
				return ctl_err("at most %d --location",
				    USER_MAX_LOCATIONS);
			a->locations[a->nlocations++] = optarg;
		} else
			return CTL_USAGE;
	}
	if (ctl_operands(c, argc, 1, 1) == -1)
		return CTL_USAGE;
	a->name = argv[optind];
	if (user_check_name(a->name) == -1)
		return CTL_ERR;
	if (a->role != NULL && strcmp(a->role, "staff") != 0 &&
	    strcmp(a->role, "admin") != 0)
		return ctl_err("bad --role \"%s\": staff or admin", a->role);
	for (size_t i = 0; i < a->nlocations; i++)
		if (ctl_location_check_slug(a->locations[i]) == -1)
			return CTL_ERR;
	return CTL_OK;
}

/* The rule of the contract (Console, Accounts): staff see their own
 * locations, at least one; admins see all and take none. */
static int
user_check_role(const char *role, size_t nlocations)
{
	if (strcmp(role, "staff") == 0 && nlocations == 0)
		return ctl_err("a staff account needs at least one --location");
	if (strcmp(role, "admin") == 0 && nlocations > 0)
		return ctl_err("an admin sees every location: give no "
		    "--location");
	return CTL_OK;
}

/* The locations as a PostgreSQL text[] literal; slugs need no quoting
 * ([a-z0-9-]), which user_parse has checked. */
static const char *
user_slug_array(const struct user_args *a, struct buf *b)
{
	buf_addc(b, '{');
	for (size_t i = 0; i < a->nlocations; i++) {
		if (i > 0)
			buf_addc(b, ',');
		buf_adds(b, a->locations[i]);
	}
	buf_addc(b, '}');
	return buf_str(b);
}

/* Every location given exists (active or not); 0, or -1 once reported.
 * Inside the transaction, so that what is checked is what is linked. */
static int
user_locations_known(struct ctl *c, const char *array)
{
	const char *vals[] = { array };
	PGresult *r;
	int rc = 0;

	if ((r = ctl_exec(c, "SELECT s FROM unnest($1::text[]) s"
	    " WHERE NOT EXISTS (SELECT 1 FROM locations WHERE slug = s)"
	    " LIMIT 1", 1, vals)) == NULL)
		return -1;
	if (PQntuples(r) > 0) {
		ctl_err("unknown location %s", PQgetvalue(r, 0, 0));
		rc = -1;
	}
	PQclear(r);
	return rc;
}

static int
user_set_locations(struct ctl *c, const char *id, const char *array)
{
	const char *vals[] = { id, array };

	if (ctl_run(c, "DELETE FROM user_locations WHERE user_id = $1", 1,
	    vals) == -1)
		return -1;
	return ctl_run(c, "INSERT INTO user_locations (user_id, location_id)"
	    " SELECT $1, id FROM locations WHERE slug = ANY ($2::text[])", 2,
	    vals);
}

/* The password: the first line of stdin without its line end, or a new
 * random one (random set). 0, or -1 once reported. */
static int
user_password(bool from_stdin, char **pw, bool *random)
{
	size_t cap = 0;
	ssize_t n;

	*pw = NULL;
	*random = !from_stdin;
	if (!from_stdin) {
		if ((*pw = malloc(32)) != NULL &&
		    account_random_password(*pw, 32) == 0)
			return 0;
		free(*pw);
		*pw = NULL;
		ctl_err("cannot make a password: out of memory");
		return -1;
	}
	errno = 0;
	if ((n = getline(pw, &cap, stdin)) == -1) {
		free(*pw);
		*pw = NULL;
		if (errno != 0)
			ctl_err("cannot read the password from standard "
			    "input: %s", strerror(errno));
		else
			ctl_err("no password on standard input");
		return -1;
	}
	if (n > 0 && (*pw)[n - 1] == '\n')
		(*pw)[--n] = '\0';
	if (n > 0 && (*pw)[n - 1] == '\r')
		(*pw)[--n] = '\0';
	if (account_password_ok(*pw))
		return 0;
	sodium_memzero(*pw, cap);
	free(*pw);
	*pw = NULL;
	ctl_err("a password has %d to %d characters of UTF-8 text, no "
	    "control characters", ACCOUNT_PASSWORD_MIN, ACCOUNT_PASSWORD_MAX);
	return -1;
}

static void
user_password_free(char *pw)
{
	if (pw != NULL) {
		sodium_memzero(pw, strlen(pw));
		free(pw);
	}
}

/* The hash of pw into out (one core at a time is plenty here). */
static int
user_hash(const char *pw, char out[ACCOUNT_HASH_MAX])
{
	if (account_init(1) == -1 || account_hash(pw, out) == -1) {
		ctl_err("cannot hash the password: out of memory");
		return -1;
	}
	return 0;
}

int
ctl_user_add(struct ctl *c, int argc, char **argv)
{
	struct user_args a;
	struct buf arr = { 0 }, detail = { 0 };
	char hash[ACCOUNT_HASH_MAX];
	const char *vals[3];
	char *pw = NULL;
	bool random;
	PGresult *r;
	int rc;

	if ((rc = user_parse(c, argc, argv, &a, true)) != CTL_OK)
		return rc;
	if (a.role == NULL)
		return ctl_usage(c, "--role is required");
	if (user_check_role(a.role, a.nlocations) != CTL_OK)
		return CTL_ERR;
	if (user_password(a.password_stdin, &pw, &random) == -1)
		return CTL_ERR;
	rc = CTL_ERR;
	if (user_hash(pw, hash) == -1 || user_slug_array(&a, &arr) == NULL)
		goto out;
	vals[0] = a.name;
	vals[1] = a.role;
	vals[2] = hash;
	if (ctl_begin(c, CTL_LOCK_USERS) == -1)
		goto out;
	if (user_locations_known(c, buf_str(&arr)) == -1)
		goto fail;
	if ((r = ctl_exec(c, "INSERT INTO users (username, role,"
	    " password_hash) VALUES ($1, $2, $3)"
	    " ON CONFLICT (username) DO NOTHING RETURNING id", 3,
	    vals)) == NULL)
		goto fail;
	if (PQntuples(r) == 0) {
		PQclear(r);
		ctl_err("user %s already exists", a.name);
		goto fail;
	}
	if (user_set_locations(c, PQgetvalue(r, 0, 0), buf_str(&arr)) == -1) {
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	audit_detail_str(&detail, "role", a.role);
	audit_detail_raw(&detail, "locations", "[");
	for (size_t i = 0; i < a.nlocations; i++) {
		if (i > 0)
			buf_adds(&detail, ", ");
		audit_detail_json(&detail, a.locations[i]);
	}
	buf_addc(&detail, ']');
	if (buf_str(&detail) == NULL ||
	    ctl_audit(c, "user_add", a.name, buf_str(&detail)) == -1 ||
	    ctl_commit(c) == -1)
		goto fail;
	/* The random password alone on its line: what a script reads. */
	if (random)
		printf("%s\n", pw);
	else
		printf("added user %s (%s)\n", a.name, a.role);
	rc = CTL_OK;
	goto out;
fail:
	ctl_rollback(c);
out:
	sodium_memzero(hash, sizeof(hash));
	user_password_free(pw);
	buf_free(&arr);
	buf_free(&detail);
	return rc;
}

int
ctl_user_set(struct ctl *c, int argc, char **argv)
{
	struct user_args a;
	struct buf arr = { 0 }, detail = { 0 };
	const char *vals[2];
	const char *role, *old_role, *old_locs, *new_locs;
	size_t nold;
	PGresult *r = NULL, *n = NULL;
	int rc;

	if ((rc = user_parse(c, argc, argv, &a, false)) != CTL_OK)
		return rc;
	if (a.role == NULL && !a.locations_given)
		return ctl_usage(c, "nothing to change: give --role or "
		    "--location");
	rc = CTL_ERR;
	vals[0] = a.name;
	if (user_slug_array(&a, &arr) == NULL ||
	    ctl_begin(c, CTL_LOCK_USERS) == -1)
		goto out;
	if ((r = ctl_exec(c, "SELECT u.id, u.role, " USER_LOCATIONS_JSON
	    " AS locations, (SELECT count(*) FROM user_locations ul"
	    "  WHERE ul.user_id = u.id) FROM users u WHERE u.username = $1"
	    " FOR UPDATE", 1, vals)) == NULL)
		goto fail;
	if (PQntuples(r) == 0) {
		ctl_err("unknown user %s", a.name);
		goto fail;
	}
	old_role = PQgetvalue(r, 0, 1);
	old_locs = PQgetvalue(r, 0, 2);
	nold = (size_t)strtoul(PQgetvalue(r, 0, 3), NULL, 10);
	role = a.role != NULL ? a.role : old_role;
	/* An account made admin without --location drops its locations (an
	 * admin has none); made staff, it needs them given. */
	if (!a.locations_given && strcmp(role, "admin") == 0)
		nold = 0;
	if (user_check_role(role, a.locations_given ? a.nlocations : nold) !=
	    CTL_OK)
		goto fail;
	if (a.locations_given && user_locations_known(c, buf_str(&arr)) == -1)
		goto fail;
	vals[0] = PQgetvalue(r, 0, 0);
	vals[1] = role;
	if (ctl_run(c, "UPDATE users SET role = $2 WHERE id = $1", 2,
	    vals) == -1)
		goto fail;
	if (a.locations_given) {
		if (user_set_locations(c, vals[0], buf_str(&arr)) == -1)
			goto fail;
	} else if (strcmp(role, "admin") == 0 && ctl_run(c,
	    "DELETE FROM user_locations WHERE user_id = $1", 1, vals) == -1)
		goto fail;
	if ((n = ctl_exec(c, "SELECT " USER_LOCATIONS_JSON " FROM users u"
	    " WHERE u.id = $1", 1, vals)) == NULL)
		goto fail;
	new_locs = PQgetvalue(n, 0, 0);
	if (strcmp(role, old_role) != 0)
		audit_detail_change(&detail, "role", old_role, role);
	if (strcmp(old_locs, new_locs) != 0)
		audit_detail_raw(&detail, "locations", "%s -> %s", old_locs,
		    new_locs);
	if (buf_str(&detail) == NULL)
		goto fail;
	if (detail.len == 0) {
		ctl_rollback(c);
		printf("user %s unchanged\n", a.name);
		rc = CTL_OK;
		goto out;
	}
	if (ctl_audit(c, "user_change", a.name, buf_str(&detail)) == -1 ||
	    ctl_commit(c) == -1)
		goto fail;
	printf("user %s: %s\n", a.name, buf_str(&detail));
	rc = CTL_OK;
	goto out;
fail:
	ctl_rollback(c);
out:
	PQclear(r);
	PQclear(n);
	buf_free(&arr);
	buf_free(&detail);
	return rc;
}

/* NAME as the only operand, no option (passwd: --password-stdin). */
static int
user_name_only(struct ctl *c, int argc, char **argv, bool *password_stdin)
{
	static const struct option pw_opts[] = {
		{ "password-stdin", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = ctl_getopt(c, argc, argv,
	    password_stdin != NULL ? pw_opts : NULL)) != -1) {
		if (ch != 'p' || password_stdin == NULL)
			return CTL_USAGE;
		*password_stdin = true;
	}
	if (ctl_operands(c, argc, 1, 1) == -1)
		return CTL_USAGE;
	if (user_check_name(argv[optind]) == -1)
		return CTL_ERR;
	return CTL_OK;
}

/* Ends every session of the user: the count, or -1 once reported. */
static long
user_end_sessions(struct ctl *c, const char *id)
{
	const char *vals[] = { id };
	PGresult *r;
	long n;

	if ((r = ctl_exec(c, "DELETE FROM sessions WHERE user_id = $1", 1,
	    vals)) == NULL)
		return -1;
	n = strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return n;
}

int
ctl_user_passwd(struct ctl *c, int argc, char **argv)
{
	char hash[ACCOUNT_HASH_MAX];
	const char *vals[2];
	bool from_stdin = false, random;
	struct buf detail = { 0 };
	char *pw = NULL;
	PGresult *r = NULL;
	long ended;
	int rc;

	if ((rc = user_name_only(c, argc, argv, &from_stdin)) != CTL_OK)
		return rc;
	vals[0] = argv[optind];
	if (user_password(from_stdin, &pw, &random) == -1)
		return CTL_ERR;
	rc = CTL_ERR;
	if (user_hash(pw, hash) == -1)
		goto out;
	vals[1] = hash;
	if (ctl_begin(c, NULL) == -1)
		goto out;
	if ((r = ctl_exec(c, "UPDATE users SET password_hash = $2"
	    " WHERE username = $1 RETURNING id", 2, vals)) == NULL)
		goto fail;
	if (PQntuples(r) == 0) {
		ctl_err("unknown user %s", vals[0]);
		goto fail;
	}
	/* A new password ends every session (Sessions and forgery). */
	if ((ended = user_end_sessions(c, PQgetvalue(r, 0, 0))) == -1)
		goto fail;
	audit_detail_raw(&detail, "sessions_ended", "%ld", ended);
	if (buf_str(&detail) == NULL ||
	    ctl_audit(c, "user_passwd", vals[0], buf_str(&detail)) == -1 ||
	    ctl_commit(c) == -1)
		goto fail;
	if (random)
		printf("%s\n", pw);
	else
		printf("password of %s changed; %ld session(s) ended\n",
		    vals[0], ended);
	rc = CTL_OK;
	goto out;
fail:
	ctl_rollback(c);
out:
	PQclear(r);
	sodium_memzero(hash, sizeof(hash));
	user_password_free(pw);
	buf_free(&detail);
	return rc;
}

/* disable: enabled off and every session ended. enable: on, and a
 * lockout lifted (the counter and its end) with it. */
static int
user_enable(struct ctl *c, int argc, char **argv, bool on)
{
	const char *vals[2] = { NULL, on ? "t" : "f" };
	struct buf detail = { 0 };
	PGresult *r = NULL;
	long ended = 0;
	bool was, locked;
	int rc;

	if ((rc = user_name_only(c, argc, argv, NULL)) != CTL_OK)
		return rc;
	vals[0] = argv[optind];
	rc = CTL_ERR;
	if (ctl_begin(c, NULL) == -1)
		return CTL_ERR;
	if ((r = ctl_exec(c, "SELECT id, enabled, failed_sign_ins,"
	    " to_json(locked_until) #>> '{}',"
	    " failed_sign_ins > 0 OR locked_until IS NOT NULL"
	    " FROM users WHERE username = $1 FOR UPDATE", 1, vals)) == NULL)
		goto fail;
	if (PQntuples(r) == 0) {
		ctl_err("unknown user %s", vals[0]);
		goto fail;
	}
	was = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
	locked = strcmp(PQgetvalue(r, 0, 4), "t") == 0;
	vals[0] = PQgetvalue(r, 0, 0);
	if (on && ctl_run(c, "UPDATE users SET enabled = true,"
	    " failed_sign_ins = 0, locked_until = NULL WHERE id = $1", 1,
	    vals) == -1)
		goto fail;
	if (!on && ctl_run(c, "UPDATE users SET enabled = false"
	    " WHERE id = $1", 1, vals) == -1)
		goto fail;
	if (!on && (ended = user_end_sessions(c, vals[0])) == -1)
		goto fail;
	if (was != on)
		audit_detail_raw(&detail, "enabled", "%s -> %s",
		    was ? "true" : "false", on ? "true" : "false");
	if (on && locked) {
		audit_detail_raw(&detail, "failed_sign_ins", "%s -> 0",
		    PQgetvalue(r, 0, 2));
		audit_detail_change(&detail, "locked_until",
		    PQgetisnull(r, 0, 3) ? NULL : PQgetvalue(r, 0, 3), NULL);
	}
	if (ended > 0)
		audit_detail_raw(&detail, "sessions_ended", "%ld", ended);
	if (buf_str(&detail) == NULL)
		goto fail;
	if (detail.len > 0 && ctl_audit(c, "user_change", argv[optind],
	    buf_str(&detail)) == -1)
		goto fail;
	if (ctl_commit(c) == -1)
		goto out;
	if (detail.len == 0)
		printf("user %s was already %s\n", argv[optind],
		    on ? "enabled" : "disabled");
	else
		printf("user %s: %s\n", argv[optind], buf_str(&detail));
	rc = CTL_OK;
	goto out;
fail:
	ctl_rollback(c);
out:
	PQclear(r);
	buf_free(&detail);
	return rc;
}

int
ctl_user_disable(struct ctl *c, int argc, char **argv)
{
	return user_enable(c, argc, argv, false);
}

int
ctl_user_enable(struct ctl *c, int argc, char **argv)
{
	return user_enable(c, argc, argv, true);
}

int
ctl_user_reset_2fa(struct ctl *c, int argc, char **argv)
{
	const char *vals[1];
	struct buf detail = { 0 };
	PGresult *r = NULL;
	long ended;
	int rc;

	if ((rc = user_name_only(c, argc, argv, NULL)) != CTL_OK)
		return rc;
	vals[0] = argv[optind];
	rc = CTL_ERR;
	if (ctl_begin(c, NULL) == -1)
		return CTL_ERR;
	/* The old state from the row before the update; never the secret
	 * itself, only whether there was one. */
	if ((r = ctl_exec(c, "WITH old AS (SELECT id, totp_secret IS NOT NULL"
	    "  AS enrolled, totp_pending IS NOT NULL AS pending FROM users"
	    "  WHERE username = $1 FOR UPDATE)"
	    " UPDATE users u SET totp_secret = NULL, totp_pending = NULL,"
	    "  totp_last_step = 0 FROM old WHERE u.id = old.id"
	    " RETURNING u.id, old.enrolled, old.pending", 1, vals)) == NULL)
		goto fail;
	if (PQntuples(r) == 0) {
		ctl_err("unknown user %s", vals[0]);
		goto fail;
	}
	if ((ended = user_end_sessions(c, PQgetvalue(r, 0, 0))) == -1)
		goto fail;
	audit_detail_raw(&detail, "second_factor", "%s -> \"off\"",
	    strcmp(PQgetvalue(r, 0, 1), "t") == 0 ? "\"on\"" :
	    strcmp(PQgetvalue(r, 0, 2), "t") == 0 ? "\"pending\"" : "\"off\"");
	audit_detail_raw(&detail, "sessions_ended", "%ld", ended);
	if (buf_str(&detail) == NULL ||
	    ctl_audit(c, "user_reset_2fa", vals[0], buf_str(&detail)) == -1 ||
	    ctl_commit(c) == -1)
		goto fail;
	printf("second factor of %s reset: it enrols again at its next "
	    "sign-in; %ld session(s) ended\n", vals[0], ended);
	rc = CTL_OK;
	goto out;
fail:
	ctl_rollback(c);
out:
	PQclear(r);
	buf_free(&detail);
	return rc;
}

/* second_factor: on when enrolled; else enrol when the console's
 * [console] second_factor (in this file, if it has the section; else
 * its default) asks it of the role under local auth; else off. $1:
 * 'off', 'admins' or 'all'. */
#define USER_SECOND_FACTOR \
    "CASE WHEN u.totp_secret IS NOT NULL THEN 'on'" \
    " WHEN $1 = 'all' OR ($1 = 'admins' AND u.role = 'admin')" \
    " THEN 'enrol' ELSE 'off' END"

static const char user_list_json_sql[] =
    "SELECT coalesce(json_agg(json_build_object("
    " 'username', u.username, 'role', u.role,"
    " 'locations', " USER_LOCATIONS_JSON "::json,"
    " 'enabled', u.enabled, 'second_factor', " USER_SECOND_FACTOR ","
    " 'last_sign_in', to_json(u.last_sign_in)) ORDER BY u.id), '[]')::text"
    " FROM users u";

static const char user_list_text_sql[] =
    "SELECT u.username, u.role,"
    " CASE WHEN u.role = 'admin' THEN '(all)' ELSE"
    "  (SELECT string_agg(l.slug, ',' ORDER BY l.id) FROM user_locations ul"
    "   JOIN locations l ON l.id = ul.location_id WHERE ul.user_id = u.id)"
    " END AS locations,"
    " u.enabled, " USER_SECOND_FACTOR " AS second_factor,"
    " CASE WHEN u.locked_until > now() THEN"
    "  to_char(u.locked_until, 'YYYY-MM-DD HH24:MI') END AS locked_until,"
    " to_char(u.last_sign_in, 'YYYY-MM-DD HH24:MI') AS last_sign_in"
    " FROM users u ORDER BY u.id";

int
ctl_user_list(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_column cols[] = {
		{ "username", "USER" }, { "role", "ROLE" },
		{ "locations", "LOCATIONS" }, { "enabled", "ENABLED" },
		{ "second_factor", "2FA" }, { "locked_until", "LOCKED UNTIL" },
		{ "last_sign_in", "LAST SIGN-IN" },
	};
	const struct config *cfg;
	const char *vals[1];
	bool json = false;
	PGresult *r;
	int rc = CTL_OK;

	if (ctl_json_args(c, argc, argv, 0, 0, &json) == -1)
		return CTL_USAGE;
	cfg = ctl_config(c);
	if (cfg->console_auth == CONFIG_AUTH_REMOTE_USER ||
	    cfg->console_second_factor == CONFIG_2FA_OFF)
		vals[0] = "off";
	else if (cfg->console_second_factor == CONFIG_2FA_ALL)
		vals[0] = "all";
	else
		vals[0] = "admins";
	if ((r = ctl_exec(c, json ? user_list_json_sql : user_list_text_sql, 1,
	    vals)) == NULL)
		return CTL_ERR;
	if (json) {
		/* The database built the document; printed as every other
		 * --json is, indented, keys in their order. */
		json_t *doc = json_loads(PQgetvalue(r, 0, 0), 0, NULL);

		if (doc == NULL || json_dumpf(doc, stdout,
		    JSON_INDENT(2) | JSON_PRESERVE_ORDER) == -1)
			rc = ctl_err("cannot write JSON: out of memory");
		else
			putchar('\n');
		json_decref(doc);
	} else if (PQntuples(r) == 0)
		printf("no users yet: add one with `%s user add`\n", CTL_PROG);
	else
		ctl_out_table(r, cols, sizeof(cols) / sizeof(cols[0]));
	PQclear(r);
	return rc;
}

/* `console-key FILE`: the key [console] key_file names, which seals the
 * second-factor secrets (account/seal.h). Never over an existing file:
 * a new key would leave every sealed secret unreadable. */
int
ctl_console_key(struct ctl *c, int argc, char **argv)
{
	char err[512];

	if (ctl_getopt(c, argc, argv, NULL) != -1)
		return CTL_USAGE;
	if (ctl_operands(c, argc, 1, 1) == -1)
		return CTL_USAGE;
	if (seal_new_key_file(argv[optind], err, sizeof(err)) == -1)
		return ctl_err("cannot make the key: %s", err);
	printf("wrote a new key to %s (mode 0600): name it in [console] "
	    "key_file, readable only by the console's user\n", argv[optind]);
	return CTL_OK;
}
