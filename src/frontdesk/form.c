/* form: urlencoded and multipart/form-data bodies into a bounded field list. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "form.h"

/* RFC 2046 caps a boundary at 70 characters. */
#define BOUNDARY_MAX	70
/* "\r\n--" before the boundary makes the delimiter. */
#define DELIM_MAX	(4 + BOUNDARY_MAX)

struct span {
	const char	*p;
	size_t		 n;
};

static void	 form_init(struct form *);
static int	 fail(struct form *, int, const char *, const char **);
static int	 add_field(struct form *, const char *, size_t, const char *,
		    size_t);
static int	 hex_value(char);
static int	 decode_pct(char *, const char *, size_t, size_t *);
static int	 add_pair(struct form *, const char *, size_t, const char **);
static bool	 is_ows(char);
static bool	 is_tspecial(char);
static int	 next_param(const char **, const char *, struct span *,
		    struct span *);
static size_t	 unquote(char *, const char *, size_t);
static int	 find_boundary(const char *, const char *, char *, size_t *);
static bool	 is_bchar(char);
static bool	 split_type(const char *, struct span *, const char **);
static bool	 type_is(struct span, const char *);
static const char *find_bytes(const char *, const char *, const char *,
		    size_t);
static bool	 delim_tail(const char *, const char *, const char **);
static const char *find_delim(const char *, const char *, const char *,
		    size_t, const char **);
static int	 split_parts(const char *, size_t, const char *, size_t,
		    struct span *, size_t *, const char **);
static int	 parse_disposition(const char *, const char *, struct span *);
static int	 parse_part(struct form *, struct span, const char **);

static void
form_init(struct form *f)
{
	memset(f, 0, sizeof(*f));
}

/* One exit for every parse error: the form is emptied so a caller can never
 * act on half a body. */
static int
fail(struct form *f, int rc, const char *reason, const char **why)
{
	form_free(f);
	if (why != NULL)
		*why = reason;
	return rc;
}

/* Copies are NUL-terminated for convenience; the lengths stay authoritative. */
static int
add_field(struct form *f, const char *name, size_t nlen, const char *value,
    size_t vlen)
{
	struct form_field *fld;

	if (f->nfields >= FORM_MAX_FIELDS)
		return FORM_TOO_MANY;
	fld = &f->fields[f->nfields];
	if ((fld->name = malloc(nlen + 1)) == NULL)
		return FORM_NOMEM;
	if ((fld->value = malloc(vlen + 1)) == NULL) {
		free(fld->name);
		fld->name = NULL;
		return FORM_NOMEM;
	}
	memcpy(fld->name, name, nlen);
	fld->name[nlen] = '\0';
	fld->name_len = nlen;
	memcpy(fld->value, value, vlen);
	fld->value[vlen] = '\0';
	fld->value_len = vlen;
	f->nfields++;
	return FORM_OK;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes into dst, which holds at least n bytes: decoding never grows. */
static int
decode_pct(char *dst, const char *s, size_t n, size_t *outlen)
{
	size_t	 i, o = 0;
	int	 hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			dst[o++] = ' ';
		else if (s[i] != '%')
			dst[o++] = s[i];
		else {
			if (n - i < 3 || (hi = hex_value(s[i + 1])) < 0 ||
			    (lo = hex_value(s[i + 2])) < 0)
				return -1;
			dst[o++] = (char)(hi << 4 | lo);
			i += 2;
		}
	}
	*outlen = o;
	return 0;
}

static int
add_pair(struct form *f, const char *p, size_t n, const char **why)
{
	const char	*eq;
	char		*buf;
	size_t		 nlen, vlen, rawn;
	int		 rc;

	if ((buf = malloc(n + 1)) == NULL)
		return fail(f, FORM_NOMEM, "out of memory", why);
	eq = memchr(p, '=', n);
	rawn = eq != NULL ? (size_t)(eq - p) : n;
	if (decode_pct(buf, p, rawn, &nlen) == -1 ||
	    (eq != NULL && decode_pct(buf + nlen, eq + 1, n - rawn - 1,
	    &vlen) == -1)) {
		free(buf);
		return fail(f, FORM_BAD, "bad percent-escape", why);
	}
	if (eq == NULL)
		vlen = 0;
	rc = add_field(f, buf, nlen, buf + nlen, vlen);
	free(buf);
	if (rc != FORM_OK)
		return fail(f, rc, rc == FORM_NOMEM ? "out of memory" :
		    "too many fields", why);
	return FORM_OK;
}

int
form_parse_urlencoded(struct form *f, const char *body, size_t len,
    const char **why)
{
	const char	*p, *amp, *end;
	size_t		 count = 0;
	int		 rc;

	form_init(f);
	/* A missing CONTENT_LENGTH may come as a NULL body. */
	if (len == 0)
		return FORM_OK;
	end = body + len;
	/* Count first: docs/interface.md ranks 413 above 400. */
	for (p = body; p < end; p = amp + 1) {
		if ((amp = memchr(p, '&', end - p)) == NULL)
			amp = end;
		if (amp > p && ++count > FORM_MAX_FIELDS)
			return fail(f, FORM_TOO_MANY, "too many fields", why);
	}
	for (p = body; p < end; p = amp + 1) {
		if ((amp = memchr(p, '&', end - p)) == NULL)
			amp = end;
		if (amp > p && (rc = add_pair(f, p, amp - p, why)) != FORM_OK)
			return rc;
	}
	return FORM_OK;
}

static bool
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 2045 tspecials plus white space and controls end a token. */
static bool
is_tspecial(char c)
{
	return (unsigned char)c <= ' ' || c == 0x7f ||
	    strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

/* Takes the next "; name=value" from [*pp, end). Returns 1 with the name and
 * the raw value (quotes kept, see unquote()), 0 at the end, -1 on bad
 * syntax. */
static int
next_param(const char **pp, const char *end, struct span *name,
    struct span *val)
{
	const char	*p = *pp;

	while (p < end && is_ows(*p))
		p++;
	if (p == end)
		return 0;
	if (*p++ != ';')
		return -1;
	while (p < end && is_ows(*p))
		p++;
	if (p == end)
		return 0;
	for (name->p = p; p < end && !is_tspecial(*p); p++)
		;
	if ((name->n = p - name->p) == 0)
		return -1;
	while (p < end && is_ows(*p))
		p++;
	if (p == end || *p++ != '=')
		return -1;
	while (p < end && is_ows(*p))
		p++;
	val->p = p;
	if (p < end && *p == '"') {
		for (p++; p < end && *p != '"'; p++)
			if (*p == '\\' && p + 1 < end)
				p++;
		if (p == end)
			return -1;
		p++;
	} else
		while (p < end && !is_tspecial(*p))
			p++;
	val->n = p - val->p;
	*pp = p;
	return 1;
}

/* Copies a raw parameter value into dst (at least n bytes), undoing the
 * quoted-string escapes. */
static size_t
unquote(char *dst, const char *v, size_t n)
{
	size_t	 i, o = 0;

	if (n < 2 || v[0] != '"') {
		memcpy(dst, v, n);
		return n;
	}
	for (i = 1; i < n - 1; i++) {
		if (v[i] == '\\' && i + 1 < n - 1)
			i++;
		dst[o++] = v[i];
	}
	return o;
}

/* RFC 2046 bchars; a space may not end a boundary. */
static bool
is_bchar(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("'()+_,-./:=? ", c) != NULL);
}

/* Finds the boundary parameter in [p, end) and copies it into out (at least
 * BOUNDARY_MAX bytes). Returns 0, -1 when there is none, -2 when it is
 * malformed. */
static int
find_boundary(const char *p, const char *end, char *out, size_t *outlen)
{
	struct span	 name, val;
	char		 tmp[2 * BOUNDARY_MAX + 2];
	size_t		 i, n;

	while (next_param(&p, end, &name, &val) == 1) {
		if (name.n != 8 || strncasecmp(name.p, "boundary", 8) != 0)
			continue;
		if (val.n > sizeof(tmp))
			return -2;
		n = unquote(tmp, val.p, val.n);
		if (n == 0 || n > BOUNDARY_MAX || tmp[n - 1] == ' ')
			return -2;
		for (i = 0; i < n; i++)
			if (!is_bchar(tmp[i]))
				return -2;
		memcpy(out, tmp, n);
		*outlen = n;
		return 0;
	}
	return -1;
}

/* Splits a Content-Type value into its media type and the parameters after
 * it; false when junk follows the type. */
static bool
split_type(const char *ct, struct span *type, const char **params)
{
	const char	*p = ct;

	while (is_ows(*p))
		p++;
	for (type->p = p; *p != '\0' && *p != ';' && !is_ows(*p); p++)
		;
	type->n = p - type->p;
	while (is_ows(*p))
		p++;
	*params = p;
	return *p == '\0' || *p == ';';
}

static bool
type_is(struct span type, const char *name)
{
	return type.n == strlen(name) && strncasecmp(type.p, name, type.n) == 0;
}

int
form_parse(struct form *f, const char *content_type, const char *body,
    size_t len, const char **why)
{
	struct span	 type;
	const char	*params;
	char		 boundary[BOUNDARY_MAX];
	size_t		 blen = 0;
	int		 rc;

	form_init(f);
	if (content_type == NULL ||
	    !split_type(content_type, &type, &params))
		return fail(f, FORM_UNSUPPORTED, "unsupported content type",
		    why);
	if (type_is(type, "application/x-www-form-urlencoded"))
		return form_parse_urlencoded(f, body, len, why);
	if (!type_is(type, "multipart/form-data"))
		return fail(f, FORM_UNSUPPORTED, "unsupported content type",
		    why);
	rc = find_boundary(params, params + strlen(params), boundary, &blen);
	if (rc == -1)
		return fail(f, FORM_BAD, "no boundary", why);
	if (rc == -2)
		return fail(f, FORM_BAD, "bad boundary", why);
	return form_parse_multipart(f, boundary, blen, body, len, why);
}

/* Our own memmem(): sanitizers check memmem's whole haystack on every call,
 * which makes a body of many false delimiters quadratic under test and
 * fuzzing. The needle's only CR is its first byte, so a compare never runs
 * past the next candidate and the scan stays linear. */
static const char *
find_bytes(const char *p, const char *end, const char *needle, size_t n)
{
	const char	*q;

	while (p < end && (q = memchr(p, needle[0], end - p)) != NULL) {
		if ((size_t)(end - q) < n)
			return NULL;
		if (memcmp(q, needle, n) == 0)
			return q;
		p = q + 1;
	}
	return NULL;
}

/* Judges what follows a boundary at q: "--" is the close (*next = NULL),
 * padding and CRLF a delimiter line (*next = the part after it). Returns
 * false when q does not end a delimiter at all. */
static bool
delim_tail(const char *q, const char *end, const char **next)
{
	if (end - q >= 2 && q[0] == '-' && q[1] == '-') {
		*next = NULL;
		return true;
	}
	while (q < end && is_ows(*q))
		q++;
	if (end - q >= 2 && q[0] == '\r' && q[1] == '\n') {
		*next = q + 2;
		return true;
	}
	return false;
}

/* Finds the next "\r\n--boundary" at or after p that delim_tail() accepts.
 * The boundary holds no CR, so a delimiter never overlaps itself and a miss
 * can be skipped whole. */
static const char *
find_delim(const char *p, const char *end, const char *delim, size_t dlen,
    const char **next)
{
	const char	*d;

	while ((d = find_bytes(p, end, delim, dlen)) != NULL) {
		if (delim_tail(d + dlen, end, next))
			return d;
		p = d + dlen;
	}
	return NULL;
}

/* Cuts the body into parts; the count is judged before any part is, since
 * docs/interface.md ranks 413 above 400. */
static int
split_parts(const char *body, size_t len, const char *delim, size_t dlen,
    struct span *parts, size_t *nparts, const char **why)
{
	const char	*end = body + len, *d, *next;

	*nparts = 0;
	/* The first delimiter may open the body without a CRLF before it. */
	if (!(len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0 &&
	    delim_tail(body + dlen - 2, end, &next)) &&
	    find_delim(body, end, delim, dlen, &next) == NULL) {
		*why = "no opening boundary";
		return FORM_BAD;
	}
	while (next != NULL) {
		if (*nparts == FORM_MAX_FIELDS) {
			*why = "too many fields";
			return FORM_TOO_MANY;
		}
		parts[*nparts].p = next;
		if ((d = find_delim(next, end, delim, dlen, &next)) == NULL) {
			*why = "no closing boundary";
			return FORM_BAD;
		}
		parts[*nparts].n = d - parts[*nparts].p;
		(*nparts)++;
	}
	return FORM_OK;
}

/* Parses a Content-Disposition value in [p, end): form-data and its name.
 * Returns 0 with the raw name, -1 when malformed or nameless. */
static int
parse_disposition(const char *p, const char *end, struct span *name)
{
	struct span	 pn, pv;
	const char	*t;
	int		 rc;

	while (p < end && is_ows(*p))
		p++;
	for (t = p; p < end && !is_tspecial(*p); p++)
		;
	if (p - t != 9 || strncasecmp(t, "form-data", 9) != 0)
		return -1;
	name->p = NULL;
	while ((rc = next_param(&p, end, &pn, &pv)) == 1)
		if (name->p == NULL && pn.n == 4 &&
		    strncasecmp(pn.p, "name", 4) == 0)
			*name = pv;
	return rc == 0 && name->p != NULL ? 0 : -1;
}

/* Headers end at an empty line; bare LF is tolerated there, as most
 * servers do. Only Content-Disposition matters to a form. */
static int
parse_part(struct form *f, struct span part, const char **why)
{
	static const char cd[] = "content-disposition:";
	const char	*p = part.p, *end = part.p + part.n, *eol, *le;
	struct span	 raw = { NULL, 0 };
	char		*name;
	size_t		 nlen;
	int		 rc;

	for (;;) {
		if ((eol = memchr(p, '\n', end - p)) == NULL) {
			*why = "part without header/body separator";
			return FORM_BAD;
		}
		le = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		if (le == p)
			break;
		if ((size_t)(le - p) >= sizeof(cd) - 1 &&
		    strncasecmp(p, cd, sizeof(cd) - 1) == 0) {
			if (raw.p != NULL || parse_disposition(p + sizeof(cd) -
			    1, le, &raw) == -1) {
				*why = "bad content-disposition";
				return FORM_BAD;
			}
		}
		p = eol + 1;
	}
	if (raw.p == NULL) {
		*why = "part without a name";
		return FORM_BAD;
	}
	if ((name = malloc(raw.n + 1)) == NULL) {
		*why = "out of memory";
		return FORM_NOMEM;
	}
	nlen = unquote(name, raw.p, raw.n);
	rc = add_field(f, name, nlen, eol + 1, end - (eol + 1));
	free(name);
	if (rc != FORM_OK)
		*why = rc == FORM_NOMEM ? "out of memory" : "too many fields";
	return rc;
}

int
form_parse_multipart(struct form *f, const char *boundary, size_t boundary_len,
    const char *body, size_t len, const char **why)
{
	struct span	 parts[FORM_MAX_FIELDS];
	char		 delim[DELIM_MAX];
	const char	*reason = NULL;
	size_t		 i, nparts;
	int		 rc;

	form_init(f);
	if (boundary == NULL || boundary_len == 0 ||
	    boundary_len > BOUNDARY_MAX ||
	    memchr(boundary, '\r', boundary_len) != NULL)
		return fail(f, FORM_BAD, "bad boundary", why);
	/* A missing CONTENT_LENGTH is an empty body: an empty form. */
	if (len == 0)
		return FORM_OK;
	memcpy(delim, "\r\n--", 4);
	memcpy(delim + 4, boundary, boundary_len);
	rc = split_parts(body, len, delim, 4 + boundary_len, parts, &nparts,
	    &reason);
	for (i = 0; rc == FORM_OK && i < nparts; i++)
		rc = parse_part(f, parts[i], &reason);
	if (rc != FORM_OK)
		return fail(f, rc, reason, why);
	return FORM_OK;
}

const struct form_field *
form_get(const struct form *f, const char *name)
{
	size_t	 i, n = strlen(name);

	for (i = 0; i < f->nfields; i++)
		if (f->fields[i].name_len == n &&
		    memcmp(f->fields[i].name, name, n) == 0)
			return &f->fields[i];
	return NULL;
}

size_t
form_count(const struct form *f, const char *name)
{
	size_t	 i, n = strlen(name), count = 0;

	for (i = 0; i < f->nfields; i++)
		if (f->fields[i].name_len == n &&
		    memcmp(f->fields[i].name, name, n) == 0)
			count++;
	return count;
}

void
form_free(struct form *f)
{
	size_t	 i;

	for (i = 0; i < f->nfields; i++) {
		free(f->fields[i].name);
		free(f->fields[i].value);
	}
	memset(f, 0, sizeof(*f));
}
