/* smtp: delivery over SMTP with libcurl, one connection reused. */
#include <sys/stat.h>
#include <sys/xattr.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "secret.h"
#include "smtp.h"
#include "smtp_url.h"

/* libcurl 7.69 named it with three Ls; 8.2 fixed the spelling and
 * deprecated the old name. */
#if LIBCURL_VERSION_NUM >= 0x080200
#define FD_RCPT_ALLOWFAILS CURLOPT_MAIL_RCPT_ALLOWFAILS
#else
#define FD_RCPT_ALLOWFAILS CURLOPT_MAIL_RCPT_ALLLOWFAILS
#endif

#define PASSWORD_MAX 1024

/*
 * smtp_init's refusals are log lines: err gets their key=value pairs, every
 * value quoted (log_quote), and s->fail_event the event. This one is the
 * plain case: error="sentence". Returns -1.
 */
__attribute__((format(printf, 4, 5)))
static int
smtp_fail(struct smtp *s, char *err, size_t errsize, const char *fmt, ...)
{
	char why[512], q[2 * sizeof(why) + 8];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	s->fail_event = "smtp_config_failed";
	snprintf(err, errsize, "error=%s", log_quote(q, sizeof(q), why));
	return -1;
}

/* Sets one option; on failure names it in err and returns -1. */
#define SETOPT(s, opt, val, err, errsize) do {				\
	CURLcode rc_ = curl_easy_setopt((s)->curl, opt, val);		\
	if (rc_ != CURLE_OK)						\
		return smtp_fail(s, err, errsize, "libcurl: %s: %s",	\
		    #opt, curl_easy_strerror(rc_));			\
} while (0)

/* The file must be the mailer's alone: a password others can read is
 * refused, not warned about (a warning scrolls by; the password stays
 * exposed). Checked on the open file, so nothing can swap it meanwhile. */
static int
smtp_password_private(struct smtp *s, int fd, const char *path, char *err,
    size_t errsize)
{
	unsigned char acl[SECRET_ACL_MAX];
	const unsigned char *aclp = acl;
	char qp[2 * CONFIG_STR + 8], qw[128], qh[3 * CONFIG_STR];
	const char *why;
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) == -1)
		return smtp_fail(s, err, errsize, "[smtp] password_file %s: %s",
		    path, strerror(errno));
	if ((n = fgetxattr(fd, "system.posix_acl_access", acl,
	    sizeof(acl))) == -1) {
		if (errno != ENODATA && errno != ENOTSUP)
			return smtp_fail(s, err, errsize, "[smtp] "
			    "password_file %s: reading its ACL: %s", path,
			    errno == ERANGE ? "too many entries" :
			    strerror(errno));
		aclp = NULL;
		n = 0;
	}
	if ((why = secret_exposed(st.st_mode, st.st_uid, geteuid(), aclp,
	    (size_t)n)) == NULL)
		return 0;
	{
		char hint[2 * CONFIG_STR + 128];

		snprintf(hint, sizeof(hint), "chown %ld %s && chmod 600 %s "
		    "(the mailer's user, or root), or hand it over as a "
		    "systemd credential", (long)geteuid(), path, path);
		s->fail_event = "password_file_readable";
		snprintf(err, errsize, "path=%s mode=%04o owner=%ld error=%s "
		    "hint=%s", log_quote(qp, sizeof(qp), path),
		    (unsigned)(st.st_mode & 07777), (long)st.st_uid,
		    log_quote(qw, sizeof(qw), why),
		    log_quote(qh, sizeof(qh), hint));
	}
	return -1;
}

static int
smtp_read_password(struct smtp *s, const char *path, char *err,
    size_t errsize)
{
	char buf[PASSWORD_MAX + 2];
	ssize_t n;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return smtp_fail(s, err, errsize, "[smtp] password_file %s: %s",
		    path, strerror(errno));
	if (smtp_password_private(s, fd, path, err, errsize) == -1) {
		close(fd);
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0 || n > PASSWORD_MAX) {
		smtp_fail(s, err, errsize, "[smtp] password_file %s: %s", path,
		    n < 0 ? strerror(errno) : "longer than 1024 bytes");
		goto out;
	}
	/* One trailing line break is the editor's, not the password's. */
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (n == 0 || memchr(buf, '\0', (size_t)n) != NULL) {
		smtp_fail(s, err, errsize, "[smtp] password_file %s: empty or "
		    "holds a NUL byte", path);
		goto out;
	}
	if ((s->password = strdup(buf)) == NULL) {
		smtp_fail(s, err, errsize, "out of memory");
		goto out;
	}
	rc = 0;
out:
	/* Whatever was read, a too long or broken file too, may be a
	 * password: leave no copy on the stack. */
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

static size_t
smtp_read_cb(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct smtp *s = arg;
	size_t want = size * nmemb, left = s->len - s->off;

	/* A recipient said "try later": nobody gets this message now, so
	 * that the retry can go to everyone without a duplicate. */
	if (s->rcpt_tempfail)
		return CURL_READFUNC_ABORT;

	if (want > left)
		want = left;
	memcpy(dst, s->data + s->off, want);
	s->off += want;
	return want;
}

/* Appends "what" to a "; "-separated list, cut to size. */
static void
smtp_list_add(char *list, size_t size, const char *what)
{
	size_t n = strlen(list);

	if (n > 0 && n + 2 < size)
		n += (size_t)snprintf(list + n, size - n, "; ");
	if (n + 1 < size)
		snprintf(list + n, size - n, "%s", what);
}

/* The server's answer to the RCPT in s->rcpt. */
static void
smtp_rcpt_answer(struct smtp *s, long code)
{
	char one[SMTP_REPLY_MAX];

	if (code >= 400 && code <= 599) {
		snprintf(one, sizeof(one), "%.80s %.110s", s->rcpt, s->reply);
		if (code >= 500) {
			smtp_list_add(s->refused, sizeof(s->refused), one);
			s->nrefused++;
		} else if (!s->rcpt_tempfail) {
			s->rcpt_tempfail = true;
			s->tempfail_code = code;
			snprintf(s->tempfail_reply, sizeof(s->tempfail_reply),
			    "RCPT %.190s", one);
		}
	}
	s->rcpt[0] = '\0';
}

/* Keeps the server's last reply line and notes MAIL FROM going out; the
 * rest of the dialogue (AUTH included) is never kept or logged. */
static int
smtp_debug_cb(CURL *h, curl_infotype type, char *data, size_t size,
    void *arg)
{
	struct smtp *s = arg;
	size_t n = 0;

	(void)h;
	if (type == CURLINFO_HEADER_OUT && size >= 10 &&
	    strncasecmp(data, "MAIL FROM:", 10) == 0)
		s->in_transaction = true;
	if (type == CURLINFO_HEADER_OUT && size > 8 &&
	    strncasecmp(data, "RCPT TO:", 8) == 0) {
		for (size_t i = 8; i < size && data[i] != '\r' &&
		    data[i] != '\n' && n < sizeof(s->rcpt) - 1; i++)
			s->rcpt[n++] = data[i];
		s->rcpt[n] = '\0';
		n = 0;
	}
	/* The answer to QUIT says nothing about the message (a QUIT may
	 * also close an old connection before a new one speaks). */
	if (type == CURLINFO_HEADER_OUT)
		s->quitting = size >= 4 && strncasecmp(data, "QUIT", 4) == 0;
	if (type != CURLINFO_HEADER_IN || s->quitting)
		return 0;
	s->got_reply = true;
	for (size_t i = 0; i < size && n < sizeof(s->reply) - 1; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '\r' || c == '\n')
			break;
		s->reply[n++] = (c < 0x20 || c >= 0x7f) ? ' ' : (char)c;
	}
	s->reply[n] = '\0';
	/* The last line of the answer to a RCPT ("550-" lines go before). */
	if (s->rcpt[0] != '\0' && n >= 3 && s->reply[3] != '-')
		smtp_rcpt_answer(s, strtol(s->reply, NULL, 10));
	return 0;
}

/* Options that hold for every message. */
static int
smtp_setup(struct smtp *s, const struct config *cfg, char *err,
    size_t errsize)
{
	bool implicit = strncasecmp(cfg->smtp_url, "smtps://", 8) == 0;

	SETOPT(s, CURLOPT_URL, cfg->smtp_url, err, errsize);
	SETOPT(s, CURLOPT_PROTOCOLS_STR, "smtp,smtps", err, errsize);
	SETOPT(s, CURLOPT_MAIL_FROM, s->from, err, errsize);
	/* One recipient refused must not cost the others their copy. */
	SETOPT(s, FD_RCPT_ALLOWFAILS, 1L, err, errsize);
	SETOPT(s, CURLOPT_UPLOAD, 1L, err, errsize);
	SETOPT(s, CURLOPT_READFUNCTION, smtp_read_cb, err, errsize);
	SETOPT(s, CURLOPT_READDATA, s, err, errsize);
	SETOPT(s, CURLOPT_NOSIGNAL, 1L, err, errsize);
	SETOPT(s, CURLOPT_CONNECTTIMEOUT_MS, s->timeout_ms, err, errsize);
	SETOPT(s, CURLOPT_TIMEOUT_MS, s->timeout_ms, err, errsize);
	SETOPT(s, CURLOPT_TCP_KEEPALIVE, 1L, err, errsize);
	SETOPT(s, CURLOPT_ERRORBUFFER, s->errbuf, err, errsize);
	SETOPT(s, CURLOPT_VERBOSE, 1L, err, errsize);
	SETOPT(s, CURLOPT_DEBUGFUNCTION, smtp_debug_cb, err, errsize);
	SETOPT(s, CURLOPT_DEBUGDATA, s, err, errsize);
	/* The certificate is always verified, whatever tls says. */
	SETOPT(s, CURLOPT_SSL_VERIFYPEER, 1L, err, errsize);
	SETOPT(s, CURLOPT_SSL_VERIFYHOST, 2L, err, errsize);
	if (cfg->smtp_ca_file[0] != '\0')
		SETOPT(s, CURLOPT_CAINFO, cfg->smtp_ca_file, err, errsize);
	/* tls = off: no STARTTLS, for a relay on the loopback only. */
	SETOPT(s, CURLOPT_USE_SSL, cfg->smtp_tls == CONFIG_TLS_OFF && !implicit ?
	    (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL, err, errsize);
	if (cfg->smtp_username[0] != '\0') {
		SETOPT(s, CURLOPT_USERNAME, cfg->smtp_username, err, errsize);
		SETOPT(s, CURLOPT_PASSWORD, s->password, err, errsize);
	}
	/* libcurl keeps its own copy: ours is wiped now, not at exit. */
	if (s->password != NULL) {
		explicit_bzero(s->password, strlen(s->password));
		free(s->password);
		s->password = NULL;
	}
	return 0;
}

/*
 * Where the host starts: past the scheme and any userinfo. The last '@'
 * anywhere, not just before the first '/': a password may hold either
 * unescaped, and an '@' later on (nothing an SMTP URL needs) only makes
 * us hide more, or warn about a relay that is on the loopback after all.
 */
static const char *
smtp_url_host(const char *url)
{
	const char *h = strstr(url, "://"), *at;

	h = h ? h + 3 : url;
	if ((at = strrchr(h, '@')) != NULL)
		h = at + 1;
	return h;
}

/* The URL fit for a log: any user name and password become "***". */
static const char *
smtp_url_redact(char *buf, size_t size, const char *url)
{
	const char *h = smtp_url_host(url), *a = strstr(url, "://");
	int pre = a != NULL ? (int)(a + 3 - url) : 0;

	if (h == url + pre)
		snprintf(buf, size, "%s", url);
	else
		snprintf(buf, size, "%.*s***@%s", pre, url, h);
	return buf;
}

/* tls = off: only to the loopback, and that is decided before anything
 * is read or sent (the password included), on the host libcurl will
 * connect to. */
static int
smtp_check_url(struct smtp *s, const struct config *cfg, char *err,
    size_t errsize)
{
	char host[CONFIG_STR], why[512], url[CONFIG_STR + 8];
	char qu[2 * CONFIG_STR + 32], qh[2 * CONFIG_STR + 8];
	char qw[2 * sizeof(why) + 8];

	if (smtp_url_check(cfg->smtp_url, cfg->smtp_tls == CONFIG_TLS_OFF,
	    host, sizeof(host), why, sizeof(why)) == 0)
		return 0;
	if (host[0] == '\0')  /* not a URL: why says so, without it */
		return smtp_fail(s, err, errsize, "%s", why);
	/* The URL may carry a password: never log that part. */
	s->fail_event = "smtp_tls_off";
	snprintf(err, errsize, "url=%s host=%s error=%s hint=\"use tls = "
	    "required (STARTTLS, verified), or a relay on this host that "
	    "relays on with TLS\"", log_quote(qu, sizeof(qu),
	    smtp_url_redact(url, sizeof(url), cfg->smtp_url)),
	    log_quote(qh, sizeof(qh), host), log_quote(qw, sizeof(qw), why));
	return -1;
}

int
smtp_init(struct smtp *s, const struct config *cfg, char *err,
    size_t errsize)
{
	memset(s, 0, sizeof(*s));
	s->fail_event = "smtp_config_failed";
	s->timeout_ms = cfg->smtp_timeout * 1000;
	s->from[0] = '<';
	if (text_addr_spec(cfg->smtp_from, s->from + 1, sizeof(s->from) - 2)
	    == -1)
		return smtp_fail(s, err, errsize, "[smtp] from: no valid "
		    "address in \"%s\"", cfg->smtp_from);
	strcat(s->from, ">");
	if ((cfg->smtp_username[0] != '\0') !=
	    (cfg->smtp_password_file[0] != '\0'))
		return smtp_fail(s, err, errsize, "[smtp] username and "
		    "password_file go together");
	if (smtp_check_url(s, cfg, err, errsize) == -1)
		return -1;
	if (cfg->smtp_password_file[0] != '\0' &&
	    smtp_read_password(s, cfg->smtp_password_file, err, errsize) == -1)
		return -1;
	if ((s->curl = curl_easy_init()) == NULL)
		return smtp_fail(s, err, errsize, "libcurl: curl_easy_init "
		    "failed");
	return smtp_setup(s, cfg, err, errsize);
}

static long
smtp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One curl_easy_perform within timeout_ms. */
static CURLcode
smtp_perform(struct smtp *s, long timeout_ms, bool fresh)
{
	CURLcode rc;

	s->off = 0;
	s->got_reply = s->in_transaction = s->quitting = false;
	s->reply[0] = s->errbuf[0] = '\0';
	s->rcpt[0] = s->tempfail_reply[0] = s->refused[0] = '\0';
	s->rcpt_tempfail = false;
	s->tempfail_code = 0;
	s->nrefused = 0;
	if ((rc = curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, timeout_ms)) !=
	    CURLE_OK || (rc = curl_easy_setopt(s->curl, CURLOPT_FRESH_CONNECT,
	    fresh ? 1L : 0L)) != CURLE_OK)
		return rc;
	return curl_easy_perform(s->curl);
}

/* "what: detail", cut to size: the reply is a hint for the admin. */
static void
smtp_reply_set(char *dst, size_t size, const char *what, const char *detail)
{
	size_t n = 0;

	for (; *what != '\0' && n + 1 < size; what++)
		dst[n++] = *what;
	if (*detail != '\0')
		for (const char *p = ": "; *p != '\0' && n + 1 < size; p++)
			dst[n++] = *p;
	for (; *detail != '\0' && n + 1 < size; detail++)
		dst[n++] = *detail == '\n' || *detail == '\r' ? ' ' : *detail;
	dst[n] = '\0';
}

static void
smtp_outcome(struct smtp *s, CURLcode rc, struct smtp_result *r)
{
	long code = 0;

	if (curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code) !=
	    CURLE_OK)
		code = 0;
	r->delivered = rc == CURLE_OK;
	r->in_transaction = s->in_transaction;
	r->nrefused = s->nrefused;
	snprintf(r->refused, sizeof(r->refused), "%s", s->refused);
	if (!r->delivered && s->rcpt_tempfail) {
		/* Some recipient said "later": the message waits for all. */
		r->code = s->tempfail_code;
		smtp_reply_set(r->reply, sizeof(r->reply), s->tempfail_reply, "");
		return;
	}
	/* Only a verdict's code: a 250 to EHLO before a TLS failure is not. */
	r->code = r->delivered || code >= 400 ? code : 0;
	if (rc != CURLE_OK && (!s->got_reply || code < 400))
		/* No refusal to quote: say what went wrong on our side. */
		smtp_reply_set(r->reply, sizeof(r->reply),
		    curl_easy_strerror(rc), s->errbuf);
	else
		smtp_reply_set(r->reply, sizeof(r->reply), s->reply, "");
}

void
smtp_send(struct smtp *s, const char *const *rcpts, size_t n,
    const char *msg, size_t len, struct smtp_result *r)
{
	struct curl_slist *list = NULL, *l;
	long start = smtp_now_ms(), used, conns = 1;
	char q[256];
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < n; i++) {
		char a[TEXT_ADDR_MAX + 3];

		snprintf(a, sizeof(a), "<%s>", rcpts[i]);
		if ((l = curl_slist_append(list, a)) == NULL) {
			curl_slist_free_all(list);
			snprintf(r->reply, sizeof(r->reply), "out of memory");
			return;
		}
		list = l;
	}
	s->data = msg;
	s->len = len;
	if ((rc = curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, list)) ==
	    CURLE_OK)
		rc = smtp_perform(s, s->timeout_ms, s->fresh_next);
	used = smtp_now_ms() - start;
	/* A reused connection the server had quietly closed fails before any
	 * reply: try once more on a new one, within the same time budget. */
	if (rc != CURLE_OK && !s->got_reply && used < s->timeout_ms - 1000 &&
	    curl_easy_getinfo(s->curl, CURLINFO_NUM_CONNECTS, &conns) ==
	    CURLE_OK && conns == 0) {
		log_debug("smtp_reconnect", "error=%s", log_quote(q, sizeof(q),
		    curl_easy_strerror(rc)));
		rc = smtp_perform(s, s->timeout_ms - used, true);
	}
	smtp_outcome(s, rc, r);
	s->fresh_next = !r->delivered;
	/* The list goes now: the handle must not keep pointing at it. */
	if ((rc = curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, NULL)) !=
	    CURLE_OK)
		log_error("smtp_setopt_failed", "option=CURLOPT_MAIL_RCPT "
		    "error=\"%s\"", curl_easy_strerror(rc));
	curl_slist_free_all(list);
	s->data = NULL;
}

void
smtp_free(struct smtp *s)
{
	if (s->curl != NULL)
		curl_easy_cleanup(s->curl);
	if (s->password != NULL) {
		explicit_bzero(s->password, strlen(s->password));
		free(s->password);
	}
	memset(s, 0, sizeof(*s));
}
