/* audit: one row of the append-only audit log (table audit_log), written
 * on the connection of the change it records, inside its transaction. */
#ifndef FRONTDESK_AUDIT_H
#define FRONTDESK_AUDIT_H

#include <stddef.h>

#include <libpq-fe.h>

#include "common/buf.h"

/* actor: an account name, "frontdeskctl:OSUSER", or "(unknown)" for a
 * failed sign-in under a name that does not exist (never what was typed);
 * address: the client's, or NULL; action: one of the CHECK list in
 * sql/007_console.sql; object: a reference, a slug, an account or an
 * outbox id, or NULL; detail: old and new values of a configuration
 * change, never a patient's data or a note's text, or NULL. 0, or -1 with
 * the database's error logged. */
int audit_write(PGconn *conn, const char *actor, const char *address,
    const char *action, const char *object, const char *detail);
/* The same without logging: the database's error ("SQLSTATE message",
 * never its DETAIL) into err, for a caller that reports errors its own
 * way (frontdeskctl: one line on stderr). 0 or -1. */
int audit_insert(PGconn *conn, const char *actor, const char *address,
    const char *action, const char *object, const char *detail,
    char *err, size_t errsize);

/* A detail is `key: value` pairs joined by "; ", each value a JSON string
 * (or null), a change as `key: old -> new`: never ambiguous, whatever
 * quotes, semicolons or arrows a value holds. */
void audit_detail_json(struct buf *b, const char *s);
void audit_detail_str(struct buf *b, const char *key, const char *v);
void audit_detail_change(struct buf *b, const char *key, const char *old,
    const char *new);
/* A value as it is (a number, true or false). */
void audit_detail_raw(struct buf *b, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
