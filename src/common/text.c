/* text: UTF-8, character classes, and the checks of short strings. */
#include <stdlib.h>
#include <string.h>

#include "text.h"

size_t
text_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;
	uint32_t c;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3, c = s[0] & 0x0f;
		if (s[0] == 0xe0)
			lo = 0xa0;      /* overlong */
		else if (s[0] == 0xed)
			hi = 0x9f;      /* surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4, c = s[0] & 0x07;
		if (s[0] == 0xf0)
			lo = 0x90;      /* overlong */
		else if (s[0] == 0xf4)
			hi = 0x8f;      /* above U+10FFFF */
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	*cp = c;
	return len;
}

bool
text_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t c;

	for (size_t i = 0, n; i < len; i += n)
		if ((n = text_utf8_decode(p + i, len - i, &c)) == 0)
			return false;
	return true;
}

size_t
text_utf8_length(const char *s, size_t len)
{
	size_t count = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			count++;
	return count;
}

bool
text_is_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 ||
	    c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
	    c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
	    c == 0x3000 || c == 0xfeff;
}

bool
text_is_break(uint32_t c)
{
	return c == '\r' || c == '\n' || c == 0x85 || c == 0x2028 ||
	    c == 0x2029;
}

bool
text_is_control(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

bool
text_is_ascii_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

bool
text_is_bidi_control(uint32_t c)
{
	return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
	    c == 0x200e || c == 0x200f || c == 0x061c;
}

bool
text_is_invisible(uint32_t c)
{
	return c == 0x00ad || c == 0x034f || c == 0x061c || c == 0x115f ||
	    c == 0x1160 || c == 0x17b4 || c == 0x17b5 || c == 0x180e ||
	    (c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) ||
	    (c >= 0x2060 && c <= 0x206f) || c == 0x3164 || c == 0xfeff ||
	    c == 0xffa0 || (c >= 0xfff0 && c <= 0xfffb) ||
	    (c >= 0xe0000 && c <= 0xe0fff);
}

bool
text_shows_something(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t c;

	for (size_t i = 0, n; i < len; i += n) {
		if ((n = text_utf8_decode(p + i, len - i, &c)) == 0)
			return true;   /* not ours to judge: invalid is refused */
		if (!text_is_space(c) && !text_is_control(c) &&
		    !text_is_invisible(c))
			return true;
	}
	return false;
}

void
text_trim(const char **sp, size_t *lenp)
{
	const unsigned char *s = (const unsigned char *)*sp;
	size_t len = *lenp, n, start;
	uint32_t c;

	while (len > 0 && (n = text_utf8_decode(s, len, &c)) > 0 &&
	    text_is_space(c)) {
		s += n;
		len -= n;
	}
	/* Stepping back over continuation bytes finds each last code point. */
	while (len > 0) {
		for (start = len - 1; start > 0 && (s[start] & 0xc0) == 0x80;
		    start--)
			;
		if (text_utf8_decode(s + start, len - start, &c) == 0 ||
		    !text_is_space(c))
			break;
		len = start;
	}
	*sp = (const char *)s;
	*lenp = len;
}

bool
text_one_line(const char *s, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), n;
	uint32_t c;

	if (len == 0 || !text_utf8_valid(s, len) ||
	    text_utf8_length(s, len) > max_chars)
		return false;
	for (size_t i = 0; i < len; i += n) {
		n = text_utf8_decode(p + i, len - i, &c);
		if (text_is_control(c) || text_is_break(c) ||
		    text_is_bidi_control(c))
			return false;
	}
	return text_shows_something(s, len);
}

bool
text_name(const char *in, char *out, size_t size, size_t max_chars)
{
	size_t n = strlen(in);

	text_trim(&in, &n);
	if (n == 0 || n >= size)
		return false;
	memcpy(out, in, n);
	out[n] = '\0';
	return text_one_line(out, max_chars);
}

bool
text_is_atext(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

/* RFC 5322 dot-atom: atext runs joined by single dots, 1-64 bytes. */
static bool
valid_local(const char *s, size_t len)
{
	if (len == 0 || len > 64 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '.' ? s[i + 1] == '.' : !text_is_atext(s[i]))
			return false;
	return true;
}

static bool
is_ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

/* Labels of 1-63 letters, digits and inner hyphens, joined by dots:
 * how many, or 0 when it is not such a domain. */
static size_t
domain_labels(const char *s, size_t len)
{
	size_t start = 0, labels = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			if (!is_ldh(s[i]))
				return 0;
			continue;
		}
		if (i == start || i - start > 63 || s[start] == '-' ||
		    s[i - 1] == '-')
			return 0;
		labels++;
		start = i + 1;
	}
	return labels;
}

/* The local part and the domain's labels, or 0 labels when malformed. */
static size_t
email_labels(const char *s, size_t len)
{
	const char *at;

	if (len > TEXT_ADDR_MAX || (at = memchr(s, '@', len)) == NULL ||
	    !valid_local(s, (size_t)(at - s)))
		return 0;
	return domain_labels(at + 1, len - (size_t)(at - s) - 1);
}

bool
text_email_patient(const char *s, size_t len)
{
	return email_labels(s, len) >= 2;
}

bool
text_email_route(const char *s)
{
	return email_labels(s, strlen(s)) >= 1;
}

bool
text_phone(const char *s, size_t len)
{
	size_t digits = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else if (s[i] == '+' && i == 0)
			continue;
		else if (s[i] == '\0' || strchr(" -.()", s[i]) == NULL)
			return false;
	}
	return digits >= 7 && digits <= 15;
}

bool
text_key(const char *s, size_t len)
{
	if (len == 0 || len > 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

bool
text_slug(const char *s, size_t len)
{
	if (len == 0 || len > 64 || s[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

bool
text_redirect_url(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > TEXT_URL_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	if (s[0] == '/')
		return s[1] != '/' && s[1] != '\\';
	return (strncmp(s, "https://", 8) == 0 && len > 8) ||
	    (strncmp(s, "http://", 7) == 0 && len > 7);
}

bool
text_date(const char *s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	/* February 29th only in a leap year. */
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) ||
	    y % 400 == 0))
		return false;
	return true;
}

int
text_addr_spec(const char *from, char *out, size_t size)
{
	const char *lt = strrchr(from, '<'), *s = from;
	size_t n;

	if (lt != NULL) {
		s = lt + 1;
		n = strcspn(s, ">");
		if (s[n] != '>' || s[n + 1 + strspn(s + n + 1, " \t")] != '\0')
			return -1;
	} else {
		s += strspn(s, " \t");
		n = strcspn(s, " \t");
		if (s[n + strspn(s + n, " \t")] != '\0')
			return -1;
	}
	if (n == 0 || n >= size)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return text_email_route(out) ? 0 : -1;
}

static bool
url_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static bool
url_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* host, [IPv6] or host:port up to the path's "/"; the length or 0. */
static size_t
url_authority(const char *s)
{
	size_t i = 0;

	if (s[0] == '[') {
		for (i = 1; url_hex((unsigned char)s[i]) || s[i] == ':' ||
		    s[i] == '.'; i++)
			;
		if (i == 1 || s[i] != ']')
			return 0;
		i++;
	} else {
		for (; url_alnum((unsigned char)s[i]) || s[i] == '-' ||
		    s[i] == '.'; i++)
			;
		if (i == 0 || s[0] == '.' || s[0] == '-')
			return 0;
	}
	if (s[i] == ':') {
		size_t d = ++i;

		while (s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d || i - d > 5)
			return 0;
	}
	return s[i] == '/' ? i : 0;
}

bool
text_console_url(const char *url)
{
	const char *p;
	size_t n, a;

	if (url == NULL || (n = strlen(url)) == 0 || n > 400 ||
	    url[n - 1] != '/')
		return false;
	if (strncmp(url, "https://", 8) == 0)
		p = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		p = url + 7;
	else
		return false;
	if ((a = url_authority(p)) == 0)
		return false;
	for (p += a; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '%') {
			if (!url_hex((unsigned char)p[1]) ||
			    !url_hex((unsigned char)p[2]))
				return false;
			p += 2;
		} else if (!url_alnum(c) && strchr("-._~/!$*+,;=:@", c) == NULL)
			return false;
	}
	return true;
}
