/* ctl: frontdeskctl's commands and the helpers they share. */
#ifndef FRONTDESK_CTL_H
#define FRONTDESK_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include <getopt.h>
#include <libpq-fe.h>

#include "common/buf.h"
#include "common/cli.h"
#include "common/config.h"
#include "common/reference.h"
#include "ctl_pure.h"
#include "account/audit.h"

#define CTL_PROG "frontdeskctl"

/* Exit codes, as docs/interface.md (frontdeskctl) fixes them. */
enum { CTL_OK = 0, CTL_ERR = 1, CTL_USAGE = 2 };

/* Advisory lock keys (pg_advisory_xact_lock): one per kind of change that
 * must not interleave with another frontdeskctl doing the same. */
#define CTL_LOCK_MIGRATE   "7046522100"   /* db migrate */
#define CTL_LOCK_LOCATIONS "7046522101"   /* enable/disable */
#define CTL_LOCK_OUTBOX    "7046522102"   /* resend, unspam, retry, purge */
#define CTL_LOCK_USERS     "7046522103"   /* user add, user set */

struct ctl;

struct ctl_cmd {
	const char *noun;
	const char *verb;
	int (*run)(struct ctl *, int argc, char **argv);
	const char *synopsis;   /* "location add SLUG --name NAME ..." */
	const char *help;       /* what it does, its options */
};

struct ctl {
	struct cli opts;
	const struct ctl_cmd *cmd;
	struct config cfg;
	bool cfg_loaded;
	PGconn *conn;
};

/* Output formats a command can be asked for. */
enum ctl_format { CTL_TEXT, CTL_JSON, CTL_CSV };

/* ctl_common.c: messages, options, the connection, statements. */
int ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ctl_usage(struct ctl *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* getopt_long over a command's long options; prints its help and exits 0
 * on --help. Returns the option's value, -1 at the end, or '?' after
 * reporting an unknown option or a missing value (the caller returns
 * CTL_USAGE). Operands are left from optind on. */
int ctl_getopt(struct ctl *, int argc, char **argv,
    const struct option *longopts);
/* Checks that min to max operands follow the options; reports and
 * returns -1 otherwise. */
int ctl_operands(struct ctl *, int argc, int min, int max);
/* For a command whose only option is --json: parses it into *json and
 * checks min to max operands; -1 on a usage error (reported). */
int ctl_json_args(struct ctl *, int argc, char **argv, int min, int max,
    bool *json);
const struct config *ctl_config(struct ctl *);
PGconn *ctl_conn(struct ctl *);
void ctl_close(struct ctl *);
/* PQexecParams with text parameters; a result that holds rows or a
 * completed command, or NULL once the error has been reported. */
PGresult *ctl_exec(struct ctl *, const char *sql, int n,
    const char *const *vals);
/* A statement whose result is not needed (BEGIN, COMMIT, ...): 0 or -1. */
int ctl_run(struct ctl *, const char *sql, int n, const char *const *vals);
/* BEGIN and take an advisory transaction lock: 0 or -1. */
int ctl_begin(struct ctl *, const char *lock);
int ctl_commit(struct ctl *);
void ctl_rollback(struct ctl *);
/* Reports a database error in one line; returns CTL_ERR. */
int ctl_db_error(const char *what, const PGresult *r, PGconn *conn);
/* Copies s with its line breaks and tabs folded into single spaces and
 * trimmed: one line, for stderr. */
const char *ctl_oneline(char *buf, size_t size, const char *s);

/* ctl_out.c: printing a result as an aligned table, JSON or CSV. */
struct ctl_column {
	const char *field;   /* result column */
	const char *title;   /* header in text output */
};
void ctl_out_table(const PGresult *r, const struct ctl_column *cols,
    size_t ncols);
/* Appends s as text output shows it: a control character, a tab or a
 * line break as \xNN (\uNNNN past ASCII) and a byte that is not UTF-8 as
 * \xNN, so that no value, however it was stored, can start a line of its
 * own or move the cursor; with newlines, "\n" and tabs stay (a message). */
void ctl_out_escape(struct buf *b, const char *s, bool newlines);
/* Every column of the result, keyed by its name: booleans, integers and
 * NULLs become their JSON kinds. `one`: the first row as an object,
 * else an array. Returns CTL_OK or CTL_ERR. */
int ctl_out_json(const PGresult *r, bool one);
int ctl_location_print(const PGresult *r, bool json,
    const struct ctl_column *cols, size_t ncols);
int ctl_out_csv(const PGresult *r);
const char *ctl_value(const PGresult *r, int row, const char *field);

/* ctl_location.c: checks other commands share. 0, or -1 once reported. */
int ctl_location_check_slug(const char *slug);
int ctl_location_known(struct ctl *, const char *slug);

/* ctl_request.c: a reference as staff may type it (any case, O for 0, I
 * and L for 1) into its canonical form; 0, or -1 once reported. */
int ctl_request_ref(const char *in, char out[REFERENCE_LEN + 1]);

/* ctl_audit.c: frontdeskctl's rows of the audit log (Audit in
 * docs/interface.md). Each change writes its row on c's connection inside
 * its own transaction, before COMMIT; an export writes its row before it
 * prints anything. The actor is frontdeskctl:OSUSER. */
const char *ctl_actor(void);
/* 0, or -1 once reported (the caller rolls back). Never a password or a
 * second-factor secret in detail, nor a patient's data. */
int ctl_audit(struct ctl *, const char *action, const char *object,
    const char *detail);
/* Details are written with account/audit.h's audit_detail_*. */

/* The commands, one file per noun. */
int ctl_db_migrate(struct ctl *, int, char **);
int ctl_location_add(struct ctl *, int, char **);
int ctl_location_list(struct ctl *, int, char **);
int ctl_location_enable(struct ctl *, int, char **);
int ctl_location_disable(struct ctl *, int, char **);
int ctl_route_add(struct ctl *, int, char **);
int ctl_route_remove(struct ctl *, int, char **);
int ctl_route_list(struct ctl *, int, char **);
int ctl_request_list(struct ctl *, int, char **);
int ctl_request_show(struct ctl *, int, char **);
int ctl_request_resend(struct ctl *, int, char **);
int ctl_request_unspam(struct ctl *, int, char **);
int ctl_outbox_list(struct ctl *, int, char **);
int ctl_outbox_retry(struct ctl *, int, char **);
int ctl_purge(struct ctl *, int, char **);
int ctl_user_add(struct ctl *, int, char **);
int ctl_user_set(struct ctl *, int, char **);
int ctl_user_passwd(struct ctl *, int, char **);
int ctl_user_disable(struct ctl *, int, char **);
int ctl_user_enable(struct ctl *, int, char **);
int ctl_user_reset_2fa(struct ctl *, int, char **);
int ctl_user_list(struct ctl *, int, char **);
int ctl_audit_list(struct ctl *, int, char **);
int ctl_console_key(struct ctl *, int, char **);

#endif
