/* frontdesk-mailer: drains the outbox, one SMTP transaction per message. */
#include <sys/prctl.h>
#include <sys/resource.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "common/cli.h"
#include "common/config.h"
#include "common/log.h"
#include "alert.h"
#include "mail.h"
#include "outbox.h"
#include "smtp.h"
#include "common/zone.h"

/*
 * How soon queued mail is noticed. A poll costs one index probe on an
 * empty partial index; LISTEN/NOTIFY would need a NOTIFY in the submit
 * transaction, which serialises every submit's commit behind one lock.
 */
#define POLL_MS 200
#define DB_RETRY_MS 1000
#define DB_RETRY_MAX_MS 5000
#define RECORD_TRIES 3

/* The lease counts on smtp_send's bound. */
_Static_assert(SMTP_OVERRUN_MS <= OUTBOX_SMTP_OVERRUN_MS,
    "outbox_lease does not cover smtp_send's overrun");

static const char usage[] =
    "usage: frontdesk-mailer [-v] [-c FILE] [--once]\n"
    "\n"
    "Delivers the outbox that frontdesk fills: one SMTP transaction per\n"
    "message, to the location's routes (or [mail] default_to), retrying\n"
    "with backoff; several mailers may share one database.\n"
    "\n"
    "  -c, --config FILE  configuration (default " CONFIG_DEFAULT_PATH ")\n"
    "      --once         send what is due now, then exit (cron, tests)\n"
    "  -v, --verbose      debug logging\n"
    "  -h, --help         this help\n"
    "      --version      print the version\n"
    "\n"
    "Queued mail is picked up within 200 ms. When messages go dead,\n"
    "[mail] alert_to hears of them at once, then in digests at most every\n"
    "[mail] alert_interval seconds. SIGTERM or SIGINT: the message in\n"
    "flight is finished and recorded, then the mailer exits 0.\n";

struct mailer {
	const struct config *cfg;
	struct outbox ob;
	struct smtp smtp;
	struct buf msg;
	struct alert alert;       /* alert_to's digests, the heartbeat */
	char zone[CONFIG_STR];    /* the zone's name, shown beside times */
	unsigned long sent, retried, dead;
};

static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
mailer_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a signal cuts the idle sleep short. */
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Sleeps ms unless a signal asks us to stop. */
static void
mailer_sleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (!stopping && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Sleeps ms even when asked to stop: for a pause that finishing the
 * message in flight needs. */
static void
mailer_pause(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * The mailer holds the SMTP password (and libcurl a copy of it) for as
 * long as it runs: a core dump would write it to disk, for whoever reads
 * cores (systemd-coredump, apport, a file in the working directory). No
 * core, then, whatever the service manager or the shell allows: the limit
 * goes to 0 (soft and hard, so no library can raise it again), and the
 * process is not dumpable, which also keeps other processes of the same
 * user from ptrace or /proc/PID/mem. Done first thing, before the
 * configuration or the password is read. A failure here (neither call
 * should fail) stops the mailer: it would be running without the
 * protection it promises.
 */
static void
no_core_dumps(void)
{
	struct rlimit none = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &none) == -1)
		fatal("core_dumps_not_disabled", "call=setrlimit error=%d",
		    errno);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("core_dumps_not_disabled", "call=prctl error=%d", errno);
}

/* Takes "--once" out of argv (the shared parser does not know it). */
static bool
take_once(int *argc, char **argv)
{
	bool once = false;
	int o = 1;

	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < *argc)
				argv[o++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--once") == 0)
			once = true;
		else
			argv[o++] = argv[i];
	}
	argv[o] = NULL;
	*argc = o;
	return once;
}

/* Composes and sends; fills res (reply points into r or a static). */
static void
mailer_send(struct mailer *m, struct outbox_msg *om,
    const struct route_rcpts *rc, struct smtp_result *r,
    struct outbox_result *res)
{
	enum mail_result composed;
	const char *why;
	char q[128];

	om->mail.from = m->cfg->smtp_from;
	om->mail.details = m->cfg->mail_details == CONFIG_DETAILS_NONE ?
	    MAIL_DETAILS_NONE : m->cfg->mail_details == CONFIG_DETAILS_MINIMAL ?
	    MAIL_DETAILS_MINIMAL : MAIL_DETAILS_FULL;
	om->mail.html = m->cfg->mail_html == 1;
	om->mail.console_url = m->cfg->mail_console_url;
	om->mail.zone = m->zone;
	om->mail.date = time(NULL);
	om->mail.to = rc->to;
	om->mail.nto = rc->nto;
	om->mail.cc = rc->cc;
	om->mail.ncc = rc->ncc;
	buf_reset(&m->msg);
	if ((composed = mail_compose(&m->msg, &om->mail, &why)) != MAIL_OK) {
		log_error("compose_failed", "outbox_id=%lld reason=%s",
		    om->id, log_quote(q, sizeof(q), why));
		snprintf(r->reply, sizeof(r->reply), "cannot compose: %s", why);
		/* A row we cannot turn into mail never will be: dead. Memory
		 * may be there next time: transient, like a lost connection. */
		if (composed == MAIL_NOMEM)
			res->outcome = outbox_verdict(false, 0, false, om->age,
			    m->cfg->mail_give_up_after);
		else
			res->outcome = OUTBOX_DEAD;
		res->reply = r->reply;
		return;
	}
	smtp_send(&m->smtp, rc->all, rc->nall, m->msg.p, m->msg.len, r);
	if (r->delivered && r->nrefused > 0) {
		/* Sent to the others; the refused route is the admin's to fix,
		 * and its refusal stays with the attempt. */
		char q[SMTP_REPLY_MAX + 16];
		size_t n = strlen(r->reply);

		log_warn("rcpt_refused", "outbox_id=%lld reference=%s refused=%zu "
		    "reply=%s hint=\"fix or remove the route\"", om->id,
		    om->mail.reference, r->nrefused,
		    log_quote(q, sizeof(q), r->refused));
		if (n + 12 < sizeof(r->reply))
			snprintf(r->reply + n, sizeof(r->reply) - n,
			    "; refused: %.*s", (int)(sizeof(r->reply) - n - 12),
			    r->refused);
	}
	res->outcome = outbox_verdict(r->delivered, r->code, r->in_transaction,
	    om->age, m->cfg->mail_give_up_after);
	res->smtp_code = r->code;
	res->reply = r->reply;
}

static void
mailer_log(struct mailer *m, const struct outbox_msg *om,
    const struct outbox_result *res)
{
	char q[SMTP_REPLY_MAX + 16];

	switch (res->outcome) {
	case OUTBOX_SENT:
		m->sent++;
		log_info("mail_sent", "outbox_id=%lld reference=%s smtp_code=%ld "
		    "attempt=%d", om->id, om->mail.reference, res->smtp_code,
		    om->attempts + 1);
		break;
	case OUTBOX_RETRY:
		m->retried++;
		log_warn("mail_retry", "outbox_id=%lld reference=%s smtp_code=%ld "
		    "attempt=%d retry_in=%ld reply=%s", om->id,
		    om->mail.reference, res->smtp_code, om->attempts + 1,
		    res->delay, log_quote(q, sizeof(q), res->reply));
		break;
	case OUTBOX_DEAD:
		m->dead++;
		log_error("mail_dead", "outbox_id=%lld reference=%s smtp_code=%ld "
		    "attempt=%d reply=%s", om->id, om->mail.reference,
		    res->smtp_code, om->attempts + 1, log_quote(q, sizeof(q),
		    res->reply));
		break;
	}
}

static long long
mailer_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Records the outcome, reconnecting if the database went away meanwhile
 * (a restart; a failover, whose new primary may take many seconds to
 * come): a try a second for as long as the claim's lease lasts, since
 * until then no other mailer takes the message and a late record still
 * means it was sent once. Failing that, the lease runs out and the
 * message is sent again (at least once). Once asked to stop, RECORD_TRIES
 * tries only. */
static void
mailer_record(struct mailer *m, const struct outbox_msg *om,
    const struct outbox_result *res)
{
	for (int i = 0; i < RECORD_TRIES || (!stopping &&
	    mailer_now_ms() + DB_RETRY_MS < om->lease_end_ms); i++) {
		/* Not mailer_sleep: after SIGTERM it would not wait at all,
		 * and a brief database blip would use up every try. */
		if (i > 0)
			mailer_pause(DB_RETRY_MS);
		if (m->ob.conn == NULL && outbox_open(&m->ob, m->cfg) == -1)
			continue;
		if (outbox_record(&m->ob, om, res) == 0)
			return;
	}
	log_error("record_failed", "outbox_id=%lld reference=%s "
	    "hint=\"retried once its lease runs out\"", om->id,
	    om->mail.reference);
}

/* Sends om and records its outcome. With next, the next due message is
 * claimed in the record's round trip: 1 (next holds it), 0 (nothing due);
 * -1 when it was not (the record went alone, retried as mailer_record
 * does). om is freed. */
static int
mailer_deliver(struct mailer *m, struct outbox_msg *om,
    struct outbox_msg *next)
{
	struct outbox_result res = { .outcome = OUTBOX_RETRY };
	struct smtp_result r = { 0 };
	struct route_rcpts rc;
	int claim = -1;

	outbox_recipients(&m->ob, om, &rc);
	if (rc.skipped > 0)
		log_warn("routes_skipped", "outbox_id=%lld location_id=%s "
		    "skipped=%zu hint=\"invalid addresses, or more than %d\"",
		    om->id, om->location_id, rc.skipped, ROUTE_MAX_RCPTS);
	if (rc.nall == 0) {
		snprintf(r.reply, sizeof(r.reply), "no recipients: the location "
		    "has no routes and [mail] default_to is empty");
		res.outcome = outbox_verdict(false, 0, false, om->age,
		    m->cfg->mail_give_up_after);
		res.reply = r.reply;
	} else
		mailer_send(m, om, &rc, &r, &res);
	if (res.outcome == OUTBOX_RETRY)
		res.delay = outbox_backoff(om->attempts + 1,
		    m->cfg->mail_retry_min, m->cfg->mail_retry_max);
	if (next != NULL && !stopping && m->ob.conn != NULL)
		claim = outbox_record_claim(&m->ob, om, &res, next);
	if (claim == -1)
		mailer_record(m, om, &res);
	mailer_log(m, om, &res);
	/* Recorded dead (the trigger noted the death): alert_to may hear of
	 * it now rather than at the next check. */
	if (res.outcome == OUTBOX_DEAD)
		alert_soon(&m->alert);
	outbox_msg_free(om);
	return claim;
}

/* Claims and delivers until stopped (or, once, until nothing is due).
 * Each record claims the next message in its round trip, while there is
 * one due. */
static int
mailer_run(struct mailer *m, bool once)
{
	long db_wait = DB_RETRY_MS;
	struct outbox_msg om, next;
	int r = 0;   /* 1: om holds a claimed message */

	while (!stopping) {
		if (r != 1 && m->ob.conn == NULL &&
		    outbox_open(&m->ob, m->cfg) == -1) {
			if (once)
				return 1;
			mailer_sleep(db_wait);
			db_wait = db_wait * 2 > DB_RETRY_MAX_MS ? DB_RETRY_MAX_MS :
			    db_wait * 2;
			continue;
		}
		db_wait = DB_RETRY_MS;
		alert_tick(&m->alert, &m->ob, &m->smtp, m->zone, false);
		if (r != 1 && (r = outbox_claim(&m->ob, &om)) == -1) {
			if (once)
				return 1;
			mailer_sleep(DB_RETRY_MS);
			continue;
		}
		if (r == 0) {
			if (once) {
				/* What this run let die is alerted before it
				 * exits, when a digest is due. */
				alert_tick(&m->alert, &m->ob, &m->smtp, m->zone,
				    true);
				return 0;
			}
			mailer_sleep(POLL_MS);
			continue;
		}
		if ((r = mailer_deliver(m, &om, &next)) == 1)
			om = next;
	}
	/* Claimed with the last record, as the signal came: not sent. */
	if (r == 1) {
		outbox_release(&m->ob, &om);
		outbox_msg_free(&om);
	}
	return 0;
}

/* default_to and alert_to must hold only addresses we would send to. */
static void
check_default_to(const struct config *cfg, struct alert *alert)
{
	struct route_rcpts rc;
	char q[2 * CONFIG_STR + 4];
	const char *key = NULL;

	route_resolve(&rc, NULL, NULL, 0, cfg->mail_default_to);
	if (rc.skipped > 0)
		key = "default_to";
	else if (alert_init(alert, cfg) == -1)
		key = "alert_to";
	if (key != NULL)
		fatal("config_invalid", "file=%s key=\"[mail] %s\" "
		    "error=\"not a list of plain addresses\"",
		    log_value(q, sizeof(q), cfg->path), key);
}

/*
 * [mail] timezone becomes the process's zone here, once: TZ is set while
 * the mailer is still one thread (before curl_global_init), and only
 * read after (localtime_r). A name that is not a zone would otherwise be
 * UTC without a word; a console_url the mail cannot carry, a dead link.
 */
static void
check_mail(const struct config *cfg, char *zone, size_t size)
{
	char f[2 * sizeof(cfg->path) + 4], v[2 * CONFIG_STR + 4], e[256];
	const char *why = NULL, *key = NULL, *value = NULL;

	if (zone_setup(cfg->mail_timezone, zone, size, &why) == -1)
		key = "timezone", value = cfg->mail_timezone;
	else if (cfg->mail_console_url[0] != '\0' &&
	    !text_console_url(cfg->mail_console_url)) {
		key = "console_url", value = cfg->mail_console_url;
		why = "an http(s):// URL of a host and a path ending in /, "
		    "without quotes, &, (, ), ? or #";
	}
	if (key != NULL)
		fatal("config_invalid", "file=%s key=\"[mail] %s\" value=%s "
		    "error=%s", log_value(f, sizeof(f), cfg->path), key,
		    log_value(v, sizeof(v), value), log_quote(e, sizeof(e), why));
}

int
main(int argc, char **argv)
{
	static struct config cfg;
	static struct mailer m;
	struct cli o;
	char err[1800];  /* a refusal's key=value pairs, quoted */
	bool once;
	int rc;

	log_init("frontdesk-mailer", 0);
	no_core_dumps();
	once = take_once(&argc, argv);
	cli_parse(&o, argc, argv, "frontdesk-mailer", usage, 0);
	if (o.argi != argc) {
		fprintf(stderr, "frontdesk-mailer: unexpected argument \"%s\"\n",
		    argv[o.argi]);
		return 2;
	}
	mailer_signals();  /* first: a SIGTERM during start-up stops it cleanly */
	cli_load_config(&o, &cfg, "frontdesk-mailer");
	log_init("frontdesk-mailer", o.verbose);
	check_default_to(&cfg, &m.alert);
	check_mail(&cfg, m.zone, sizeof(m.zone));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatal("curl_init_failed", NULL);
	if (smtp_init(&m.smtp, &cfg, err, sizeof(err)) == -1)
		fatal(m.smtp.fail_event, "%s", err);
	m.cfg = &cfg;
	m.ob.cfg = &cfg;
	log_info("mailer_started", "poll_ms=%d lease=%ld once=%d alerts=%d "
	    "alert_interval=%ld", POLL_MS, outbox_lease(cfg.smtp_timeout,
	    cfg.mail_retry_max), once, m.alert.enabled, cfg.mail_alert_interval);
	rc = mailer_run(&m, once);
	log_info("mailer_stopped", "sent=%lu retried=%lu dead=%lu "
	    "alerts_sent=%lu alerts_failed=%lu exit=%d", m.sent, m.retried,
	    m.dead, m.alert.sent, m.alert.failed, rc);
	outbox_close(&m.ob);
	smtp_free(&m.smtp);
	buf_free(&m.msg);
	alert_free(&m.alert);
	curl_global_cleanup();
	return rc;
}
