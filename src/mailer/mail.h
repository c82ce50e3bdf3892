/* mail: the notification email as RFC 5322/MIME text (pure, no I/O). */
#ifndef FRONTDESK_MAIL_H
#define FRONTDESK_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/buf.h"
#include "common/text.h"


/* [mail] details: what of the request the email carries. */
enum mail_details {
	MAIL_DETAILS_FULL,     /* every field */
	MAIL_DETAILS_MINIMAL,  /* no service, preferred time or message */
	MAIL_DETAILS_NONE,     /* no patient data: location, reference, time and
	                        * the console link only; no Reply-To */
};

/*
 * One message. Strings are NUL-terminated; optional ones may be NULL.
 * Request fields are untrusted form text: they only ever reach the body
 * (quoted-printable) or the inside of RFC 2047 encoded words, never a
 * header raw. Bcc recipients are the envelope's business and have no place
 * here.
 */
struct mail_msg {
	const char *from;             /* [smtp] from: "Name <addr>" or "addr" */
	enum mail_details details;
	bool html;                    /* [mail] html = on: an HTML alternative */
	const char *message_id;       /* "<...>", chosen with the outbox row */
	time_t date;
	/* [mail] console_url (validated: text_console_url), ending in
	 * '/': the link is it followed by "requests/REF". NULL or "": no link
	 * (refused with MAIL_DETAILS_NONE, which has nothing else to offer). */
	const char *console_url;
	/* The name of the zone that times are shown in, written beside them
	 * ("America/New_York"); NULL or "": the abbreviation and offset
	 * alone. The times themselves are the process's local time: the
	 * mailer sets its zone once at start-up (zone.h). */
	const char *zone;
	const char *const *to;        /* bare addresses */
	size_t nto;
	const char *const *cc;
	size_t ncc;

	const char *reference;        /* FD-XXXXXXXX */
	const char *location;         /* the location's name, not its slug */
	const char *first_name;
	const char *last_name;
	const char *email;            /* Reply-To when given and valid (not
	                               * with MAIL_DETAILS_NONE) */
	const char *phone;
	const char *service;
	const char *preferred_time;
	const char *message;
	bool consent;
	time_t received;
};

enum mail_result {
	MAIL_OK = 0,
	MAIL_UNSENDABLE = -1,  /* a bad From, Message-ID, reference or recipient:
	                        * the row will never make a message */
	MAIL_NOMEM = -2,       /* out of memory: it may work next time */
};

/* Appends the whole message, CRLF line endings, no line over 78 bytes.
 * Anything but MAIL_OK comes with a static reason in *why. */
enum mail_result mail_compose(struct buf *out, const struct mail_msg *m,
    const char **why);


/* Building blocks, exposed for the unit tests. */
/* Appends "Name: value" folded at 76 columns, RFC 2047 encoding the words
 * that need it (phrase: encode all of value, as for a display name). */
void mail_header_text(struct buf *out, const char *name, const char *value,
    bool phrase);
/* Appends text (UTF-8, "\n" line breaks) as quoted-printable with CRLF. */
void mail_qp(struct buf *out, const char *text, size_t len);
/* RFC 5322 date-time of t in local time, e.g. "Tue, 07 May 2024 ...". */
void mail_date(char *out, size_t size, time_t t);
/* A time for staff: t in local time with the zone named, e.g.
 * "2026-12-01 15:59:03 EST (America/New_York, UTC-05:00)"; zone NULL or
 * "": "2026-12-01 15:59:03 EST (UTC-05:00)". */
void mail_time(char *out, size_t size, time_t t, const char *zone);

/* Shared with the mailer's other messages (alert_mail.c), so that they are
 * made the same way. From: [smtp] from (0, or -1 when it holds no valid
 * address). "Name: a, b" of bare addresses folded between them (-1 when
 * one is not a valid address). Text cleaned as every value of the body is
 * (invalid UTF-8 to U+FFFD, controls to spaces; one-line text with its
 * white space collapsed). A Message-ID the mail may carry. */
int mail_header_from(struct buf *out, const char *from);
int mail_header_addrs(struct buf *out, const char *name,
    const char *const *addrs, size_t n);
void mail_clean_text(struct buf *out, const char *s, bool multiline);
bool mail_message_id_valid(const char *s);

#endif
