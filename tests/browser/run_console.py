#!/usr/bin/python3
"""run_console: the staff console in a real browser. Starts the whole
stack: PostgreSQL, frontdesk and the mailer (an SMTP server that turns
some mail away, so requests have failed deliveries), frontdesk-console,
and nginx serving www/ (the clinic's form) and www/console/ with the
shipped conf/nginx/console.conf. Makes accounts with `frontdeskctl user
add` and requests through the real form endpoint, then runs
test_console.mjs in headless Chromium and relays its TAP.

Two more nginx servers: one on another site (http://localhost:PORT, while
the console is http://127.0.0.1:PORT) with a page holding each email's
console link, for the cross-site navigation SameSite=Strict cookies do not
follow; one in front of a second console with a 12-second idle timeout,
for the idle timer; and one with the shipped console-remote-user.conf in
front of a third console with auth = remote_user, signing people in
through a stand-in SSO (one more nginx server)."""
import ctypes
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import fdtest  # noqa: E402
import run_browser  # noqa: E402

PASSWORDS = {
    "ada.admin": "admin pass phrase one",
    "sam.desk": "staff pass phrase two",
    "wes.desk": "woodbury pass phrase",
    "ivy.idle": "idle pass phrase four",
}
SHORT_IDLE = 12


def skip_reason():
    why = run_browser.skip_reason()
    if why:
        return why
    if not os.path.isdir(os.path.join(HERE, "node_modules", "@axe-core",
                                      "playwright")):
        return "@axe-core/playwright is not installed (cd tests/browser " \
               "&& PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install)"
    if not os.access(os.path.join(fdtest.BUILD, "frontdesk-console"),
                     os.X_OK):
        return "frontdesk-console is not built"
    return None


def console_role(cluster):
    """fdt_console, a login role in frontdesk_console (fdtest makes it
    when it knows the console's role; this works either way)."""
    cluster.psql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE "
                 "rolname = 'fdt_console') THEN CREATE ROLE fdt_console "
                 "LOGIN IN ROLE frontdesk_console; END IF; END $$")


def start_console(stack, name, **console):
    """frontdesk-console as its own role on a socket of its own; returns
    the socket's path."""
    sock = os.path.join(stack.dir, name + ".sock")
    key = os.path.join(stack.dir, name + ".key")
    if not os.path.exists(key):
        with open(key, "w") as f:
            f.write(os.urandom(32).hex() + "\n")
        os.chmod(key, 0o600)
    conf = stack.conf_as("console")
    conf["console"] = dict({"listen": sock, "socket_mode": "0666",
                            "threads": "4", "key_file": key}, **console)
    p = fdtest.spawn([stack.program("frontdesk-console"), "-c",
                      stack.write_conf(name + ".conf", conf)],
                     os.path.join(stack.dir, name + ".log"))
    fdtest.wait_for(lambda: os.path.exists(sock) or p.poll() is not None,
                    what=name + " socket")
    if p.poll() is not None:
        raise AssertionError(name + " exited: " + stack.log(name))
    return sock


def console_location(stack, name, sock):
    """The shipped console.conf with this console's socket put in."""
    with open(os.path.join(fdtest.SOURCE, "conf", "nginx",
                           "console.conf")) as f:
        text = f.read()
    assert "/run/frontdesk/console.sock" in text
    path = os.path.join(stack.dir, name + "-location.conf")
    with open(path, "w") as f:
        f.write(text.replace("/run/frontdesk/console.sock", sock))
    return path


SSO = """
# A stand-in for the SSO service's auth endpoint: the user is whoever the
# cookie "sso" names; no cookie, 401.
location = /oauth2/auth {
    if ($cookie_sso = "") {
        return 401;
    }
    add_header X-Auth-Request-User $cookie_sso;
    return 200;
}
location /oauth2/sign_in {
    default_type text/html;
    return 200 "<!doctype html><title>SSO</title><p>Sign in here</p>";
}
"""


def remote_user_location(stack, sock, sso_port):
    """The shipped console-remote-user.conf with this console's socket
    and the stand-in SSO put in."""
    with open(os.path.join(fdtest.SOURCE, "conf", "nginx",
                           "console-remote-user.conf")) as f:
        text = f.read()
    assert "/run/frontdesk/console.sock" in text and "127.0.0.1:4180" in text
    path = os.path.join(stack.dir, "console-remote-user.conf")
    with open(path, "w") as f:
        f.write(text.replace("/run/frontdesk/console.sock", sock)
                .replace("127.0.0.1:4180", "127.0.0.1:%d" % sso_port))
    return path


def extra_nginx(stack, name, root, includes):
    """Another nginx (its own folder, pid and logs); returns its port."""
    d = fdtest.tempdir("fdtest-%s-" % name)
    os.chmod(d, 0o755)
    port = fdtest.free_port()
    conf = fdtest.nginx_conf(d, port, root, includes)
    fdtest.spawn(["nginx", "-e", os.path.join(d, "error.log"), "-p", d,
                  "-c", conf], os.path.join(d, "nginx.out"))
    fdtest.wait_for(lambda: stack._port_open(port) and os.path.exists(
        os.path.join(d, "nginx.pid")), what=name + " nginx port")
    return port


def sodium_hash(password):
    """An argon2id hash as the console stores them (crypto_pwhash_str with
    the interactive limits), for when frontdeskctl has no `user add`."""
    lib = ctypes.CDLL("libsodium.so.23")
    assert lib.sodium_init() >= 0
    out = ctypes.create_string_buffer(128)
    pw = password.encode()
    lib.crypto_pwhash_str.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                                      ctypes.c_ulonglong,
                                      ctypes.c_ulonglong, ctypes.c_size_t]
    assert lib.crypto_pwhash_str(out, pw, len(pw), 2, 67108864) == 0
    return out.value.decode()


def add_user(stack, name, role, locations):
    """frontdeskctl user add NAME --role R [--location S]...
    --password-stdin; while frontdeskctl has no `user` command yet, the
    same row by SQL (and the test says so)."""
    args = [stack.program("frontdeskctl"), "-c", stack.admin_conf_path,
            "user", "add", name, "--role", role, "--password-stdin"]
    for slug in locations:
        args += ["--location", slug]
    r = subprocess.run(args, input=(PASSWORDS[name] + "\n").encode(),
                       capture_output=True)
    if r.returncode == 0:
        return "frontdeskctl"
    if r.returncode != 2:
        raise AssertionError("frontdeskctl user add %s: exit %d: %s" % (
            name, r.returncode, r.stderr.decode()))
    stack.sql("INSERT INTO users (username, role, password_hash) VALUES "
              "(:'p1', :'p2', :'p3')",
              params=(name, role, sodium_hash(PASSWORDS[name])))
    for slug in locations:
        stack.sql("INSERT INTO user_locations (user_id, location_id) "
                  "SELECT u.id, l.id FROM users u, locations l WHERE "
                  "u.username = :'p1' AND l.slug = :'p2'",
                  params=(name, slug))
    return "sql"


PATIENTS = [
    ("Maria", "Gonzalez", "midtown", "(212) 555-0143"),
    ("James", "O'Neil", "fidi", "(212) 555-0188"),
    ("Aisha", "Rahman", "midtown", "(646) 555-0101"),
    ("Wei", "Chen", "fidi", "(917) 555-0123"),
    ("Dmitri", "Volkov", "woodbury", "(516) 555-0199"),
    ("Sofia", "Rossi", "midtown", "(212) 555-0175"),
]


def make_requests(stack):
    """70 requests through POST /api/appointments (58 for Midtown and the
    Financial District together: more than a page of 50), one caught by
    the honeypot. Returns their references by name."""
    refs = {}
    for i in range(70):
        first, last, loc, phone = PATIENTS[i % len(PATIENTS)]
        if i >= len(PATIENTS):
            first = "%s%d" % (first, i)
        r = stack.post(fdtest.maria(first_name=first, last_name=last,
                                    location=loc, phone=phone,
                                    email="%s.%s@example.com" % (
                                        first.lower(), i)))
        assert r.status == 201, r
        refs[first] = r.json()["reference"]
    r = stack.post(fdtest.maria(first_name="Spammy", last_name="Bot",
                                website="http://spam.example/"))
    assert r.status == 201, r
    refs["Spammy"] = r.json()["reference"]
    return refs


def mail_links(stack):
    """The console link in each notification, by reference."""
    out = {}
    for m in stack.messages():
        body = m.get_body(preferencelist=("plain",))
        text = body.get_content() if body else ""
        for word in text.split():
            if "/console/requests/FD-" in word:
                out[word.rsplit("/", 1)[1]] = word
    return out


def wait_mail(stack, refs):
    """Until every request's mail is sent or dead (Woodbury's dead)."""
    fdtest.wait_for(lambda: stack.count(
        "outbox", "status IN ('pending', 'sending')") == 0, timeout=120,
        what="the outbox to drain")


def main():
    why = skip_reason()
    if why:
        print("1..0 # SKIP " + why)
        return 0
    www = run_browser.served_www()
    cluster = fdtest.Cluster()
    stack = fdtest.Stack(cluster, www=www,
                         nginx_includes=run_browser.nginx_extras(www),
                         start=False,
                         conf={"limits": {"per_ip_per_hour": "0"}})
    console_role(cluster)
    base = "http://127.0.0.1:%d" % stack.port
    stack.conf["mail"]["console_url"] = base + "/console/"
    stack.rewrite_confs()
    sock = start_console(stack, "console")
    short = start_console(stack, "console-idle", idle_timeout=str(
        SHORT_IDLE), session_max="60")
    stack.nginx_includes.append(console_location(stack, "console", sock))
    stack.start_frontdesk()
    stack.start_nginx()
    run_browser.render_form(stack, www)

    how = {}
    how["ada.admin"] = add_user(stack, "ada.admin", "admin", [])
    how["sam.desk"] = add_user(stack, "sam.desk", "staff",
                               ["midtown", "fidi"])
    how["wes.desk"] = add_user(stack, "wes.desk", "staff", ["woodbury"])
    how["ivy.idle"] = add_user(stack, "ivy.idle", "staff", ["midtown"])

    refs = make_requests(stack)
    # Woodbury's desk refuses mail (550: dead); the first RCPT gets a 451
    # (a retry, then sent): failed attempts with the server's replies.
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(stack.maildir, sub), exist_ok=True)
    fdtest.spawn([fdtest.PYTHON, os.path.join(HERE, "..", "integration",
                                              "smtpd_fault.py"),
                  "--port", str(stack.smtp_port), "--maildir",
                  stack.maildir, "--tempfail", "1", "--reject",
                  "woodbury.desk@clinic.example"],
                 os.path.join(stack.dir, "smtp.log"))
    fdtest.wait_for(lambda: stack._port_open(stack.smtp_port),
                    what="SMTP port")
    stack.start_mailer()
    wait_mail(stack, refs)
    links = mail_links(stack)

    # Another site: the console is 127.0.0.1, this is localhost.
    other = fdtest.tempdir("fdtest-webmail-")
    os.chmod(other, 0o755)
    with open(os.path.join(other, "index.html"), "w") as f:
        f.write("<!doctype html><html lang=en><head><meta charset=utf-8>"
                "<title>Webmail</title></head><body><main><h1>Inbox</h1>"
                "<ul>%s</ul></main></body></html>" % "".join(
                    '<li><a id="%s" href="%s">%s</a></li>' % (ref, url, ref)
                    for ref, url in sorted(links.items())))
    webmail = extra_nginx(stack, "webmail", other, [])
    idle_loc = console_location(stack, "console-idle", short)
    idle_port = extra_nginx(stack, "idle", www, [idle_loc])
    # auth = remote_user: a third console behind console-remote-user.conf
    # and a stand-in SSO.
    remote = start_console(stack, "console-ru", auth="remote_user")
    sso_conf = os.path.join(stack.dir, "sso.conf")
    with open(sso_conf, "w") as f:
        f.write(SSO)
    sso_port = extra_nginx(stack, "sso", other, [sso_conf])
    ru_port = extra_nginx(stack, "remote-user", www, [
        remote_user_location(stack, remote, sso_port)])

    env = dict(os.environ,
               FD_BASE_URL=base,
               FD_WEBMAIL_URL="http://localhost:%d" % webmail,
               FD_IDLE_URL="http://127.0.0.1:%d" % idle_port,
               FD_IDLE_SECONDS=str(SHORT_IDLE),
               FD_RU_URL="http://127.0.0.1:%d" % ru_port,
               FD_PASSWORDS=json.dumps(PASSWORDS),
               FD_REFS=json.dumps(refs),
               FD_LINKS=json.dumps(links),
               FD_ACCOUNTS_BY=json.dumps(how),
               FD_CTL=json.dumps([stack.program("frontdeskctl"), "-c",
                                  stack.admin_conf_path]),
               FD_CONNINFO=cluster.conninfo(stack.db),
               FRONTDESK_BUILD=fdtest.BUILD,
               PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
    if "sql" in how.values():
        print("# frontdeskctl has no `user add` yet: the accounts were "
              "made with SQL (an argon2id hash from libsodium)")
    sys.stdout.flush()
    try:
        rc = subprocess.run(["node", os.path.join(HERE, "test_console.mjs")],
                            env=env, cwd=HERE, timeout=1200).returncode
    except subprocess.TimeoutExpired:
        print("Bail out! test_console.mjs ran over 20 minutes")
        rc = 1
    if rc != 0:
        for name in ("console", "console-idle", "console-ru", "frontdesk",
                     "mailer",
                     "nginx-error", "smtp"):
            for line in stack.log(name).splitlines()[-25:]:
                print("# %s: %s" % (name, line))
    sys.stdout.flush()
    return rc


if __name__ == "__main__":
    rc = main()
    fdtest._cleanup()
    sys.exit(rc)
