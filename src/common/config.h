/* config: the INI configuration, its key table, defaults and ranges. */
#ifndef FRONTDESK_CONFIG_H
#define FRONTDESK_CONFIG_H

#include <stddef.h>

#include "netaddr.h"

#define CONFIG_DEFAULT_PATH "/etc/frontdesk/frontdesk.conf"
#define CONFIG_STR 256  /* libinih's lines are < 200 bytes: a value fits */
/* [fastcgi] listen as a unix socket path: sun_path (108) less its NUL and
 * the ".PID.new" (pid up to 7 digits) of the private name bound first. */
#define CONFIG_LISTEN_PATH_MAX 95

enum config_tls { CONFIG_TLS_REQUIRED, CONFIG_TLS_OFF };
enum config_details { CONFIG_DETAILS_FULL, CONFIG_DETAILS_MINIMAL,
	CONFIG_DETAILS_NONE };
enum config_auth { CONFIG_AUTH_LOCAL, CONFIG_AUTH_REMOTE_USER };
enum config_second_factor { CONFIG_2FA_OFF, CONFIG_2FA_ADMINS,
	CONFIG_2FA_ALL };

struct config {
	char path[CONFIG_STR * 4];

	char db_conninfo[CONFIG_STR];

	char fcgi_listen[CONFIG_STR];     /* empty: inherited socket */
	long fcgi_socket_mode;
	long fcgi_threads;
	long fcgi_max_body;

	char http_prefix[CONFIG_STR];     /* no trailing slash; may be "" */
	char http_thank_you_url[CONFIG_STR];
	char http_trusted_proxies[CONFIG_STR];
	struct netaddr_cidr trusted[NETADDR_MAX_CIDRS];  /* parsed from it */
	size_t ntrusted;

	char smtp_url[CONFIG_STR];
	long smtp_tls;
	char smtp_ca_file[CONFIG_STR];
	char smtp_username[CONFIG_STR];
	char smtp_password_file[CONFIG_STR];
	char smtp_from[CONFIG_STR];
	char msgid_domain[CONFIG_STR];    /* derived: the domain of from */
	long smtp_timeout;

	char mail_default_to[CONFIG_STR];
	long mail_details;
	long mail_html;                   /* 0 off, 1 on */
	long mail_retry_min;
	long mail_retry_max;
	long mail_give_up_after;
	char mail_timezone[CONFIG_STR];   /* IANA name; empty: the system's */
	char mail_console_url[CONFIG_STR];  /* ends in '/'; empty: no link */
	char mail_alert_to[CONFIG_STR];
	long mail_alert_interval;

	long limits_per_ip_per_hour;

	char spool_dir[CONFIG_STR];
	long spool_max_size;              /* bytes of every file in it */

	char console_listen[CONFIG_STR];  /* empty: inherited socket */
	long console_socket_mode;
	long console_threads;
	char console_prefix[CONFIG_STR];  /* no trailing slash */
	char console_origin[CONFIG_STR];  /* empty: from the request */
	long console_auth;
	long console_second_factor;
	long console_idle_timeout;
	long console_session_max;
	long console_lockout_after;
	long console_lockout_seconds;
	char console_key_file[CONFIG_STR];  /* encrypts second-factor secrets */
};

/* Fills *c with the defaults, then reads `path`. Returns 0, or -1 with one
 * line in err naming the file, the line and the key. */
int config_load(struct config *c, const char *path, char *err, size_t errsize);
/* Same, from a string (for the unit tests); `name` stands for the file. */
int config_load_string(struct config *c, const char *name, const char *text,
    char *err, size_t errsize);
void config_defaults(struct config *c);

#endif
