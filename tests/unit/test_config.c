/* Unit tests for config.c: the key table, ranges and error messages. */
#include <string.h>

#include "config.h"
#include "tap.h"

struct bad_case {
	const char *text;
	const char *expect;   /* a substring of the error */
};

static const struct bad_case bad[] = {
	{ "[nope]\nx = 1\n", "t.conf:2: unknown section [nope]" },
	{ "[fastcgi]\nthreads = 0\n", "t.conf:2: [fastcgi] threads: 0 is out of range" },
	{ "[fastcgi]\nthreads = 257\n", "out of range (1-256)" },
	{ "[fastcgi]\nthreads = 8x\n", "is not a number" },
	{ "[fastcgi]\nmax_body = 1023\n", "max_body: 1023 is out of range" },
	{ "[fastcgi]\nmax_body = 16777217\n", "out of range" },
	{ "[fastcgi]\nsocket_mode = 0999\n", "is not an octal mode" },
	{ "[fastcgi]\nbogus = 1\n", "t.conf:2: [fastcgi] bogus: unknown key" },
	{ "[smtp]\ntls = maybe\n", "tls: \"maybe\" is not one of" },
	{ "[smtp]\ntimeout = 0\n", "timeout: 0 is out of range" },
	{ "[smtp]\ntimeout = 601\n", "out of range" },
	{ "[smtp]\nurl = http://x\n", "[smtp] url: must start with smtp://" },
	{ "[mail]\nretry_min = 0\n", "retry_min: 0 is out of range" },
	{ "[mail]\nretry_min = 100\nretry_max = 50\n", "retry_max: must be at least retry_min" },
	/* The outbox binds a backoff as a 32-bit integer. */
	{ "[mail]\nretry_max = 2147483648\n",
	    "retry_max: 2147483648 is out of range (1-2147483647)" },
	{ "[mail]\nretry_min = 2147483648\n",
	    "retry_min: 2147483648 is out of range (1-2147483647)" },
	{ "[mail]\ngive_up_after = 59\n", "give_up_after: 59 is out of range" },
	{ "[mail]\ndetails = some\n", "details: \"some\"" },
	{ "[mail]\nhtml = yes\n", "[mail] html: \"yes\" is not one of" },
	{ "[fastcgi]\nlisten = fcgi.sock\n",
	    "[fastcgi] listen: a unix socket path of at most 95 bytes, or" },
	{ "[fastcgi]\nlisten = /run/frontdesk/"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
	    "[fastcgi] listen: a unix socket path of at most 95 bytes" },
	{ "[http]\nthank_you_url =\n", "[http] thank_you_url: a path" },
	{ "[http]\nthank_you_url = javascript:alert(1)\n",
	    "[http] thank_you_url: a path" },
	{ "[http]\nthank_you_url = //evil.example/\n",
	    "[http] thank_you_url: a path" },
	{ "[limits]\nper_ip_per_hour = -1\n", "out of range" },
	{ "[limits]\nper_ip_per_hour = 1000000001\n", "out of range" },
	{ "[spool]\nmax_size = 1048575\n",
	    "t.conf:2: [spool] max_size: 1048575 is out of range (1048576-" },
	{ "[spool]\nmax_size = 1G\n", "[spool] max_size: \"1G\" is not a number" },
	{ "[http]\nprefix = api\n", "[http] prefix: must start with /" },
	{ "garbage line\n", "t.conf:1: syntax error" },
	{ "[http]\ntrusted_proxies = 10.0.0.0/33\n",
	    "t.conf:2: [http] trusted_proxies: \"10.0.0.0/33\" is not" },
	{ "[database]\n\n\nconninfo\n", "t.conf:4: syntax error" },
	/* what start-up or the mailer would refuse, -t refuses too */
	{ "[smtp]\nfrom = appointments@clinic.example;\n",
	    "[smtp] from: no plain address in" },
	{ "[smtp]\nfrom = Front Desk <front desk@clinic.example>\n",
	    "[smtp] from: no plain address" },
	{ "[smtp]\nusername = u\n", "username and password_file go together" },
	{ "[mail]\ntimezone = Mars/Olympus\n", "[mail] timezone: \"Mars/Olympus\": no such zone" },
	{ "[mail]\ntimezone = ../../etc/passwd\n", "[mail] timezone: \"../../etc/passwd\": not a zone" },
	{ "[mail]\nconsole_url = https://staff.example/console/?a=b/\n",
	    "[mail] console_url: \"https://staff.example/console/?a=b/\" is not" },
	{ "[mail]\nconsole_url = https://staff.example/console\n",
	    "[mail] console_url" },
	{ "[mail]\ndetails = none\n", "details = none: needs console_url" },
	{ "[spool]\ndir = spool\n", "[spool] dir: must be an absolute path" },
	{ "[spool]\ndir = /nonexistent-frontdesk/a/b\n",
	    "[spool] dir: does not exist, and its parent" },
	{ "[spool]\ndir = /etc/hostname\n", "[spool] dir: is not a folder" },
	{ "[fastcgi]\nlisten = 127.0.0.1:0\n", "[fastcgi] listen:" },
	{ "[fastcgi]\nlisten = 127.0.0.1:65536\n", "[fastcgi] listen:" },
	{ "[fastcgi]\nlisten = localhost:9000\n", "[fastcgi] listen:" },
	{ "[fastcgi]\nlisten = ::1:9000\n", "[fastcgi] listen:" },
	{ "[fastcgi]\nlisten = 127.0.0.1:9x\n", "[fastcgi] listen:" },
	{ "[console]\nlisten = 127.0.0.1:9000\nauth = remote_user\n",
	    "auth = remote_user trusts REMOTE_USER" },
	{ "[console]\nidle_timeout = 600\nsession_max = 300\n",
	    "session_max: must be at least idle_timeout" },
	{ "[console]\nprefix = /\n", "[console] prefix" },
};

static void
test_defaults(void)
{
	struct config c;
	char err[256] = "";

	tap_ok(config_load_string(&c, "t.conf", "", err, sizeof(err)) == 0,
	    "empty file loads: %s", err);
	tap_ok(c.fcgi_threads == 8, "threads default 8");
	tap_ok(c.fcgi_max_body == 65536, "max_body default 65536");
	tap_ok(c.fcgi_socket_mode == 0660, "socket_mode default 0660");
	tap_ok(strcmp(c.http_prefix, "/api") == 0, "prefix default /api");
	tap_ok(c.smtp_tls == CONFIG_TLS_REQUIRED, "tls default required");
	tap_ok(c.mail_retry_min == 60 && c.mail_retry_max == 3600,
	    "retry defaults 60/3600");
	tap_ok(c.mail_give_up_after == 259200, "give_up_after default");
	tap_ok(c.mail_html == 0, "html default off");
	tap_ok(c.limits_per_ip_per_hour == 20, "per_ip_per_hour default 20");
	tap_ok(c.spool_max_size == 1073741824, "spool max_size default 1 GiB");
	tap_ok(strcmp(c.msgid_domain, "localhost") == 0,
	    "default Message-ID domain: %s", c.msgid_domain);
}

static void
test_good(void)
{
	struct config c;
	char err[256] = "";
	const char *text =
	    "; a comment\n"
	    "[database]\n"
	    "conninfo = host=/tmp dbname=x ; trailing comment\n"
	    "[fastcgi]\nlisten = 127.0.0.1:9000\nsocket_mode = 0600\n"
	    "threads = 256\nmax_body = 1024\n"
	    "[http]\nprefix = /api/\nthank_you_url = /thanks/\n"
	    "trusted_proxies = 127.0.0.1, ::1, 10.0.0.0/8\n"
	    "[smtp]\nurl = smtps://mail.example:465\ntls = off\ntimeout = 600\n"
	    "from = Clinic <a@clinic.example>\n"
	    "[mail]\ndetails = minimal\nhtml = on\nretry_min = 5\n"
	    "retry_max = 5\n"
	    "give_up_after = 60\n"
	    "[limits]\nper_ip_per_hour = 0\n"
	    "[spool]\ndir = /var/spool/frontdesk\nmax_size = 1048576\n";

	tap_ok(config_load_string(&c, "t.conf", text, err, sizeof(err)) == 0,
	    "full file loads: %s", err);
	tap_ok(strcmp(c.db_conninfo, "host=/tmp dbname=x") == 0,
	    "inline comment stripped");
	tap_ok(c.fcgi_socket_mode == 0600, "octal mode");
	tap_ok(c.fcgi_threads == 256 && c.fcgi_max_body == 1024, "range edges");
	tap_ok(strcmp(c.http_prefix, "/api") == 0, "prefix trailing / dropped");
	tap_ok(c.smtp_tls == CONFIG_TLS_OFF && c.smtp_timeout == 600, "smtp");
	tap_ok(c.mail_details == CONFIG_DETAILS_MINIMAL, "details minimal");
	tap_ok(c.mail_html == 1, "html on");
	tap_ok(c.mail_retry_max == 5 && c.mail_give_up_after == 60, "mail edges");
	tap_ok(c.limits_per_ip_per_hour == 0, "rate limit off");
	tap_ok(c.ntrusted == 3 && c.trusted[2].bits == 8, "trusted proxies");
	tap_ok(strcmp(c.msgid_domain, "clinic.example") == 0,
	    "Message-ID domain from [smtp] from: %s", c.msgid_domain);
	tap_ok(strcmp(c.spool_dir, "/var/spool/frontdesk") == 0, "spool dir");
	tap_ok(c.spool_max_size == 1048576, "spool max_size at its least");
}

static void
test_retry_edge(void)
{
	struct config c;
	char err[256] = "";

	tap_ok(config_load_string(&c, "t.conf",
	    "[mail]\nretry_min = 2147483647\nretry_max = 2147483647\n", err,
	    sizeof(err)) == 0, "retry at INT_MAX loads: %s", err);
	tap_ok(c.mail_retry_min == 2147483647 && c.mail_retry_max == 2147483647,
	    "retry edges INT_MAX");
}

static void
test_listen_edge(void)
{
	struct config c;
	char text[200], err[256] = "";
	int n = snprintf(text, sizeof(text), "[fastcgi]\nlisten = /");

	memset(text + n, 's', CONFIG_LISTEN_PATH_MAX - 1);
	strcpy(text + n + CONFIG_LISTEN_PATH_MAX - 1, "\n");
	tap_ok(config_load_string(&c, "t.conf", text, err, sizeof(err)) == 0 &&
	    strlen(c.fcgi_listen) == CONFIG_LISTEN_PATH_MAX,
	    "a socket path of exactly %d bytes loads: %s",
	    CONFIG_LISTEN_PATH_MAX, err);
	tap_ok(config_load_string(&c, "t.conf", "[fastcgi]\nlisten = [::1]:9000\n",
	    err, sizeof(err)) == 0, "[::1]:9000 loads: %s", err);
}

static void
test_long_line(void)
{
	struct config c;
	char text[400], err[256] = "";

	memset(text, 'x', sizeof(text));
	memcpy(text, "[database]\nconninfo = ", 22);
	strcpy(text + 230, "\n");
	tap_ok(config_load_string(&c, "t.conf", text, err, sizeof(err)) == -1 &&
	    strstr(err, "t.conf:2: line longer than") != NULL,
	    "a line past libinih's buffer is refused, not cut: %s", err);
	memset(text, 'y', sizeof(text));
	memcpy(text, "[database]\nconninfo = ", 22);
	strcpy(text + 198, "\n");  /* 198 bytes + newline: fits */
	tap_ok(config_load_string(&c, "t.conf", text, err, sizeof(err)) == 0,
	    "a 198-byte line is fine: %s", err);
}

int
main(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct config c;
		char err[256] = "";
		int r = config_load_string(&c, "t.conf", bad[i].text, err,
		    sizeof(err));

		tap_ok(r == -1 && strstr(err, bad[i].expect) != NULL,
		    "bad config %zu: want \"%s\", got \"%s\"", i, bad[i].expect,
		    err);
	}
	test_defaults();
	test_good();
	test_retry_edge();
	test_listen_edge();
	test_long_line();
	return tap_done();
}
