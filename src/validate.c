/* validate: the contract's field rules, from a parsed form to a request. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

enum kind {
	K_TEXT,		/* free text, limits only */
	K_EMAIL,
	K_PHONE,
	K_LOCATION,
	K_FLAG,		/* consent: only presence matters */
	K_HONEYPOT,
	K_KEY
};

/* One row per known field, in the contract's order, which is also the order
 * errors are reported in. */
struct rule {
	const char	*name;
	enum kind	 kind;
	bool		 required;
	bool		 multiline;
	size_t		 max;		/* code points; 0: no limit here */
	const char	*too_long;
	size_t		 off;		/* char * in struct appointment */
};

#define NO_SLOT	((size_t)-1)
#define SLOT(m)	offsetof(struct appointment, m)

static const struct rule rules[] = {
	{ "first_name", K_TEXT, 1, 0, 100, "must be at most 100 characters",
	    SLOT(first_name) },
	{ "last_name", K_TEXT, 1, 0, 100, "must be at most 100 characters",
	    SLOT(last_name) },
	{ "email", K_EMAIL, 0, 0, 0, NULL, SLOT(email) },
	{ "phone", K_PHONE, 0, 0, 0, NULL, SLOT(phone) },
	{ "location", K_LOCATION, 1, 0, 0, NULL, SLOT(location) },
	{ "service", K_TEXT, 0, 0, 200, "must be at most 200 characters",
	    SLOT(service) },
	{ "preferred_time", K_TEXT, 0, 0, 200,
	    "must be at most 200 characters", SLOT(preferred_time) },
	{ "message", K_TEXT, 0, 1, 5000, "must be at most 5000 characters",
	    SLOT(message) },
	{ "consent", K_FLAG, 0, 0, 0, NULL, NO_SLOT },
	{ "website", K_HONEYPOT, 0, 0, 0, NULL, NO_SLOT },
	{ "submission_id", K_KEY, 0, 0, 0, NULL, SLOT(submission_id) },
};
#define NRULES	(sizeof(rules) / sizeof(rules[0]))
#define R_EMAIL	2
#define R_PHONE	3

static const char why_nomem[] = "out of memory";

static size_t	 utf8_decode(const unsigned char *, size_t, uint32_t *);
static int	 is_space(uint32_t);
static int	 is_break(uint32_t);
static int	 is_control(uint32_t);
static const char *clean_text(const struct rule *, const char *, size_t,
		    char **);
static const char *judge(const struct rule *, const char *,
		    validate_location_fn, void *);
static const char *check_field(const struct rule *, const struct form *,
		    validate_location_fn, void *, char **);
static int	 filled_honeypot(const struct form *);

/* Decodes one code point; returns its length, or 0 if s does not start with
 * a shortest-form sequence for a scalar value (RFC 3629). */
static size_t
utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 n, i;
	uint32_t	 c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
		if (s[0] == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (s[0] == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
		if (s[0] == 0xf0)
			lo = 0x90;	/* overlong */
		else if (s[0] == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else
		return 0;
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	*cp = c;
	return n;
}

bool
utf8_valid(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, n;
	uint32_t		 c;

	for (i = 0; i < len; i += n)
		if ((n = utf8_decode(p + i, len - i, &c)) == 0)
			return false;
	return true;
}

size_t
utf8_length(const char *s, size_t len)
{
	size_t	 i, count = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			count++;
	return count;
}

/* Unicode White_Space, which is what a pasted value tends to carry. */
static int
is_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 ||
	    c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
	    c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
	    c == 0x3000 || c == 0xfeff;
}

static int
is_break(uint32_t c)
{
	return c == '\r' || c == '\n' || c == 0x85 || c == 0x2028 ||
	    c == 0x2029;
}

static int
is_control(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

/* Trims valid UTF-8 in place; stepping back over continuation bytes finds
 * each last code point. */
void
validate_trim(const char **sp, size_t *lenp)
{
	const unsigned char	*s = (const unsigned char *)*sp;
	size_t			 len = *lenp, n, start;
	uint32_t		 c;

	while (len > 0 && (n = utf8_decode(s, len, &c)) > 0 && is_space(c)) {
		s += n;
		len -= n;
	}
	while (len > 0) {
		for (start = len - 1; start > 0 && (s[start] & 0xc0) == 0x80;
		    start--)
			;
		if (utf8_decode(s + start, len - start, &c) == 0 ||
		    !is_space(c))
			break;
		len = start;
	}
	*sp = (const char *)s;
	*lenp = len;
}

/* Checks and copies a trimmed, valid value; in multi-line text every line
 * break (CRLF, CR, NEL, LS, PS) becomes "\n", which never lengthens it. */
static const char *
clean_text(const struct rule *r, const char *s, size_t len, char **out)
{
	const unsigned char	*p = (const unsigned char *)s;
	char			*d;
	size_t			 i, n, o = 0;
	uint32_t		 c;

	if ((d = malloc(len + 1)) == NULL)
		return why_nomem;
	for (i = 0; i < len; i += n) {
		n = utf8_decode(p + i, len - i, &c);
		if (is_break(c) && !r->multiline) {
			free(d);
			return "must be a single line";
		}
		if (is_break(c)) {
			if (c == '\r' && i + 1 < len && p[i + 1] == '\n')
				n++;
			d[o++] = '\n';
			continue;
		}
		if (is_control(c) && !(c == '\t' && r->multiline)) {
			free(d);
			return "contains control characters";
		}
		memcpy(d + o, p + i, n);
		o += n;
	}
	d[o] = '\0';
	if (r->max > 0 && utf8_length(d, o) > r->max) {
		free(d);
		return r->too_long;
	}
	*out = d;
	return NULL;
}

/* The field's own syntax, once it is clean text. */
static const char *
judge(const struct rule *r, const char *v, validate_location_fn location_ok,
    void *arg)
{
	size_t	 len = strlen(v);

	switch (r->kind) {
	case K_EMAIL:
		return validate_email(v, len) ? NULL :
		    "is not a valid email address";
	case K_PHONE:
		return validate_phone(v, len) ? NULL :
		    "is not a valid phone number";
	case K_LOCATION:
		if (!validate_slug(v, len) ||
		    (location_ok != NULL && !location_ok(v, arg)))
			return "is not an available location";
		return NULL;
	case K_KEY:
		return validate_key(v, len) ? NULL :
		    "must be 1-64 letters, digits, '-' or '_'";
	default:
		return NULL;
	}
}

/* Returns why the field fails, or NULL with *out the clean value (NULL when
 * absent or blank). */
static const char *
check_field(const struct rule *r, const struct form *f,
    validate_location_fn location_ok, void *arg, char **out)
{
	const struct form_field	*fld;
	const char		*v, *why;
	size_t			 len;

	*out = NULL;
	if (form_count(f, r->name) > 1)
		return "was given more than once";
	if ((fld = form_get(f, r->name)) == NULL)
		return r->required ? "is required" : NULL;
	v = fld->value;
	len = fld->value_len;
	if (!utf8_valid(v, len))
		return "is not valid UTF-8";
	validate_trim(&v, &len);
	if (len == 0)
		return r->required ? "is required" : NULL;
	if ((why = clean_text(r, v, len, out)) != NULL)
		return why;
	if ((why = judge(r, *out, location_ok, arg)) != NULL) {
		free(*out);
		*out = NULL;
	}
	return why;
}

/* The honeypot is never an error, so a bot learns nothing; any copy of it
 * with content, even undecodable content, marks the post. */
static int
filled_honeypot(const struct form *f)
{
	const char	*v;
	size_t		 i, len;

	for (i = 0; i < f->nfields; i++) {
		if (f->fields[i].name_len != 7 ||
		    memcmp(f->fields[i].name, "website", 7) != 0)
			continue;
		v = f->fields[i].value;
		len = f->fields[i].value_len;
		if (!utf8_valid(v, len))
			return 1;
		validate_trim(&v, &len);
		if (len > 0)
			return 1;
	}
	return 0;
}

int
validate_form(const struct form *f, validate_location_fn location_ok,
    void *arg, struct appointment *a, struct validate_errors *errs)
{
	const char	*why[NRULES];
	char		*v;
	size_t		 i;

	memset(a, 0, sizeof(*a));
	errs->n = 0;
	for (i = 0; i < NRULES; i++) {
		v = NULL;
		why[i] = NULL;
		if (rules[i].kind == K_HONEYPOT)
			a->honeypot = filled_honeypot(f);
		else
			why[i] = check_field(&rules[i], f, location_ok, arg,
			    &v);
		if (why[i] == why_nomem)
			return VALIDATE_NOMEM;
		if (rules[i].kind == K_FLAG)
			a->consent = v != NULL;
		if (rules[i].off == NO_SLOT)
			free(v);
		else
			*(char **)((char *)a + rules[i].off) = v;
	}
	if (why[R_EMAIL] == NULL && why[R_PHONE] == NULL &&
	    a->email == NULL && a->phone == NULL) {
		why[R_EMAIL] = "is required unless a phone number is given";
		why[R_PHONE] = "is required unless an email address is given";
	}
	for (i = 0; i < NRULES; i++) {
		if (why[i] == NULL)
			continue;
		errs->e[errs->n].field = rules[i].name;
		errs->e[errs->n].why = why[i];
		errs->n++;
	}
	return errs->n == 0 ? 0 : -1;
}

void
appointment_free(struct appointment *a)
{
	free(a->first_name);
	free(a->last_name);
	free(a->email);
	free(a->phone);
	free(a->location);
	free(a->service);
	free(a->preferred_time);
	free(a->message);
	free(a->submission_id);
	memset(a, 0, sizeof(*a));
}

static int
is_atext(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

/* RFC 5322 dot-atom: atext runs joined by single dots. */
static int
valid_local(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > 64 || s[0] == '.' || s[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] == '.' ? s[i + 1] == '.' : !is_atext(s[i]))
			return 0;
	return 1;
}

static int
is_ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

/* At least two labels of 1-63 letters, digits and inner hyphens. */
static int
valid_domain(const char *s, size_t len)
{
	size_t	 i, start = 0, labels = 0;

	for (i = 0; i <= len; i++) {
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
	return labels >= 2;
}

bool
validate_email(const char *s, size_t len)
{
	const char	*at;

	if (len > 254 || (at = memchr(s, '@', len)) == NULL)
		return false;
	return valid_local(s, at - s) &&
	    valid_domain(at + 1, len - (at - s) - 1);
}

bool
validate_phone(const char *s, size_t len)
{
	size_t	 i, digits = 0;

	for (i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else if (s[i] == '+' && i == 0)
			continue;
		else if (strchr(" -.()", s[i]) == NULL || s[i] == '\0')
			return false;
	}
	return digits >= 7 && digits <= 15;
}

bool
validate_key(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > 64)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

bool
validate_slug(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > 64 || s[0] == '-')
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}
