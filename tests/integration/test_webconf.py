#!/usr/bin/python3
"""The shipped deployment files: every nginx file passes `nginx -t` in a
wrapper configuration, and serves the form and the API for real, and
console.conf the console's pages and API (the console started from its
example file on a socket passed as systemd's would be); Apache and lighttpd
(when installed) check their file and pass a post through it; the systemd
units parse (systemd-analyze verify) and keep their sandboxing; the example
files pass -t; the form in www/ is what scripts/render-form.py makes of its
template."""
import glob
import html.parser
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile

import fdtest
from fdtest import maria, wait_for

SOURCE = fdtest.SOURCE
NGINX_FILES = sorted(glob.glob(os.path.join(SOURCE, "conf", "nginx", "*.conf")))
UNITS = sorted(glob.glob(os.path.join(SOURCE, "conf", "systemd", "*.*")))
LOCATIONS = [{"slug": s, "name": n} for s, n, _ in fdtest.DEFAULT_LOCATIONS]
REF = re.compile(r"FD-[0-9A-HJKMNP-TV-Z]{8}")

_stack = None


def stack():
    """One database and frontdesk, made when a test first needs them."""
    global _stack
    if _stack is None:
        _stack = fdtest.Stack(fdtest.Cluster(), start=False)
        _stack.start_frontdesk()
    return _stack


def tempdir():
    d = tempfile.mkdtemp(prefix="fdtest-webconf-")
    os.chmod(d, 0o755)
    fdtest._cleanups.append(lambda: shutil.rmtree(d, ignore_errors=True))
    return d


# Each web server's wrapper believes X-Forwarded-For from the loopback, so
# that a test can be another host without leaving the loopback: the shipped
# monitoring rules then see that host's address.
OTHER_HOST = {"X-Forwarded-For": "203.0.113.9"}
NGINX_REALIP = "set_real_ip_from 127.0.0.1; real_ip_header X-Forwarded-For;"


def render(listing, out=None):
    """scripts/render-form.py on listing (bytes); its CompletedProcess."""
    args = [fdtest.PYTHON, os.path.join(SOURCE, "scripts", "render-form.py")]
    return subprocess.run(args + (["-o", out] if out else []),
                          input=listing, capture_output=True)


_www = None


def www():
    """The site to serve: a copy of www/ with index.html rendered into it
    for the three locations, as the demo and a deployment do (the rendered
    page is output, not kept in the repo)."""
    global _www
    if _www is None:
        d = tempdir()
        shutil.copytree(os.path.join(SOURCE, "www"), d, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.in"))
        r = render(json.dumps(LOCATIONS).encode(),
                   os.path.join(d, "index.html"))
        assert r.returncode == 0, r.stderr.decode()
        os.chmod(os.path.join(d, "index.html"), 0o644)
        _www = d
    return _www


def nginx_conf(d, includes, port):
    return fdtest.nginx_conf(d, port, www(), includes, NGINX_REALIP)


def nginx_check(includes):
    d = tempdir()
    conf = nginx_conf(d, includes, fdtest.free_port())
    r = subprocess.run(["nginx", "-t", "-q", "-p", d, "-c", conf, "-e",
                        os.path.join(d, "error.log")], capture_output=True)
    assert r.returncode == 0, (includes, r.stderr.decode())


def test_nginx_files_each():
    """nginx -t: every shipped nginx file, each in a server { }"""
    assert NGINX_FILES, "no nginx files found"
    for f in NGINX_FILES:
        nginx_check([f])


# Two ways to serve the console: a site includes one of them.
CONSOLE_ALTERNATIVES = ("console.conf", "console-remote-user.conf")


def test_nginx_files_together():
    """nginx -t: all shipped nginx files in one server { }, as documented
    (the console once with each of its two files, which are alternatives)"""
    common = [f for f in NGINX_FILES
              if os.path.basename(f) not in CONSOLE_ALTERNATIVES]
    for alt in CONSOLE_ALTERNATIVES:
        nginx_check(common + [os.path.join(SOURCE, "conf", "nginx", alt)])


def get(port, path, method="GET", body=None, headers=None):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def post(port, fields, json_mode=True, path="/api/appointments"):
    h = {"Content-Type": "application/x-www-form-urlencoded",
         "Accept": "application/json" if json_mode else "text/html"}
    return get(port, path, "POST", fdtest.form_body(fields), h)


def check_server(port, name):
    """What every web server's file must give: the form, the API, the
    413, the monitoring paths open to the loopback and closed to another
    host (OTHER_HOST, through the wrapper's forwarded-address module)."""
    st, h, body = get(port, "/api/locations")
    assert st == 200 and json.loads(body) == LOCATIONS, (name, st, body)
    st, h, body = post(port, maria())
    assert st == 201 and REF.fullmatch(json.loads(body)["reference"]), \
        (name, st, body)
    st, h, body = post(port, maria(), json_mode=False)
    assert st == 303 and h["location"].startswith("/thank-you/?ref=FD-"), \
        (name, st, h)
    for path in ("/api/healthz", "/api/metrics"):
        st, h, body = get(port, path)
        assert st == 200, (name, path, st, body)
        # from another host: closed
        st, h, body = get(port, path, headers=OTHER_HOST)
        assert st == 403, (name, path, st, body)
    # ... while the public API stays open to it
    st, h, body = get(port, "/api/locations", headers=OTHER_HOST)
    assert st == 200, (name, st, body)
    # Just over max_body (64 KiB): frontdesk's own 413, in JSON.
    st, h, body = post(port, maria(message="x" * 70000))
    assert st == 413 and set(json.loads(body)) == {"error"}, \
        (name, st, body[:200])
    # Far over: the web server's own limit answers.
    st, h, body = post(port, maria(message="x" * 300000))
    assert st == 413, (name, st)


KEY_FIELD = re.compile(rb'<input type=hidden id=submission_id '
                       rb'name=submission_id autocomplete=off '
                       rb'value=([0-9a-f]{32})>')


def form_keys(S, port):
    """form.conf: each copy of the form carries a fresh key from nginx,
    uncached; a plain-HTML double post with it stores one request."""
    keys = []
    for path in ("/", "/", "/index.html"):
        st, h, body = get(port, path)
        assert st == 200 and h.get("cache-control") == "no-store", (path, h)
        found = KEY_FIELD.findall(body)
        assert len(found) == 1, (path, body[-1500:])
        keys.append(found[0].decode())
    assert len(set(keys)) == 3, keys
    fields = maria(first_name="Doubleclick", submission_id=keys[0])
    before = S.count("appointment_requests")
    answers = [post(port, fields, json_mode=False) for _ in range(2)]
    assert [a[0] for a in answers] == [303, 303], answers
    assert answers[0][1]["location"] == answers[1][1]["location"], answers
    assert S.count("appointment_requests") == before + 1
    # the same key with other fields: docs/interface.md's 409
    st, h, body = post(port, dict(fields, last_name="Other"), json_mode=False)
    assert st == 409, (st, body)


def test_nginx_serves_form_and_api():
    """nginx with the shipped files: form, API, 413s, thank-you page"""
    S = stack()
    d = tempdir()
    loc = fdtest.shipped("conf/nginx/frontdesk.conf", S.socket,
                         os.path.join(d, "frontdesk.conf"))
    port = fdtest.free_port()
    conf = nginx_conf(d, [loc] + [os.path.join(SOURCE, "conf/nginx", f)
                              for f in ("thank-you.conf", "form.conf")],
                      port)
    p = fdtest.spawn(["nginx", "-p", d, "-c", conf, "-e",
                      os.path.join(d, "error.log")],
                     os.path.join(d, "nginx.out"))
    try:
        wait_for(lambda: S._port_open(port), what="nginx")
        st, h, body = get(port, "/")
        assert st == 200 and b'name="first_name"' in body, st
        assert h["content-type"].startswith("text/html"), h
        st, h, body = get(port, "/style.css")
        assert st == 200 and h["content-type"] == "text/css", h
        check_server(port, "nginx")
        form_keys(S, port)
        st, h, body = get(port, "/thank-you/?ref=FD-0123ABCD")
        assert b'<strong id="ref">FD-0123ABCD</strong>' in body, body
        assert h.get("cache-control") == "no-store", h
        for bad in ("FD-0123ABCU", "%3Cb%3E", "FD-0123ABCD%0A",
                    "FD-0123ABCDE"):
            st, h, body = get(port, "/thank-you/?ref=" + bad)
            assert st == 200 and b'<strong id="ref"></strong>' in body, \
                (bad, body)
    finally:
        fdtest.stop(p, signal.SIGQUIT)


def get_raw(port, path, method="GET", body=None, headers=None):
    """As get(), with the headers as a list of (lower-case name, value):
    a header sent twice shows twice."""
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, [(k.lower(), v) for k, v in r.getheaders()], r.read()
    finally:
        c.close()


CONSOLE_HEADERS = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def console_headers_once(what, headers):
    """The contract's headers on a console answer, each exactly once (nginx
    adds them and hides the console's own copies)."""
    for k, v in CONSOLE_HEADERS.items():
        got = [hv for hk, hv in headers if hk == k]
        assert got == [v], (what, k, headers)
    csp = [hv for hk, hv in headers if hk == "content-security-policy"]
    assert len(csp) == 1 and "frame-ancestors 'none'" in csp[0] and \
        "unsafe-inline" not in csp[0], (what, headers)


def console_example(d, conninfo):
    """conf/frontdesk-console.conf.example as deployed: its conninfo the
    test's, its key_file a key made by frontdeskctl console-key; returns
    the file's path."""
    key = os.path.join(d, "console.key")
    r = subprocess.run([os.path.join(fdtest.BUILD, "frontdeskctl"),
                        "console-key", key], capture_output=True)
    assert r.returncode == 0, r.stderr.decode()
    with open(os.path.join(SOURCE, "conf",
                           "frontdesk-console.conf.example")) as f:
        text = f.read()
    text, n = re.subn(r"(?m)^conninfo = .*$", "conninfo = " + conninfo, text)
    assert n == 1, "one conninfo in the example"
    text, n = re.subn(r"(?m)^key_file = .*$", "key_file = " + key, text)
    assert n == 1, "one key_file in the example"
    path = os.path.join(d, "frontdesk-console.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def test_nginx_serves_console():
    """nginx with console.conf beside the public files: the pages of
    www/console/ under /console/ (the request links, /account and the
    admin pages are the page too), the API on the console's socket, the headers on every
    answer (nginx's own 404 included) once each, /metrics closed to other
    hosts; the console from its example file, on a socket handed over as
    frontdesk-console.socket does (LISTEN_FDS, listen left empty), signs
    a person in"""
    activate = shutil.which("systemd-socket-activate")
    if activate is None:
        raise fdtest.Skip("systemd-socket-activate is not installed")
    S = stack()
    d = tempdir()
    csock = os.path.join(d, "console.sock")
    conf = console_example(d, S.cluster.conninfo(S.db, "fdt_console"))
    # the unit's way: no listen of its own, the socket passed as fd 3
    assert ini(conf)["console"]["listen"] == ""
    console = fdtest.spawn([activate, "-l", csock,
                            os.path.join(fdtest.BUILD, "frontdesk-console"),
                            "-c", conf], os.path.join(d, "console.log"))
    wait_for(lambda: os.path.exists(csock) or console.poll() is not None,
             what="the activated console socket")
    port = fdtest.free_port()
    incs = [fdtest.shipped("conf/nginx/frontdesk.conf", S.socket,
                           os.path.join(d, "frontdesk.conf")),
            os.path.join(SOURCE, "conf/nginx/thank-you.conf"),
            os.path.join(SOURCE, "conf/nginx/form.conf"),
            fdtest.shipped("conf/nginx/console.conf", S.socket,
                           os.path.join(d, "console.conf"), csock)]
    p = fdtest.spawn(["nginx", "-p", d, "-c", nginx_conf(d, incs, port),
                      "-e", os.path.join(d, "error.log")],
                     os.path.join(d, "nginx.out"))
    try:
        wait_for(lambda: S._port_open(port), what="nginx")
        st, h, body = get_raw(port, "/console")
        assert st == 301 and dict(h)["location"].endswith("/console/"), \
            (st, h)
        st, h, page = get_raw(port, "/console/")
        assert st == 200 and b'src="/console/js/app.js"' in page, (st, page)
        assert dict(h)["content-type"].startswith("text/html"), h
        console_headers_once("/console/", h)
        with open(os.path.join(SOURCE, "www", "console", "index.html"),
                  "rb") as f:
            assert page == f.read()
        for path in ("/console/requests/FD-0123ABCD", "/console/account",
                     "/console/admin/locations",
                     "/console/admin/locations/woodbury",
                     "/console/admin/mail", "/console/admin/accounts",
                     "/console/admin/audit"):
            st, h, body = get_raw(port, path)
            assert st == 200 and body == page, (path, st)
            console_headers_once(path, h)
        st, h, body = get_raw(port, "/console/js/app.js")
        assert st == 200 and "javascript" in dict(h)["content-type"], h
        console_headers_once("app.js", h)
        st, h, body = get_raw(port, "/console/no-such-page.html")
        assert st == 404, st
        console_headers_once("nginx's 404", h)
        # the API: the console itself, through its socket
        st, h, body = get_raw(port, "/console/api/me",
                              headers={"Accept": "application/json"})
        assert st == 401 and "error" in json.loads(body), (st, body)
        console_headers_once("the API's 401", h)
        st, h, body = get_raw(port, "/console/api/metrics")
        assert st == 200 and b"frontdesk_console_" in body, (st, body[:200])
        st, h, body = get_raw(port, "/console/api/metrics",
                              headers=OTHER_HOST)
        assert st == 403, st
        # a sign-in, with the console's own origin
        S.ctl("user", "add", "desk", "--role", "staff", "--location",
              "midtown", "--password-stdin", input="webconf-password-1\n")
        origin = "http://127.0.0.1:%d" % port
        sign_in = json.dumps({"username": "desk",
                              "password": "webconf-password-1"}).encode()
        st, h, body = get_raw(port, "/console/api/session", "POST", sign_in,
                              {"Origin": origin,
                               "Content-Type": "application/json"})
        assert st == 201 and json.loads(body)["username"] == "desk", \
            (st, body)
        cookie = dict(h)["set-cookie"]
        assert cookie.startswith("__Host-fd_session=") and all(
            a in cookie for a in ("Secure", "HttpOnly", "SameSite=Strict",
                                  "Path=/")), cookie
        console_headers_once("the sign-in", h)
        # ... and from another origin, refused
        st, h, body = get_raw(port, "/console/api/session", "POST", sign_in,
                              {"Origin": "http://staff.example",
                               "Content-Type": "application/json"})
        assert st == 403, (st, body)
    finally:
        fdtest.stop(p, signal.SIGQUIT)
        fdtest.stop(console, signal.SIGTERM)


def apache_binary():
    for b in ("apache2", "httpd"):
        if shutil.which(b) or os.path.exists("/usr/sbin/" + b):
            return shutil.which(b) or "/usr/sbin/" + b
    return None


def apache_modules():
    for d in ("/usr/lib/apache2/modules", "/usr/lib64/httpd/modules",
              "/usr/lib/httpd/modules"):
        if os.path.exists(os.path.join(d, "mod_proxy_fcgi.so")):
            return d
    return None


def apache_conf(d, port, include):
    mods = apache_modules()
    lines = ["ServerRoot %s" % d, "ServerName localhost",
             "DefaultRuntimeDir %s" % d, "PidFile %s/httpd.pid" % d,
             "ErrorLog %s/error.log" % d, "LogLevel warn",
             "Mutex file:%s default" % d, "Listen 127.0.0.1:%d" % port]
    for m in ("mpm_event", "authz_core", "authz_host", "proxy", "proxy_fcgi",
              "mime", "dir", "remoteip"):
        lines.append("LoadModule %s_module %s/mod_%s.so" % (m, mods, m))
    if os.geteuid() == 0:
        lines += ["User www-data", "Group www-data"]
    lines += ["RemoteIPHeader X-Forwarded-For",
              "RemoteIPInternalProxy 127.0.0.1"]
    lines += ["TypesConfig /etc/mime.types",
              "DirectoryIndex index.html",
              "<VirtualHost 127.0.0.1:%d>" % port,
              "DocumentRoot %s" % www(),
              "<Directory %s>" % www(),
              "Require all granted", "</Directory>",
              "Include %s" % include, "</VirtualHost>"]
    path = os.path.join(d, "httpd.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def test_apache_conf():
    """Apache mod_proxy_fcgi: the file passes -t and a post goes through"""
    binary = apache_binary()
    if binary is None or apache_modules() is None:
        raise fdtest.Skip("Apache httpd with mod_proxy_fcgi is not installed")
    S = stack()
    d = tempdir()
    inc = fdtest.shipped("conf/apache/frontdesk.conf", S.socket,
                         os.path.join(d, "frontdesk.conf"))
    port = fdtest.free_port()
    conf = apache_conf(d, port, inc)
    r = subprocess.run([binary, "-t", "-f", conf], capture_output=True)
    assert r.returncode == 0, r.stderr.decode()
    p = fdtest.spawn([binary, "-f", conf, "-DFOREGROUND"],
                     os.path.join(d, "httpd.out"))
    try:
        wait_for(lambda: S._port_open(port) or p.poll() is not None,
                 what="apache")
        assert p.poll() is None, open(os.path.join(d, "error.log")).read()
        check_server(port, "apache")
    finally:
        fdtest.stop(p, signal.SIGTERM)


def test_lighttpd_conf():
    """lighttpd: the file passes -tt and a post goes through"""
    binary = shutil.which("lighttpd") or (
        "/usr/sbin/lighttpd" if os.path.exists("/usr/sbin/lighttpd") else None)
    if binary is None:
        raise fdtest.Skip("lighttpd is not installed")
    S = stack()
    d = tempdir()
    inc = fdtest.shipped("conf/lighttpd/frontdesk.conf", S.socket,
                         os.path.join(d, "frontdesk.conf"))
    port = fdtest.free_port()
    conf = os.path.join(d, "lighttpd.conf")
    with open(conf, "w") as f:
        f.write('server.document-root = "%s"\n' % www()
                + 'server.bind = "127.0.0.1"\n'
                + "server.port = %d\n" % port
                + 'server.modules = ( "mod_extforward", "mod_access" )\n'
                + 'extforward.forwarder = ( "127.0.0.1" => "trust" )\n'
                + 'extforward.headers = ( "X-Forwarded-For" )\n'
                + 'index-file.names = ( "index.html" )\n'
                + ('server.username = "www-data"\n'
                   'server.groupname = "www-data"\n'
                   if os.geteuid() == 0 else "")
                + 'include "%s"\n' % inc)
    r = subprocess.run([binary, "-tt", "-f", conf], capture_output=True)
    assert r.returncode == 0, (r.stdout + r.stderr).decode()
    p = fdtest.spawn([binary, "-D", "-f", conf], os.path.join(d, "out.log"))
    try:
        wait_for(lambda: S._port_open(port) or p.poll() is not None,
                 what="lighttpd")
        assert p.poll() is None, open(os.path.join(d, "out.log")).read()
        check_server(port, "lighttpd")
    finally:
        fdtest.stop(p, signal.SIGTERM)


def verify_units(paths):
    """systemd-analyze verify's complaints: it says "ignoring" and exits 0
    for a line it cannot parse, so any output is one."""
    r = subprocess.run(["systemd-analyze", "verify"] + paths,
                       capture_output=True, timeout=120)
    return r.returncode, (r.stdout + r.stderr).decode().strip()


def test_systemd_units_verify():
    """systemd-analyze verify: every unit parses, no key is ignored"""
    if shutil.which("systemd-analyze") is None:
        raise fdtest.Skip("systemd-analyze is not installed")
    d = tempdir()
    # It must work at all here before it can judge ours.
    with open(os.path.join(d, "fdprobe.service"), "w") as f:
        f.write("[Service]\nExecStart=/bin/true\n")
    rc, out = verify_units([os.path.join(d, "fdprobe.service")])
    if rc != 0 or out:
        raise fdtest.Skip("systemd-analyze verify does not work here: %s"
                          % (out.splitlines()[0] if out else "exit %d" % rc))
    os.unlink(os.path.join(d, "fdprobe.service"))
    # The units name installed programs (frontdeskctl in sbin, as meson
    # installs it); verify checks that they exist.
    paths = []
    built = fdtest.BUILD + "/"
    for u in UNITS:
        with open(u) as f:
            text = f.read().replace("/usr/local/bin/", built).replace(
                "/usr/local/sbin/", built)
        paths.append(os.path.join(d, os.path.basename(u)))
        with open(paths[-1], "w") as f:
            f.write(text)
    rc, out = verify_units(paths)
    assert rc == 0 and not out, out


def unit(name):
    keys = {}
    with open(os.path.join(SOURCE, "conf", "systemd", name)) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", "[")):
                k, _, v = line.partition("=")
                keys.setdefault(k, []).append(v)
    return keys


def test_systemd_units_policy():
    """the units: socket activation, journal logs, sandboxing"""
    sock = unit("frontdesk.socket")
    assert sock["ListenStream"] == ["/run/frontdesk/fcgi.sock"], sock
    assert sock["SocketMode"] == ["0660"] and "SocketGroup" in sock, sock
    web = unit("frontdesk.service")
    assert "StandardInput" not in web or web["StandardInput"] == ["null"]
    assert web["StandardOutput"] == ["journal"], web
    for name in ("frontdesk.service", "frontdesk-mailer.service",
                 "frontdesk-purge.service", "frontdesk-console.service"):
        u = unit(name)
        for k, v in (("DynamicUser", "yes"), ("ProtectSystem", "strict"),
                     ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
                     ("NoNewPrivileges", "yes"), ("CapabilityBoundingSet", ""),
                     ("RestrictAddressFamilies",
                      "AF_UNIX AF_INET AF_INET6"), ("LimitCORE", "0")):
            assert u.get(k) == [v], (name, k, u.get(k))
        assert "@system-service" in u["SystemCallFilter"], name
    mailer = unit("frontdesk-mailer.service")
    assert any(v.startswith("smtp-password:")
               for v in mailer["LoadCredential"]), mailer
    assert "LoadCredential" not in web, "the web process holds no secret"
    # frontdesk-admin.conf is 0640 root:adm (docs/production.md), closed to
    # the purge job's dynamic user: it must come as a credential.
    purge = unit("frontdesk-purge.service")
    assert purge["LoadCredential"] == [
        "admin.conf:/etc/frontdesk/frontdesk-admin.conf"], purge
    assert purge["ExecStart"][0].startswith(
        "/usr/local/sbin/frontdeskctl -c ${CREDENTIALS_DIRECTORY}/admin.conf "
        "purge "), purge["ExecStart"]


def megabytes(v):
    m = re.fullmatch(r"([0-9]+)([KMG]?)", v)
    assert m, v
    return int(m.group(1)) * {"": 1 / 1048576, "K": 1 / 1024, "M": 1,
                              "G": 1024}[m.group(2)]


def test_systemd_console_units():
    """the console's units: its own socket, as frontdesk's; the key as a
    credential at the example's key_file; room for threads x 64 MiB of
    argon2id; no core dumps; sandboxed as frontdesk.service is"""
    sock = unit("frontdesk-console.socket")
    assert sock["ListenStream"] == ["/run/frontdesk/console.sock"], sock
    # the shipped nginx file connects there
    with open(os.path.join(SOURCE, "conf", "nginx", "console.conf")) as f:
        assert "unix:/run/frontdesk/console.sock;" in f.read()
    for k in ("SocketMode", "SocketGroup", "Backlog", "Accept"):
        assert sock[k] == unit("frontdesk.socket")[k], k
    svc = unit("frontdesk-console.service")
    conf = "/etc/frontdesk/frontdesk-console.conf"
    assert svc["ExecStart"] == ["/usr/local/bin/frontdesk-console -c " +
                                conf], svc["ExecStart"]
    assert svc["ExecStartPre"] == ["/usr/local/bin/frontdesk-console -t -c "
                                   + conf], svc["ExecStartPre"]
    assert svc["Requires"] == ["frontdesk-console.socket"], svc
    assert svc["StandardInput"] == ["null"], svc
    assert svc["StandardOutput"] == ["journal"], svc
    assert svc["User"] == ["fd_console"], svc
    assert svc["LimitCORE"] == ["0"], svc
    # The example's key_file is where systemd puts the credential.
    creds = dict(v.split(":", 1) for v in svc["LoadCredential"])
    assert creds == {"console.key": "/etc/frontdesk/console.key"}, creds
    example = ini(os.path.join(SOURCE, "conf",
                               "frontdesk-console.conf.example"))
    assert example["console"]["key_file"] == \
        "/run/credentials/frontdesk-console.service/console.key", example
    assert example["console"]["listen"] == "", "the socket comes as fd 3"
    threads = int(example["console"]["threads"])
    assert megabytes(svc["MemoryMax"][0]) >= threads * 64 + 64, \
        (svc["MemoryMax"], threads)
    # Every sandboxing line of frontdesk.service, the same here.
    web = unit("frontdesk.service")
    for k in ("UMask", "NoNewPrivileges", "CapabilityBoundingSet",
              "AmbientCapabilities", "ProtectSystem", "ProtectHome",
              "PrivateTmp", "PrivateDevices", "PrivateMounts",
              "PrivateUsers", "ProtectKernelTunables",
              "ProtectKernelModules", "ProtectKernelLogs",
              "ProtectControlGroups", "ProtectClock", "ProtectHostname",
              "ProtectProc", "ProcSubset", "RestrictAddressFamilies",
              "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID",
              "RemoveIPC", "LockPersonality", "MemoryDenyWriteExecute",
              "SystemCallArchitectures", "SystemCallFilter",
              "SystemCallErrorNumber", "DynamicUser"):
        assert svc.get(k) == web[k], (k, svc.get(k), web[k])


def ini(path):
    """An example file's keys as {section: {key: value}}; commented-out
    keys (";key = value") are left out, as libinih does."""
    out, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                section = out.setdefault(line.strip("[]"), {})
            elif line and not line.startswith(";"):
                k, _, v = line.partition("=")
                section[k.strip()] = v.strip()
    return out


def test_conf_examples():
    """conf/*.example: each passes frontdesk -t; the web file and the
    reference leave [fastcgi] listen unset (frontdesk.socket's fd 3), and a
    spool they suggest is the one frontdesk.service's StateDirectory= makes"""
    examples = sorted(glob.glob(os.path.join(SOURCE, "conf", "*.example")))
    assert len(examples) == 5, examples
    for path in examples:
        r = subprocess.run([os.path.join(fdtest.BUILD, "frontdesk"),
                            "-t", "-c", path], capture_output=True)
        assert r.returncode == 0, (path, r.stdout + r.stderr)
    state = unit("frontdesk.service")["StateDirectory"]
    assert state == ["frontdesk/spool"], state
    for name in ("frontdesk-web.conf.example", "frontdesk.conf.example"):
        path = os.path.join(SOURCE, "conf", name)
        assert ini(path)["fastcgi"].get("listen", "") == "", name
        with open(path) as f:
            spool = re.findall(r"^;dir = (.*)$", f.read(), re.M)
        assert spool == ["/var/lib/" + state[0]], (name, spool)


def test_console_conf_example():
    """conf/frontdesk-console.conf.example: every [console] key of the key
    table (src/common/config.c) is there, with its default; frontdesk-console
    -t passes with its key_file made by frontdeskctl console-key, and fails
    while that file is missing or readable by others"""
    with open(os.path.join(SOURCE, "src", "common", "config.c")) as f:
        table = re.findall(r'\{\s*"console",\s*"([a-z_]+)",\s*KEY_[A-Z]+,'
                           r'\s*OFF\([a-z_]+\),\s*"([^"]*)"', f.read())
    assert len(table) >= 12, table
    path = os.path.join(SOURCE, "conf", "frontdesk-console.conf.example")
    example = ini(path)["console"]
    for key, default in table:
        assert key in example, key
        if key != "key_file":   # set: the credential's path
            assert example[key] == default, (key, example[key], default)
    assert sorted(example) == sorted(k for k, _ in table), example
    binary = os.path.join(fdtest.BUILD, "frontdesk-console")
    d = tempdir()
    conf = console_example(d, "host=/nonexistent dbname=frontdesk")
    r = subprocess.run([binary, "-t", "-c", conf], capture_output=True)
    assert r.returncode == 0, r.stdout + r.stderr
    os.chmod(os.path.join(d, "console.key"), 0o644)
    r = subprocess.run([binary, "-t", "-c", conf], capture_output=True)
    assert r.returncode == 1 and b"readable by group or others" in \
        r.stderr, r
    # as shipped, the key is systemd's credential, absent here
    r = subprocess.run([binary, "-t", "-c", path], capture_output=True)
    assert r.returncode == 1 and b"console.key" in r.stderr, r


class FormParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.controls, self.labels, self.options = {}, set(), []
        self.in_hidden, self.select = 0, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("input", "select", "textarea") and "name" in a:
            self.controls[a["name"]] = dict(a, tag=tag)
        if tag == "select":
            self.select = a.get("name")
        if tag == "option" and self.select == "location":
            self.options.append(a.get("value"))
        if tag == "label":
            self.labels.add(a.get("for"))

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None


def test_form_matches_contract():
    """the rendered form: the fields of docs/interface.md, labelled; honeypot hidden;
    no key of its own until nginx or form.js writes one in"""
    p = FormParser()
    with open(os.path.join(www(), "index.html")) as f:
        p.feed(f.read())
    fields = ["first_name", "last_name", "email", "phone", "location",
              "service", "preferred_time", "message", "consent", "website"]
    assert sorted(p.controls) == sorted(fields), sorted(p.controls)
    for name in fields:
        assert p.controls[name].get("id") in p.labels, name
    assert p.controls["location"]["tag"] == "select"
    assert p.options == ["", "midtown", "fidi", "woodbury"], p.options
    hp = p.controls["website"]
    assert hp.get("autocomplete") == "off" and hp.get("tabindex") == "-1"


def test_form_is_rendered_from_template():
    """render-form.py: active locations only, in order, names escaped;
    a bad listing is refused"""
    listing = json.dumps([dict(l, active=True) for l in LOCATIONS] +
                         [{"slug": "closed", "name": "Closed",
                           "active": False},
                          {"slug": "bk", "name": "Brooklyn <&> \"Park\""}])
    r = render(listing.encode())
    assert r.returncode == 0, r.stderr
    p = FormParser()
    p.feed(r.stdout.decode())
    assert p.options == ["", "midtown", "fidi", "woodbury", "bk"], p.options
    assert b"Brooklyn &lt;&amp;&gt; &quot;Park&quot;" in r.stdout
    assert b"@" + b"API_PREFIX@" not in r.stdout
    r = render(b'[{"slug": "a b"}]')
    assert r.returncode == 1 and b"bad slug" in r.stderr, r


fdtest.run(globals())
