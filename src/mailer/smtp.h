/* smtp: delivery over SMTP with libcurl, one connection reused. */
#ifndef FRONTDESK_SMTP_H
#define FRONTDESK_SMTP_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "common/config.h"
#include "mail.h"

#define SMTP_REPLY_MAX 200

struct smtp {
	CURL *curl;
	long timeout_ms;
	char from[TEXT_ADDR_MAX + 3];     /* "<addr>" */
	char *password;                   /* from password_file until libcurl
	                                   * has its copy; never logged */
	const char *fail_event;           /* smtp_init's refusal, for the log */
	char errbuf[CURL_ERROR_SIZE];
	/* the transfer under way */
	const char *data;
	size_t len, off;
	bool got_reply, in_transaction, quitting;
	/* After a failed transaction the server may still think it is in
	 * one (libcurl sends no RSET): the next message takes a new
	 * connection. */
	bool fresh_next;
	char reply[SMTP_REPLY_MAX];
	/* RCPT by RCPT: the one awaiting its answer, a 4xx to any (the
	 * whole message then waits for a retry: DATA is cut short, so no
	 * recipient gets it yet), and the 5xx refusals (the others still
	 * get the message). */
	char rcpt[TEXT_ADDR_MAX + 3];
	bool rcpt_tempfail;
	long tempfail_code;
	char tempfail_reply[SMTP_REPLY_MAX];
	char refused[SMTP_REPLY_MAX];
	size_t nrefused;
};

struct smtp_result {
	bool delivered;                   /* the server took the message */
	bool in_transaction;              /* MAIL FROM was sent */
	long code;                        /* the last reply code, 0 if none */
	char reply[SMTP_REPLY_MAX];       /* the last reply line, or why none */
	size_t nrefused;                  /* recipients refused with a 5xx */
	char refused[SMTP_REPLY_MAX];     /* "<addr> 550 ...; ..." */
};

/* Sets up the handle from [smtp] and reads the password file. Returns 0,
 * or -1 with s->fail_event the event to log and err its key=value pairs,
 * each value quoted (never the password). Refused: tls = off to a host
 * that is not the loopback, a password_file others may read. */
int smtp_init(struct smtp *s, const struct config *cfg, char *err,
    size_t errsize);
/* One transaction: MAIL FROM, every rcpt, DATA with msg (CRLF text).
 * Bounded by [smtp] timeout in all. A recipient refused with a 5xx does
 * not stop the others (r->refused lists it); a 4xx to any recipient
 * stops the message for all, to be retried whole. */
void smtp_send(struct smtp *s, const char *const *rcpts, size_t n,
    const char *msg, size_t len, struct smtp_result *r);
void smtp_free(struct smtp *s);

#endif
