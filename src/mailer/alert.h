/* alert: [mail] alert_to hears when messages go dead (CONTRACT, Email),
 * in digests at most every alert_interval; and the mailer's heartbeat. */
#ifndef FRONTDESK_ALERT_H
#define FRONTDESK_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/buf.h"
#include "common/config.h"
#include "mail.h"
#include "outbox.h"
#include "smtp.h"

#define ALERT_LIST_MAX 50       /* deaths a digest lists one by one */
#define ALERT_COVER_MAX 10000   /* deaths a digest counts (and marks) */
#define ALERT_CHECK_MS 5000     /* how often a mailer asks whether one is due */
#define HEARTBEAT_MS 5000       /* how often it writes its heartbeat */

/* One death as the digest shows it; strings from the database. */
struct alert_death {
	const char *reference;
	const char *location;     /* the location's name */
	const char *reply;        /* the last SMTP reply, or why none */
	const char *status;       /* the message now: "dead", or retried since */
	time_t died;
	int attempts;
};

/* One digest. deaths[0..n) are listed; total (>= n) are counted. */
struct alert_msg {
	const char *from;             /* [smtp] from */
	const char *message_id;       /* alert_message_id() */
	time_t date;
	const char *console_url;      /* [mail] console_url, checked; or "" */
	const char *zone;             /* shown beside times, as mail_time */
	long interval;                /* [mail] alert_interval */
	const char *const *to;        /* [mail] alert_to, bare addresses */
	size_t nto;
	const struct alert_death *deaths;
	size_t n, total;
};

/* Pure (alert_mail.c). Appends the digest: CRLF lines of at most 78
 * bytes, quoted-printable text/plain, Subject "frontdesk: N messages could
 * not be delivered". Anything but MAIL_OK comes with a static *why. */
enum mail_result alert_compose(struct buf *out, const struct alert_msg *a,
    const char **why);
/* "<frontdesk-alert.T.NONCE@domain of from>"; 0, or -1 when from holds no
 * address. */
int alert_message_id(char *out, size_t size, const char *from, time_t t,
    uint64_t nonce);

/* The mailer's side (alert.c; alert_init, alert_soon and alert_free are
 * pure, in alert_mail.c). */
struct alert {
	const struct config *cfg;
	struct route_rcpts rc;    /* [mail] alert_to */
	bool enabled;             /* alert_to holds an address */
	long next_beat_ms, next_check_ms;   /* CLOCK_MONOTONIC */
	struct buf msg;
	unsigned long sent, failed;
};

/* Reads [mail] alert_to: 0, or -1 when it holds anything but plain
 * addresses (the mailer refuses to start). */
int alert_init(struct alert *a, const struct config *cfg);
/* A death was just recorded here: ask at the next tick, not in 5 s. */
void alert_soon(struct alert *a);
/* From the poll loop: the heartbeat when HEARTBEAT_MS have passed, and
 * the digest when one is due (claimed so that one mailer sends it), sent
 * over s; the deaths it names are marked only once the server took it.
 * force: both now (--once, before exiting). */
void alert_tick(struct alert *a, struct outbox *ob, struct smtp *s,
    const char *zone, bool force);
void alert_free(struct alert *a);
/* Prepares alert.c's statements on a new connection (outbox_open). */
int alert_prepare(struct pg_conn *conn);

#endif
