#!/usr/bin/python3
"""run_browser: starts the whole stack (PostgreSQL, frontdesk, nginx serving
the clinic's form with the shipped nginx files, an SMTP server writing a
maildir, the mailer), renders the form from `frontdeskctl location list
--json` as a deployment would, then runs test_form.mjs in headless Chromium
and relays its TAP."""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import fdtest  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
PLAYWRIGHT = os.path.join(HERE, "node_modules", "playwright-core")
EXTRA_LOCATION = ("brooklyn", "Brooklyn Heights (added later)")


def skip_reason():
    if shutil.which("node") is None:
        return "node is not installed (apt-get install nodejs)"
    if not os.access(CHROMIUM, os.X_OK):
        return "%s is missing (apt-get install chromium)" % CHROMIUM
    if not os.path.isdir(PLAYWRIGHT):
        return "playwright-core is not installed (cd tests/browser && " \
               "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install)"
    return None


def served_www():
    """A copy of www/ to serve: the test renders index.html into it."""
    www = tempfile.mkdtemp(prefix="fdtest-www-")
    fdtest._cleanups.append(lambda: shutil.rmtree(www, ignore_errors=True))
    shutil.copytree(os.path.join(fdtest.SOURCE, "www"), www,
                    dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.in"))
    os.chmod(www, 0o755)
    return www


def nginx_extras(www):
    """The site-level bits a real server has: MIME types (Chromium refuses
    a stylesheet served as text/plain) and the shipped form and thank-you
    files."""
    path = os.path.join(www, "..", os.path.basename(www) + "-site.conf")
    with open(path, "w") as f:
        f.write("include /etc/nginx/mime.types;\n")
        for name in ("thank-you.conf", "form.conf"):
            f.write("include %s;\n" % os.path.join(fdtest.SOURCE, "conf",
                                                   "nginx", name))
    fdtest._cleanups.append(lambda: os.unlink(path))
    return [path]


def render_form(stack, www):
    listing = stack.ctl("location", "list", "--json").stdout
    r = subprocess.run([fdtest.PYTHON, os.path.join(fdtest.SOURCE, "scripts",
                        "render-form.py"), "-o",
                        os.path.join(www, "index.html")],
                       input=listing, capture_output=True)
    if r.returncode != 0:
        raise AssertionError("render-form.py: " + r.stderr.decode())
    # The same page where form.conf's SSI does not reach: a site that
    # serves the form without it.
    os.makedirs(os.path.join(www, "plain"), exist_ok=True)
    shutil.copy(os.path.join(www, "index.html"),
                os.path.join(www, "plain", "index.html"))


def main():
    why = skip_reason()
    if why:
        print("1..0 # SKIP " + why)
        return 0
    www = served_www()
    cluster = fdtest.Cluster()
    stack = fdtest.Stack(cluster, www=www, nginx_includes=nginx_extras(www),
                         conf={"limits": {"per_ip_per_hour": "0"}})
    # A whole maildir: aiosmtpd's Mailbox makes tmp/, new/ and cur/ only
    # when it makes the folder itself, and Stack makes the folder.
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(stack.maildir, sub), exist_ok=True)
    stack.start_smtp()
    stack.start_mailer()
    render_form(stack, www)
    # Added after rendering: only form.js's refresh can show it.
    stack.ctl("location", "add", EXTRA_LOCATION[0], "--name",
              EXTRA_LOCATION[1])
    env = dict(os.environ,
               FD_BASE_URL="http://127.0.0.1:%d" % stack.port,
               FD_MAILDIR=stack.maildir,
               FD_WWW=www,
               FD_EXTRA_LOCATION=EXTRA_LOCATION[0],
               FRONTDESK_BUILD=fdtest.BUILD,
               PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
    try:
        rc = subprocess.run(["node", os.path.join(HERE, "test_form.mjs")],
                            env=env, cwd=HERE, timeout=900).returncode
    except subprocess.TimeoutExpired:
        print("Bail out! test_form.mjs ran over 15 minutes")
        rc = 1
    if rc != 0:
        for name in ("frontdesk", "mailer", "nginx-error", "smtp"):
            for line in stack.log(name).splitlines()[-30:]:
                print("# %s: %s" % (name, line))
    sys.stdout.flush()
    return rc


if __name__ == "__main__":
    rc = main()
    fdtest._cleanup()
    sys.exit(rc)
