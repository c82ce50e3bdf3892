/* alert: [mail] alert_to hears when messages go dead, and the mailer's
 * heartbeat. The deaths themselves are recorded by a trigger on outbox
 * (sql/008_alerts.sql), whichever path made a message dead. */
#include <sys/random.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "alert.h"
#include "common/log.h"
#include "db/db.h"

static const struct db_statement statements[] = {
	/* This process is alive; rows of processes gone a day are cleared
	 * (a live mailer writes every few seconds). */
	{ "heartbeat",
	    "WITH gone AS (DELETE FROM mailer_heartbeats"
	    "  WHERE at < now() - interval '1 day' AND claimed_by <> $1)"
	    " INSERT INTO mailer_heartbeats AS h (claimed_by) VALUES ($1)"
	    " ON CONFLICT (claimed_by) DO UPDATE SET at = now()"
	    " RETURNING 1", 1 },
	/* The digest is due when deaths wait and the last attempt, sent or
	 * failed, is alert_interval old. SKIP LOCKED and the lease keep it
	 * to one mailer; last_attempt_at moves now, so a failed alert waits
	 * for the next digest. */
	{ "alert_claim",
	    "WITH c AS ("
	    "  SELECT id FROM mail_alert_state"
	    "  WHERE (last_attempt_at IS NULL OR last_attempt_at <="
	    "    now() - make_interval(secs => $2::integer))"
	    "   AND (lease_until IS NULL OR lease_until < now())"
	    "   AND EXISTS (SELECT 1 FROM mail_deaths WHERE alerted_at IS NULL)"
	    "  FOR UPDATE SKIP LOCKED"
	    ")"
	    " UPDATE mail_alert_state s SET claimed_by = $1,"
	    "  last_attempt_at = now(),"
	    "  lease_until = now() + make_interval(secs => $3::integer)"
	    " FROM c WHERE s.id = c.id RETURNING 1", 3 },
	/* The deaths not yet alerted: the ids of up to $2 (what the digest
	 * counts and marks), the first $1 of them with what the digest
	 * shows. Never a patient's field. */
	{ "alert_deaths",
	    "WITH u AS (SELECT id FROM mail_deaths WHERE alerted_at IS NULL"
	    "  ORDER BY id LIMIT $2::integer)"
	    " SELECT (SELECT array_agg(id ORDER BY id) FROM u)::text,"
	    "  (SELECT count(*) FROM u), r.reference, l.name,"
	    "  floor(extract(epoch FROM d.died_at))::bigint, d.attempts,"
	    "  d.reply, o.status"
	    " FROM (SELECT id FROM u ORDER BY id LIMIT $1::integer) f"
	    " JOIN mail_deaths d ON d.id = f.id"
	    " JOIN outbox o ON o.id = d.outbox_id"
	    " JOIN appointment_requests r ON r.id = o.request_id"
	    " JOIN locations l ON l.id = r.location_id"
	    " ORDER BY d.id", 2 },
	/* The server took the digest: its deaths are alerted. */
	{ "alert_sent",
	    "WITH m AS (UPDATE mail_deaths SET alerted_at = now()"
	    "  WHERE id = ANY ($2::bigint[]) AND alerted_at IS NULL RETURNING id),"
	    " s AS (UPDATE mail_alert_state SET last_sent_at = now(),"
	    "  claimed_by = NULL, lease_until = NULL WHERE claimed_by = $1"
	    "  RETURNING id)"
	    " SELECT (SELECT count(*) FROM m), (SELECT count(*) FROM s)", 2 },
	/* It failed (or held nothing): the lease goes, the clock stays. */
	{ "alert_release",
	    "UPDATE mail_alert_state SET claimed_by = NULL, lease_until = NULL"
	    " WHERE claimed_by = $1 RETURNING 1", 1 },
};

enum death_col { D_IDS, D_TOTAL, D_REFERENCE, D_LOCATION, D_DIED,
    D_ATTEMPTS, D_REPLY, D_STATUS };

int
alert_prepare(struct pg_conn *conn)
{
	return db_prepare(conn, statements, sizeof(statements) /
	    sizeof(statements[0]));
}

static long
alert_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
alert_heartbeat(struct outbox *ob)
{
	const char *vals[] = { ob->claimer };
	struct pg_result *r = outbox_query(ob, "heartbeat", 1, vals);

	outbox_result_free(r);
}

static void
alert_release(struct outbox *ob)
{
	const char *vals[] = { ob->claimer };

	outbox_result_free(outbox_query(ob, "alert_release", 1, vals));
}

/* Claims the digest: true when this mailer is to send it now. */
static bool
alert_claim(struct alert *a, struct outbox *ob)
{
	char interval[24], lease[24];
	const char *vals[] = { ob->claimer, interval, lease };
	PGresult *r;
	bool claimed;

	snprintf(interval, sizeof(interval), "%ld", a->cfg->mail_alert_interval);
	/* One SMTP transaction and two short statements, as a message's. */
	snprintf(lease, sizeof(lease), "%ld", 2 * a->cfg->smtp_timeout + 60);
	if ((r = outbox_query(ob, "alert_claim", 3, vals)) == NULL)
		return false;
	claimed = PQntuples(r) == 1;
	PQclear(r);
	return claimed;
}

static uint64_t
alert_nonce(void)
{
	uint64_t n;

	if (getrandom(&n, sizeof(n), GRND_NONBLOCK) != (ssize_t)sizeof(n))
		n = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
		    (uint64_t)alert_now_ms();
	return n;
}

/* Composes and sends the digest of r's deaths; true when the server took
 * it. */
static bool
alert_send(struct alert *a, struct smtp *s, PGresult *r, const char *zone,
    size_t total)
{
	struct alert_death d[ALERT_LIST_MAX];
	struct alert_msg m = { 0 };
	struct smtp_result res;
	char msgid[300], q[2 * SMTP_REPLY_MAX + 240];
	const char *why;
	int n = PQntuples(r);

	if (n > ALERT_LIST_MAX)
		n = ALERT_LIST_MAX;
	for (int i = 0; i < n; i++) {
		d[i].reference = PQgetvalue(r, i, D_REFERENCE);
		d[i].location = PQgetvalue(r, i, D_LOCATION);
		d[i].died = (time_t)strtoll(PQgetvalue(r, i, D_DIED), NULL, 10);
		d[i].attempts = atoi(PQgetvalue(r, i, D_ATTEMPTS));
		d[i].reply = PQgetisnull(r, i, D_REPLY) ? NULL :
		    PQgetvalue(r, i, D_REPLY);
		d[i].status = PQgetvalue(r, i, D_STATUS);
	}
	m.date = time(NULL);
	if (alert_message_id(msgid, sizeof(msgid), a->cfg->smtp_from, m.date,
	    alert_nonce()) == -1) {
		log_error("alert_failed", "deaths=%zu error=\"bad [smtp] from\"",
		    total);
		return false;
	}
	m.from = a->cfg->smtp_from;
	m.message_id = msgid;
	m.console_url = a->cfg->mail_console_url;
	m.zone = zone;
	m.interval = a->cfg->mail_alert_interval;
	m.to = a->rc.to;
	m.nto = a->rc.nto;
	m.deaths = d;
	m.n = (size_t)n;
	m.total = total;
	buf_reset(&a->msg);
	if (alert_compose(&a->msg, &m, &why) != MAIL_OK) {
		log_error("alert_failed", "deaths=%zu error=%s", total,
		    log_quote(q, sizeof(q), why));
		return false;
	}
	smtp_send(s, a->rc.all, a->rc.nall, a->msg.p, a->msg.len, &res);
	if (!res.delivered) {
		log_error("alert_failed", "deaths=%zu smtp_code=%ld reply=%s "
		    "hint=\"tried again with the next digest\"", total, res.code,
		    log_quote(q, sizeof(q), res.reply));
		return false;
	}
	if (res.nrefused > 0)
		log_warn("alert_rcpt_refused", "refused=%zu reply=%s "
		    "hint=\"fix [mail] alert_to\"", res.nrefused,
		    log_quote(q, sizeof(q), res.refused));
	log_info("alert_sent", "deaths=%zu listed=%d recipients=%zu "
	    "smtp_code=%ld message_id=%s", total, n, a->rc.nall - res.nrefused,
	    res.code, log_value(q, sizeof(q), msgid));
	return true;
}

/* Sends the digest if it is due and ours. */
static void
alert_digest(struct alert *a, struct outbox *ob, struct smtp *s,
    const char *zone)
{
	char list[24], cover[24];
	const char *vals[] = { list, cover };
	PGresult *r;
	size_t total;

	if (!alert_claim(a, ob))
		return;
	snprintf(list, sizeof(list), "%d", ALERT_LIST_MAX);
	snprintf(cover, sizeof(cover), "%d", ALERT_COVER_MAX);
	if ((r = outbox_query(ob, "alert_deaths", 2, vals)) == NULL) {
		alert_release(ob);   /* the lease runs out if this fails too */
		return;
	}
	if (PQntuples(r) == 0) {
		/* Purged since the claim: nothing to say. */
		PQclear(r);
		alert_release(ob);
		return;
	}
	total = (size_t)strtoull(PQgetvalue(r, 0, D_TOTAL), NULL, 10);
	if (!alert_send(a, s, r, zone, total)) {
		a->failed++;
		alert_release(ob);
	} else {
		const char *done[] = { ob->claimer, PQgetvalue(r, 0, D_IDS) };
		PGresult *m = outbox_query(ob, "alert_sent", 2, done);

		a->sent++;
		/* Sent but not marked: the next digest names them again (at
		 * least once, as the outbox's mail). */
		if (m == NULL)
			log_error("alert_record_failed", "deaths=%zu hint=\"they "
			    "are alerted again with the next digest\"", total);
		PQclear(m);
	}
	PQclear(r);
}

void
alert_tick(struct alert *a, struct outbox *ob, struct smtp *s,
    const char *zone, bool force)
{
	long now = alert_now_ms();

	if (ob->conn == NULL)
		return;
	if (force || now >= a->next_beat_ms) {
		alert_heartbeat(ob);
		a->next_beat_ms = now + HEARTBEAT_MS;
	}
	if (!a->enabled || ob->conn == NULL || (!force && now < a->next_check_ms))
		return;
	a->next_check_ms = now + ALERT_CHECK_MS;
	alert_digest(a, ob, s, zone);
}
