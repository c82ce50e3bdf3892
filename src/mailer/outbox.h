/* outbox: the mailer's side of the queue: claim, route, record. */
#ifndef FRONTDESK_OUTBOX_H
#define FRONTDESK_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"
#include "common/route.h"
#include "mail.h"

/* libpq's types, without its header (the unit tests build without it). */
struct pg_conn;
struct pg_result;

#define OUTBOX_REPLY_MAX 200

enum outbox_outcome { OUTBOX_SENT, OUTBOX_RETRY, OUTBOX_DEAD };

/* Who gets a message is common/route.c's rule (route_resolve, struct
 * route_rcpts), shared with the console's preview. */

/* One claimed message; the strings live in `res`. */
struct outbox_msg {
	long long id;
	int attempts;             /* finished before this one */
	long age;                 /* seconds since the outbox row was made */
	char location_id[16];
	struct mail_msg mail;     /* request fields and Message-ID filled in */
	struct pg_result *res;
	long long lease_end_ms;   /* CLOCK_MONOTONIC: our claim's lease ends */
};

/* What happened to one attempt, as recorded. */
struct outbox_result {
	enum outbox_outcome outcome;
	long smtp_code;           /* 0: no reply (no connection, TLS, ...) */
	const char *reply;        /* short, one line; NULL when sent */
	long delay;               /* OUTBOX_RETRY: seconds until the next try */
};

struct outbox {
	struct pg_conn *conn;
	const struct config *cfg;
	char claimer[128];        /* host:pid:nonce, in claimed_by */
	long lease;               /* seconds */
};

/* Pure: the schedule and the verdicts (outbox_policy.c). */
/* Seconds before the retry after failed attempt number `attempt` (1 for
 * the first): min(retry_min * 2^(attempt-1), retry_max), no overflow. */
long outbox_backoff(long attempt, long retry_min, long retry_max);
/* How far smtp_send may run past [smtp] timeout, QUIT included
 * (SMTP_OVERRUN_MS in smtp.h, checked against this where both are in
 * view). */
#define OUTBOX_SMTP_OVERRUN_MS 1000
/* Each statement's bound (statement_timeout): a quarter of the SMTP
 * timeout, at least a second. */
long outbox_statement_ms(long timeout);
/* A claim's lease: it outlives one message's work, from the claim to its
 * record (three statements, and one SMTP transaction with its QUIT), so
 * that no other mailer takes the message while it may still be sent, and
 * it still lets a dead mailer's message be retried within that work's
 * time (at least 2 x timeout) + retry_max. */
long outbox_lease(long timeout, long retry_max);
/* sent; or a 5xx within the mail transaction (MAIL, RCPT, DATA): dead;
 * anything else (4xx, no connection, TLS, AUTH, a 530 "authentication
 * required") is transient: retry, or dead once the message is older than
 * give_up_after. */
enum outbox_outcome outbox_verdict(bool delivered, long smtp_code,
    bool in_transaction, long age, long give_up_after);

/* The database (outbox.c). All return -1 after one logged error. */
int outbox_open(struct outbox *o, const struct config *cfg);
void outbox_close(struct outbox *o);
/* Claims the next due message (pending and due, or sending with an
 * expired lease): 1 claimed, 0 nothing due, -1 database trouble. */
int outbox_claim(struct outbox *o, struct outbox_msg *m);
/* The message's recipients from its location's routes, as its claim
 * read them (pointing into m, valid while it is). */
void outbox_recipients(struct outbox *o, const struct outbox_msg *m,
    struct route_rcpts *r);
/* Records the attempt and moves the row on. 0 (also when the lease was
 * lost meanwhile, which it logs), -1 database trouble. */
int outbox_record(struct outbox *o, const struct outbox_msg *m,
    const struct outbox_result *res);
/* outbox_record, and the next due message claimed (as outbox_claim), in
 * one round trip and one transaction: 1 claimed, 0 recorded and nothing
 * due, -1 database trouble (nothing recorded nor claimed). */
int outbox_record_claim(struct outbox *o, const struct outbox_msg *m,
    const struct outbox_result *res, struct outbox_msg *next);
/* A claimed message that will not be sent now (the mailer stops): due
 * again at once, for any mailer (else its lease runs out first). */
void outbox_release(struct outbox *o, const struct outbox_msg *m);
/* Runs one of the connection's prepared statements (alert.c's too): its
 * rows, or NULL after one logged error (a broken connection is closed,
 * for the caller to open again). */
struct pg_result *outbox_query(struct outbox *o, const char *name, int n,
    const char *const *vals);
void outbox_msg_free(struct outbox_msg *m);
void outbox_result_free(struct pg_result *res);

#endif
