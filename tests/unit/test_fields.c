/* test_fields: the one table of the form's fields (frontdesk/fields.c)
 * against the form that posts them: www/index.html.in (name=, maxlength=,
 * the <label>s) and www/form.js (LABELS) must agree with it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fields.h"
#include "tap.h"
#include "text.h"

static char *
slurp(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;
	char *s;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
	    (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (s = calloc(1, (size_t)n + 1)) == NULL ||
	    fread(s, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	return s;
}

/* The tag (from '<' to '>') that holds needle, or NULL. */
static char *
tag_with(const char *html, const char *needle, char *out, size_t size)
{
	const char *p = strstr(html, needle), *lt, *gt;

	if (p == NULL)
		return NULL;
	for (lt = p; lt > html && *lt != '<'; lt--)
		;
	if ((gt = strchr(p, '>')) == NULL || (size_t)(gt - lt + 1) >= size)
		return NULL;
	memcpy(out, lt, (size_t)(gt - lt + 1));
	out[gt - lt + 1] = '\0';
	return out;
}

int
main(int argc, char **argv)
{
	char *html, *js, needle[128], tag[1024];

	if (argc != 2) {
		fprintf(stderr, "usage: test_fields WWW-DIR\n");
		return 2;
	}
	html = slurp(argv[1], "index.html.in");
	js = slurp(argv[1], "form.js");
	tap_ok(fields_count <= FIELDS_MAX, "the table fits FIELDS_MAX");
	for (size_t i = 0; i < fields_count; i++) {
		const struct field *f = &fields[i];
		const char *label, *ml;

		tap_ok(fields_find(f->name) == f, "%s: found by name", f->name);
		snprintf(needle, sizeof(needle), "name=\"%s\"", f->name);
		if (tag_with(html, needle, tag, sizeof(tag)) == NULL)
			/* nginx's SSI writes the key's field, unquoted */
			snprintf(needle, sizeof(needle), "name=%s ", f->name);
		tap_ok(tag_with(html, needle, tag, sizeof(tag)) != NULL,
		    "%s: the form has the field", f->name);
		/* form.js shows the server's errors under these labels */
		snprintf(needle, sizeof(needle), "%s: \"%s\"", f->name, f->label);
		tap_ok(strstr(js, needle) != NULL, "%s: form.js LABELS says "
		    "\"%s\"", f->name, f->label);
		if (f->kind == FIELD_FLAG || f->kind == FIELD_HONEYPOT ||
		    f->kind == FIELD_KEY)
			continue;   /* their labels say what they are for */
		snprintf(needle, sizeof(needle), "<label for=\"%s\">", f->name);
		label = strstr(html, needle);
		tap_ok(label != NULL && strncmp(label + strlen(needle), f->label,
		    strlen(f->label)) == 0, "%s: the form's label is \"%s\"",
		    f->name, f->label);
		if (f->kind == FIELD_LOCATION || f->kind == FIELD_PHONE)
			continue;   /* a <select>; digits are counted, not bytes */
		snprintf(needle, sizeof(needle), "name=\"%s\"", f->name);
		tag_with(html, needle, tag, sizeof(tag));
		if (strncmp(tag, "<select", 7) == 0)
			continue;
		ml = strstr(tag, "maxlength=\"");
		tap_ok(ml != NULL && strtoul(ml + 11, NULL, 10) ==
		    (f->kind == FIELD_EMAIL ? TEXT_ADDR_MAX : f->max),
		    "%s: maxlength is the table's limit", f->name);
	}
	free(html);
	free(js);
	return tap_done();
}
