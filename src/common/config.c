/* config: the INI configuration, its key table, defaults and ranges. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "text.h"
#include "zone.h"

enum key_type { KEY_STR, KEY_INT, KEY_MODE, KEY_ENUM, KEY_CIDRS };

struct key {
	const char *section;
	const char *name;
	enum key_type type;
	size_t offset;
	const char *def;
	long min, max;
	const char *const *choices;  /* KEY_ENUM: index is the value */
};

static const char *const tls_choices[] = { "required", "off", NULL };
static const char *const details_choices[] = { "full", "minimal", "none",
    NULL };
static const char *const auth_choices[] = { "local", "remote_user", NULL };
static const char *const second_factor_choices[] = { "off", "admins", "all",
    NULL };
static const char *const onoff_choices[] = { "off", "on", NULL };

#define OFF(f) offsetof(struct config, f)
/* The one table of every key: section, name, type, default, range. */
static const struct key keys[] = {
	{ "database", "conninfo", KEY_STR, OFF(db_conninfo),
	    "host=/run/postgresql dbname=frontdesk", 0, 0, NULL },
	{ "fastcgi", "listen", KEY_STR, OFF(fcgi_listen), "", 0, 0, NULL },
	{ "fastcgi", "socket_mode", KEY_MODE, OFF(fcgi_socket_mode), "0660",
	    0, 07777, NULL },
	{ "fastcgi", "threads", KEY_INT, OFF(fcgi_threads), "8", 1, 256, NULL },
	{ "fastcgi", "max_body", KEY_INT, OFF(fcgi_max_body), "65536",
	    1024, 16777216, NULL },
	{ "http", "prefix", KEY_STR, OFF(http_prefix), "/api", 0, 0, NULL },
	{ "http", "thank_you_url", KEY_STR, OFF(http_thank_you_url),
	    "/thank-you/", 0, 0, NULL },
	{ "http", "trusted_proxies", KEY_CIDRS, OFF(http_trusted_proxies), "",
	    0, 0, NULL },
	{ "smtp", "url", KEY_STR, OFF(smtp_url), "smtp://127.0.0.1:25", 0, 0,
	    NULL },
	{ "smtp", "tls", KEY_ENUM, OFF(smtp_tls), "required", 0, 0,
	    tls_choices },
	{ "smtp", "ca_file", KEY_STR, OFF(smtp_ca_file), "", 0, 0, NULL },
	{ "smtp", "username", KEY_STR, OFF(smtp_username), "", 0, 0, NULL },
	{ "smtp", "password_file", KEY_STR, OFF(smtp_password_file), "", 0, 0,
	    NULL },
	{ "smtp", "from", KEY_STR, OFF(smtp_from),
	    "frontdesk <frontdesk@localhost>", 0, 0, NULL },
	{ "smtp", "timeout", KEY_INT, OFF(smtp_timeout), "30", 1, 600, NULL },
	{ "mail", "default_to", KEY_STR, OFF(mail_default_to), "", 0, 0, NULL },
	{ "mail", "details", KEY_ENUM, OFF(mail_details), "full", 0, 0,
	    details_choices },
	{ "mail", "html", KEY_ENUM, OFF(mail_html), "off", 0, 0,
	    onoff_choices },
	/* INT_MAX: outbox.c binds a backoff as $5::integer. */
	{ "mail", "retry_min", KEY_INT, OFF(mail_retry_min), "60", 1, INT_MAX,
	    NULL },
	{ "mail", "retry_max", KEY_INT, OFF(mail_retry_max), "3600", 1,
	    INT_MAX, NULL },
	{ "mail", "give_up_after", KEY_INT, OFF(mail_give_up_after), "259200",
	    60, LONG_MAX, NULL },
	{ "limits", "per_ip_per_hour", KEY_INT, OFF(limits_per_ip_per_hour),
	    "20", 0, 1000000000, NULL },
	{ "mail", "timezone", KEY_STR, OFF(mail_timezone), "", 0, 0, NULL },
	{ "mail", "console_url", KEY_STR, OFF(mail_console_url), "", 0, 0,
	    NULL },
	{ "mail", "alert_to", KEY_STR, OFF(mail_alert_to), "", 0, 0, NULL },
	{ "mail", "alert_interval", KEY_INT, OFF(mail_alert_interval), "600",
	    60, 86400, NULL },
	{ "spool", "dir", KEY_STR, OFF(spool_dir), "", 0, 0, NULL },
	{ "spool", "max_size", KEY_INT, OFF(spool_max_size), "1073741824",
	    1048576, LONG_MAX, NULL },
	{ "console", "listen", KEY_STR, OFF(console_listen), "", 0, 0, NULL },
	{ "console", "socket_mode", KEY_MODE, OFF(console_socket_mode), "0660",
	    0, 07777, NULL },
	{ "console", "threads", KEY_INT, OFF(console_threads), "4", 1, 256,
	    NULL },
	{ "console", "prefix", KEY_STR, OFF(console_prefix), "/console", 0, 0,
	    NULL },
	{ "console", "origin", KEY_STR, OFF(console_origin), "", 0, 0, NULL },
	{ "console", "auth", KEY_ENUM, OFF(console_auth), "local", 0, 0,
	    auth_choices },
	{ "console", "second_factor", KEY_ENUM, OFF(console_second_factor),
	    "admins", 0, 0, second_factor_choices },
	{ "console", "idle_timeout", KEY_INT, OFF(console_idle_timeout), "900",
	    10, 86400, NULL },
	{ "console", "session_max", KEY_INT, OFF(console_session_max), "43200",
	    60, 604800, NULL },
	{ "console", "lockout_after", KEY_INT, OFF(console_lockout_after), "5",
	    1, 100, NULL },
	{ "console", "lockout_seconds", KEY_INT, OFF(console_lockout_seconds),
	    "900", 10, 86400, NULL },
	{ "console", "key_file", KEY_STR, OFF(console_key_file), "", 0, 0,
	    NULL },
};
#undef OFF

struct parse_ctx {
	struct config *c;
	const char *name;
	int line;            /* the line the reader handed out last */
	bool failed;
	char *err;
	size_t errsize;
	/* the source: a FILE or a string */
	FILE *fp;
	const char *text;
};

static __attribute__((format(printf, 2, 3))) void
ctx_fail(struct parse_ctx *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return;  /* the first error is the one to fix first */
	p->failed = true;
	if (p->line > 0)
		n = snprintf(p->err, p->errsize, "%s:%d: ", p->name, p->line);
	else
		n = snprintf(p->err, p->errsize, "%s: ", p->name);
	if (n < 0 || (size_t)n >= p->errsize)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errsize - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Reads one line for libinih, counting lines, and refuses a line that does
 * not fit libinih's buffer instead of letting it be cut silently. */
static char *
config_read_line(char *str, int num, void *stream)
{
	struct parse_ctx *p = stream;
	size_t len;

	if (p->failed)
		return NULL;
	if (p->fp != NULL) {
		if (fgets(str, num, p->fp) == NULL)
			return NULL;
	} else {
		const char *nl;

		if (*p->text == '\0')
			return NULL;
		nl = strchr(p->text, '\n');
		len = nl ? (size_t)(nl - p->text) + 1 : strlen(p->text);
		if (len > (size_t)num - 1)
			len = (size_t)num - 1;
		memcpy(str, p->text, len);
		str[len] = '\0';
		p->text += len;
	}
	p->line++;
	len = strlen(str);
	if (len == (size_t)num - 1 && str[len - 1] != '\n' &&
	    !(p->fp != NULL ? feof(p->fp) : *p->text == '\0')) {
		ctx_fail(p, "line longer than %d bytes (put secrets in a *_file "
		    "key's file)", num - 2);
		return NULL;
	}
	return str;
}

static int
key_set(struct parse_ctx *p, const struct key *k, const char *value)
{
	char *base = (char *)p->c + k->offset, *end;
	long v;

	switch (k->type) {
	case KEY_CIDRS: {
		char why[128];
		int n = netaddr_parse_cidrs(value, p->c->trusted,
		    NETADDR_MAX_CIDRS, why, sizeof(why));

		if (n < 0) {
			ctx_fail(p, "[%s] %s: %s", k->section, k->name, why);
			return -1;
		}
		p->c->ntrusted = (size_t)n;
	}
		/* the text is kept too */
		__attribute__((fallthrough));
	case KEY_STR:
		if (strlen(value) >= CONFIG_STR) {
			ctx_fail(p, "[%s] %s: value too long", k->section, k->name);
			return -1;
		}
		strcpy(base, value);
		return 0;
	case KEY_ENUM:
		for (v = 0; k->choices[v] != NULL; v++)
			if (strcmp(k->choices[v], value) == 0) {
				*(long *)(void *)base = v;
				return 0;
			}
		ctx_fail(p, "[%s] %s: \"%s\" is not one of the allowed values",
		    k->section, k->name, value);
		return -1;
	case KEY_INT:
	case KEY_MODE:
		errno = 0;
		v = strtol(value, &end, k->type == KEY_MODE ? 8 : 10);
		if (errno != 0 || end == value || *end != '\0') {
			ctx_fail(p, "[%s] %s: \"%s\" is not %s", k->section, k->name,
			    value, k->type == KEY_MODE ? "an octal mode" : "a number");
			return -1;
		}
		if (v < k->min || v > k->max) {
			ctx_fail(p, "[%s] %s: %s is out of range (%ld-%ld)",
			    k->section, k->name, value, k->min, k->max);
			return -1;
		}
		*(long *)(void *)base = v;
		return 0;
	}
	return -1;
}

static int
config_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct parse_ctx *p = user;
	bool section_known = false;

	if (p->failed)
		return 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].section, section) != 0)
			continue;
		section_known = true;
		if (strcmp(keys[i].name, name) == 0)
			return key_set(p, &keys[i], value) == 0;
	}
	if (!section_known)
		ctx_fail(p, "unknown section [%s]", section);
	else
		ctx_fail(p, "[%s] %s: unknown key", section, name);
	return 0;
}

void
config_defaults(struct config *c)
{
	struct parse_ctx p = { .c = c, .name = "defaults" };

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		key_set(&p, &keys[i], keys[i].def);
}

/* A listen value: empty (inherited), a unix socket path that fits with
 * its private name, or a numeric address and a port 1-65535 ("[::1]:9000"
 * for IPv6), as the socket layer binds it. */
static bool
listen_ok(const char *s)
{
	char host[CONFIG_STR], *end;
	const char *colon;
	unsigned char a[16];
	size_t n;
	long port;

	if (s[0] == '/')
		return strlen(s) <= CONFIG_LISTEN_PATH_MAX;
	if (s[0] == '\0')
		return true;
	if ((colon = strrchr(s, ':')) == NULL || colon[1] == '\0')
		return false;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535 || colon[1] == '+' ||
	    colon[1] == '-')
		return false;
	n = (size_t)(colon - s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		snprintf(host, sizeof(host), "%.*s", (int)(n - 2), s + 1);
		return inet_pton(AF_INET6, host, a) == 1;
	}
	snprintf(host, sizeof(host), "%.*s", (int)n, s);
	return inet_pton(AF_INET, host, a) == 1;
}

/* [spool] dir: absolute, and a writable folder, or one that can be made
 * in a writable folder (frontdesk makes it at start-up). */
static bool
spool_dir_ok(const char *dir, const char **why)
{
	char parent[CONFIG_STR];
	const char *slash;
	struct stat st;

	if (dir[0] != '/') {
		*why = "must be an absolute path";
		return false;
	}
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			*why = "is not a folder";
			return false;
		}
		if (access(dir, W_OK | X_OK) != 0) {
			*why = "is not writable by this user";
			return false;
		}
		return true;
	}
	slash = strrchr(dir, '/');
	snprintf(parent, sizeof(parent), "%.*s", slash == dir ? 1 :
	    (int)(slash - dir), dir);
	if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    access(parent, W_OK | X_OK) != 0) {
		*why = "does not exist, and its parent is not a writable folder";
		return false;
	}
	return true;
}

/* Checks across keys, and normalises what the programs expect. */
static int
config_check(struct parse_ctx *p)
{
	struct config *c = p->c;
	char addr[TEXT_ADDR_MAX + 1];
	const char *at, *why = NULL;
	size_t n;

	if (c->mail_retry_max < c->mail_retry_min) {
		ctx_fail(p, "[mail] retry_max: must be at least retry_min (%ld)",
		    c->mail_retry_min);
		return -1;
	}
	n = strlen(c->http_prefix);
	while (n > 0 && c->http_prefix[n - 1] == '/')
		c->http_prefix[--n] = '\0';
	if (n > 0 && c->http_prefix[0] != '/') {
		ctx_fail(p, "[http] prefix: must start with /");
		return -1;
	}
	if (!listen_ok(c->fcgi_listen)) {
		ctx_fail(p, "[fastcgi] listen: a unix socket path of at most %d "
		    "bytes, or address:port (127.0.0.1:9000, [::1]:9000)",
		    CONFIG_LISTEN_PATH_MAX);
		return -1;
	}
	if (!listen_ok(c->console_listen)) {
		ctx_fail(p, "[console] listen: a unix socket path of at most %d "
		    "bytes, or address:port (127.0.0.1:9000, [::1]:9000)",
		    CONFIG_LISTEN_PATH_MAX);
		return -1;
	}
	n = strlen(c->console_prefix);
	while (n > 0 && c->console_prefix[n - 1] == '/')
		c->console_prefix[--n] = '\0';
	if (n == 0 || c->console_prefix[0] != '/') {
		ctx_fail(p, "[console] prefix: a path starting with /, not / alone");
		return -1;
	}
	if (c->console_session_max < c->console_idle_timeout) {
		ctx_fail(p, "[console] session_max: must be at least idle_timeout "
		    "(%ld)", c->console_idle_timeout);
		return -1;
	}
	if (c->console_auth == CONFIG_AUTH_REMOTE_USER &&
	    c->console_listen[0] != '\0' && c->console_listen[0] != '/') {
		ctx_fail(p, "[console] listen: auth = remote_user trusts "
		    "REMOTE_USER from whoever connects, so it listens only on a "
		    "unix socket (or an inherited one)");
		return -1;
	}
	n = strlen(c->mail_console_url);
	if (n > 0 && !text_console_url(c->mail_console_url)) {
		ctx_fail(p, "[mail] console_url: \"%s\" is not an http(s):// URL "
		    "of a host and a path ending in /, without quotes, &, (, ), ? "
		    "or #", c->mail_console_url);
		return -1;
	}
	if (c->mail_timezone[0] != '\0' &&
	    zone_check(ZONE_DIR, c->mail_timezone, &why) == -1) {
		ctx_fail(p, "[mail] timezone: \"%s\": %s", c->mail_timezone, why);
		return -1;
	}
	if (c->smtp_from[0] != '\0' &&
	    text_addr_spec(c->smtp_from, addr, sizeof(addr)) == -1) {
		ctx_fail(p, "[smtp] from: no plain address in \"%s\" (write "
		    "Name <appointments@clinic.example> or the address alone)",
		    c->smtp_from);
		return -1;
	}
	if ((c->smtp_username[0] != '\0') !=
	    (c->smtp_password_file[0] != '\0')) {
		ctx_fail(p, "[smtp] username and password_file go together");
		return -1;
	}
	if (c->spool_dir[0] != '\0' && !spool_dir_ok(c->spool_dir, &why)) {
		ctx_fail(p, "[spool] dir: %s", why);
		return -1;
	}
	if (c->mail_details == CONFIG_DETAILS_NONE && n == 0) {
		ctx_fail(p, "[mail] details = none: needs console_url, the only "
		    "way staff can read the request");
		return -1;
	}
	if (!text_redirect_url(c->http_thank_you_url)) {
		ctx_fail(p, "[http] thank_you_url: a path starting with / or an "
		    "http(s):// URL, at most 500 bytes, no spaces");
		return -1;
	}
	/* The right side of every Message-ID: the domain of [smtp] from's
	 * address (checked above), so a Message-ID can always carry it. */
	if (c->smtp_from[0] == '\0' || (at = strrchr(addr, '@')) == NULL)
		snprintf(c->msgid_domain, sizeof(c->msgid_domain),
		    "frontdesk.localhost");
	else
		snprintf(c->msgid_domain, sizeof(c->msgid_domain), "%s", at + 1);
	if (strncasecmp(c->smtp_url, "smtp://", 7) != 0 &&
	    strncasecmp(c->smtp_url, "smtps://", 8) != 0) {
		ctx_fail(p, "[smtp] url: must start with smtp:// or smtps://");
		return -1;
	}
	return 0;
}

static int
config_parse(struct parse_ctx *p)
{
	int r;

	config_defaults(p->c);
	r = ini_parse_stream(config_read_line, p, config_handler, p);
	if (!p->failed && r != 0) {
		p->line = r;
		ctx_fail(p, "syntax error (expected [section] or key = value)");
	}
	if (p->failed)
		return -1;
	p->line = 0;
	return config_check(p);
}

int
config_load(struct config *c, const char *path, char *err, size_t errsize)
{
	struct parse_ctx p = { .c = c, .name = path, .err = err,
	    .errsize = errsize };
	int r;

	if ((p.fp = fopen(path, "r")) == NULL) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	r = config_parse(&p);
	fclose(p.fp);
	if (r == 0)
		snprintf(c->path, sizeof(c->path), "%s", path);
	return r;
}

int
config_load_string(struct config *c, const char *name, const char *text,
    char *err, size_t errsize)
{
	struct parse_ctx p = { .c = c, .name = name, .text = text, .err = err,
	    .errsize = errsize };

	return config_parse(&p);
}
