/* route: who gets a location's email (route.h). */
#include <string.h>
#include <strings.h>

#include "route.h"
#include "text.h"

/* Adds addr to the envelope unless it is there already; false if so. */
static bool
route_envelope(struct route_rcpts *r, const char *addr)
{
	for (size_t i = 0; i < r->nall; i++)
		if (strcasecmp(r->all[i], addr) == 0)
			return false;
	r->all[r->nall++] = addr;
	return true;
}

static void
route_add(struct route_rcpts *r, const char *addr, const char *kind)
{
	const char **list;
	size_t *n;

	if (strcmp(kind, "cc") == 0)
		list = r->cc, n = &r->ncc;
	else if (strcmp(kind, "bcc") == 0)
		list = r->bcc, n = &r->nbcc;
	else if (strcmp(kind, "to") == 0)
		list = r->to, n = &r->nto;
	else {
		r->skipped++;
		return;
	}
	if (!text_email_route(addr) || *n >= ROUTE_MAX_RCPTS) {
		r->skipped++;
		return;
	}
	if (route_envelope(r, addr))
		list[(*n)++] = addr;
}

/* Splits default_to into `spare` and adds each address as a To. */
static void
route_default(struct route_rcpts *r, const char *default_to)
{
	char *p = r->spare;
	size_t n = strlen(default_to);

	if (n >= sizeof(r->spare))
		n = sizeof(r->spare) - 1;
	memcpy(r->spare, default_to, n);
	r->spare[n] = '\0';
	r->fallback = true;
	while (*p != '\0') {
		size_t len;

		p += strspn(p, ", ;\t");
		len = strcspn(p, ", ;\t");
		if (len == 0)
			break;
		if (p[len] != '\0')
			p[len++] = '\0';
		route_add(r, p, "to");
		p += len;
	}
}

size_t
route_resolve(struct route_rcpts *r, const char *const *emails,
    const char *const *kinds, size_t n, const char *default_to)
{
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < n; i++)
		route_add(r, emails[i], kinds[i]);
	if (r->nall == 0)
		route_default(r, default_to ? default_to : "");
	return r->nall;
}
