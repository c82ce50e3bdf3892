#!/usr/bin/python3
"""render-form: writes the appointment form (www/index.html) from its
template, with the active locations written into the page, so the form
works without JavaScript.

    frontdeskctl -c FILE location list --json | \\
        scripts/render-form.py -o /var/www/clinic/index.html

The locations are a JSON array of objects with "slug" and "name" (and
"active", when given, false for a disabled location): the output of
`frontdeskctl location list --json`, or of GET /api/locations. They are read
from FILE, or from stdin when FILE is omitted or "-". Rerun it after adding,
renaming, enabling or disabling a location (form.js also refreshes the list
from GET /api/locations when JavaScript runs).
"""
import argparse
import html
import json
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE = os.path.join(HERE, "..", "www", "index.html.in")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
PREFIX = re.compile(r"^(/[A-Za-z0-9._~-]+)*$")


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="render-form.py",
        description="Render the appointment form with its locations.")
    p.add_argument("locations", nargs="?", default="-",
                   help="JSON file of locations (default: stdin)")
    p.add_argument("-t", "--template", default=TEMPLATE,
                   help="the template (default: www/index.html.in)")
    p.add_argument("-o", "--output", default="-",
                   help="where to write the page (default: stdout)")
    p.add_argument("--prefix", default="/api",
                   help="frontdesk's [http] prefix (default: /api)")
    return p.parse_args(argv)


def load_locations(path):
    """The active locations as (slug, name), in their given order."""
    if path == "-":
        doc = json.load(sys.stdin)
    else:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    if not isinstance(doc, list):
        raise ValueError("expected a JSON array of locations")
    out = []
    for i, loc in enumerate(doc):
        if not isinstance(loc, dict):
            raise ValueError("location %d is not an object" % i)
        slug, name = loc.get("slug"), loc.get("name")
        if not isinstance(slug, str) or not SLUG.match(slug):
            raise ValueError("location %d: bad slug %r" % (i, slug))
        if not isinstance(name, str) or not name.strip():
            raise ValueError("location %s: missing name" % slug)
        if loc.get("active", True) is False:
            continue
        out.append((slug, name.strip()))
    if not out:
        raise ValueError("no active location: the form would be unusable")
    return out


def render(template, locations, prefix):
    for marker in ("@LOCATION_OPTIONS@", "@API_PREFIX@"):
        if marker not in template:
            raise ValueError("the template has no %s marker" % marker)
    options = "\n".join('<option value="%s">%s</option>'
                        % (html.escape(slug), html.escape(name))
                        for slug, name in locations)
    return (template.replace("@LOCATION_OPTIONS@", options)
            .replace("@API_PREFIX@", html.escape(prefix)))


def write_atomically(path, text):
    """A web server never serves a half-written page."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".index-", dir=d)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv):
    args = parse_args(argv)
    if not PREFIX.match(args.prefix):
        print("render-form: bad --prefix %r" % args.prefix, file=sys.stderr)
        return 2
    try:
        locations = load_locations(args.locations)
        with open(args.template, encoding="utf-8") as f:
            page = render(f.read(), locations, args.prefix)
    except (OSError, ValueError) as e:
        print("render-form: %s" % e, file=sys.stderr)
        return 1
    if args.output == "-":
        sys.stdout.write(page)
    else:
        write_atomically(args.output, page)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
