/* text: UTF-8, character classes, and the checks of the short strings
 * every program meets (addresses, phone numbers, slugs, keys, URLs). Pure:
 * no allocation, no I/O. The one place these rules are written. */
#ifndef FRONTDESK_TEXT_H
#define FRONTDESK_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length of the shortest-form UTF-8 sequence for a scalar value at s (no
 * overlongs, surrogates or code points over U+10FFFF; RFC 3629), or 0 when
 * s does not start with one (or n is 0); *cp gets the code point. */
size_t text_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
bool text_utf8_valid(const char *s, size_t len);
/* Code points in valid UTF-8 (for invalid input: bytes that start one). */
size_t text_utf8_length(const char *s, size_t len);

/* Unicode White_Space (NBSP, the ideographic space, BOM as a ZWNBSP). */
bool text_is_space(uint32_t c);
/* A line break: CR, LF, NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR. */
bool text_is_break(uint32_t c);
/* A control character: C0, DEL or C1 (U+0080-U+009F). */
bool text_is_control(uint32_t c);
/* A bidirectional embedding, override or isolate control (U+202A-U+202E,
 * U+2066-U+2069), or a directional mark (LRM, RLM, ALM): invisible, and
 * able to make text show in another order than it is stored. */
bool text_is_bidi_control(uint32_t c);
/* An invisible format character (Unicode's Cf that shows nothing: soft
 * hyphen, ZWSP, ZWNJ, ZWJ, the word joiner and invisible operators, the
 * bidi controls and marks, BOM, tag characters). ZWNJ and ZWJ are needed
 * inside Persian, Arabic and Indic names: they are judged, not removed. */
bool text_is_invisible(uint32_t c);
/* Does s (valid UTF-8) show something: a code point that is neither white
 * space, a control, nor invisible? */
bool text_shows_something(const char *s, size_t len);
/* An ASCII control byte: C0 or DEL. */
bool text_is_ascii_control(unsigned char c);

/* RFC 5322 atext: what a dot-atom or a bare display-name word may hold. */
bool text_is_atext(char c);

/* Moves *s and *len past surrounding Unicode white space; stops at bytes
 * that are not valid UTF-8. Every form field is trimmed so. */
void text_trim(const char **s, size_t *len);
/* 1 to max_chars code points of valid UTF-8, no line break, control or
 * bidirectional control, showing something: the one-line fields' rules,
 * for a name an admin types (a location's, say). */
bool text_one_line(const char *s, size_t max_chars);
/* A name as an admin typed it, trimmed into out, then held to
 * text_one_line; false when nothing is left or it breaks a rule. */
bool text_name(const char *in, char *out, size_t size, size_t max_chars);

/* A patient's email address as the form accepts it: an RFC 5322 dot-atom
 * local part of at most 64 bytes at a public domain of two or more labels
 * (letters, digits, inner hyphens), 254 bytes in all. Reply-To and mailto:
 * links are made only from these. */
bool text_email_patient(const char *s, size_t len);
/* An address an operator configures (a route, default_to, From, an alert
 * recipient): the same dot-atom local part, but the domain may be one
 * label (root@localhost on a loopback relay). Every patient address is one.
 * TEXT_ADDR_MAX bytes at most. */
#define TEXT_ADDR_MAX 254
bool text_email_route(const char *s);
/* 7-15 digits once spaces, '-', '.', '(', ')' and one leading '+' go. */
bool text_phone(const char *s, size_t len);
/* An idempotency key: 1-64 of [A-Za-z0-9_-]. */
bool text_key(const char *s, size_t len);
/* A location's slug: 1-64 of [a-z0-9-], not starting with '-'. */
bool text_slug(const char *s, size_t len);
/* A thank-you URL we will redirect to: a path on this site ("/...", not
 * "//" or "/\") or an http(s):// URL; printable ASCII, at most
 * TEXT_URL_MAX bytes. */
#define TEXT_URL_MAX 500
bool text_redirect_url(const char *s);

/* YYYY-MM-DD, a real calendar date (leap years counted). */
bool text_date(const char *s);

/* The bare address of "Name <addr>" or "addr" (an [smtp] from) into out,
 * checked with text_email_route; 0 or -1. */
int text_addr_spec(const char *from, char *out, size_t size);
/* [mail] console_url: an http(s):// URL of a host (name, IPv4 or [IPv6])
 * and optional port, and a path ending in "/", of unreserved characters,
 * sub-delimiters, ':', '@' and percent-escapes only: no quotes, '&',
 * '(', ')', '?' or '#', so it stands in a header, a text line or an
 * HTML attribute as it is. At most 400 bytes. */
bool text_console_url(const char *url);

#endif
