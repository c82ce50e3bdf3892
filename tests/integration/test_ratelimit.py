#!/usr/bin/python3
"""[limits] per_ip_per_hour through real nginx: every parsed post counts,
429 with Retry-After past the limit, exact under concurrency and across
processes, per address (X-Forwarded-For only from trusted proxies)."""
import concurrent.futures
import os

import fdtest
from fdtest import maria

cluster = fdtest.Cluster()
S = fdtest.Stack(cluster, conf={"limits": {"per_ip_per_hour": "3"},
                                "http": {"trusted_proxies": "127.0.0.1"}})


def xff(ip):
    return {"X-Forwarded-For": ip}


def test_every_parsed_post_counts_then_429():
    """accepted, invalid and spam posts all count; the 4th gets 429"""
    h = xff("198.51.100.1")
    assert S.post(maria(), headers=h).status == 201
    assert S.post(maria(email="bad"), headers=h).status == 422
    assert S.post(maria(website="x"), headers=h).status == 201
    rows = S.count("appointment_requests")
    r = S.post(maria(), headers=h)
    assert r.status == 429, r
    assert set(r.json()) == {"error"}, r.json()
    assert 3500 <= int(r.headers["retry-after"]) <= 3600, r.headers
    assert S.count("appointment_requests") == rows
    r = S.post(maria(), headers=h, json_mode=False)
    assert r.status == 429 and "retry-after" in r.headers, r


def test_forwarded_hop_with_a_port():
    """a proxy that writes the client's port after its address
    (198.51.100.20:51234, [2001:db8:20::1]:443): the client is the address,
    each counted on its own, not lumped in with the proxy"""
    for hop, key in (("198.51.100.55:51234", "198.51.100.55"),
                     ("[2001:db8:55::1]:443", "2001:db8:55::/64")):
        for port in (1001, 1002, 1003):
            h = xff(hop.rsplit(":", 1)[0] + ":%d" % port)
            assert S.post(maria(), headers=h).status == 201
        assert S.post(maria(), headers=xff(hop)).status == 429
        assert S.count("rate_limits", "addr = '%s'" % key) == 1
    assert S.count("rate_limits", "addr = '127.0.0.1'") == 0


def test_unparseable_posts_do_not_count():
    """a 400 is not a parsed post: it does not use up the limit"""
    h = xff("198.51.100.2")
    for _ in range(5):
        r = S.post(body=b"a=%zz", content_type=
                   "application/x-www-form-urlencoded", headers=h)
        assert r.status == 400, r
    assert S.post(maria(), headers=h).status == 201


def test_retry_after_counts_down_to_the_oldest_post():
    """Retry-After: seconds until the oldest post leaves the hour"""
    h = xff("198.51.100.3")
    for _ in range(3):
        assert S.post(maria(), headers=h).status == 201
    S.sql("UPDATE rate_limits SET hits[1] = now() - interval '50 minutes' "
          "WHERE addr = '198.51.100.3'")
    r = S.post(maria(), headers=h)
    assert r.status == 429 and 500 <= int(r.headers["retry-after"]) <= 600, r
    S.sql("UPDATE rate_limits SET hits[1] = now() - interval '61 minutes' "
          "WHERE addr = '198.51.100.3'")
    assert S.post(maria(), headers=h).status == 201


def test_addresses_apart_and_ipv6_per_64():
    """another address has its own count; IPv6 counts per /64"""
    for i in range(3):
        assert S.post(maria(), headers=xff("2001:db8:1:2::%d" % (i + 1))) \
            .status == 201
    assert S.post(maria(), headers=xff("2001:db8:1:2:ffff::9")).status == 429
    assert S.post(maria(), headers=xff("2001:db8:1:3::1")).status == 201
    assert S.count("rate_limits", "addr = '2001:db8:1:2::/64'") == 1


def test_untrusted_forwarded_for_is_ignored():
    """X-Forwarded-For is believed only from a trusted proxy"""
    path = S.write_conf("untrusted.conf", S.conf_as(
        "web", http={"trusted_proxies": ""}))
    S.stop_frontdesk()
    S.start_frontdesk(path)
    try:
        codes = [S.post(maria(), headers=xff("203.0.113.%d" % i)).status
                 for i in range(4)]
        assert codes == [201, 201, 201, 429], codes  # all 127.0.0.1
    finally:
        S.stop_frontdesk()
        S.start_frontdesk()


def test_exact_under_concurrency():
    """20 posts at once from one address: exactly 3 get through"""
    h = xff("198.51.100.20")
    with concurrent.futures.ThreadPoolExecutor(10) as ex:
        codes = list(ex.map(lambda _: S.post(maria(), headers=h).status,
                            range(20)))
    assert sorted(codes) == [201] * 3 + [429] * 17, codes


def test_holds_across_processes():
    """two frontdesk processes on one database share the count"""
    p, sock2 = S.second_frontdesk()
    body = fdtest.form_body(maria())

    def direct():
        c = fdtest.FcgiClient(sock2)
        c.begin({"REQUEST_METHOD": "POST", "REQUEST_URI": "/api/appointments",
                 "CONTENT_TYPE": "application/x-www-form-urlencoded",
                 "CONTENT_LENGTH": str(len(body)),
                 "HTTP_ACCEPT": "application/json",
                 "REMOTE_ADDR": "198.51.100.30"})
        c.stdin(body)
        c.stdin(b"")
        return int(c.response()[8:11])
    try:
        codes = [direct(), S.post(maria(), headers=xff("198.51.100.30"))
                 .status, direct(), S.post(maria(), headers=xff(
                     "198.51.100.30")).status]
        assert codes == [201, 201, 201, 429], codes
    finally:
        assert fdtest.stop(p) == 0


def test_holds_while_the_database_is_down():
    """the database down and a spool to keep posts in: 40 posts of about
    112 KB from one address, 5 an hour, get 5 accepted and 35 answered 429
    with a Retry-After of the hour to the minute, counted by the process;
    another address still gets through; back up, 6 stored, not 41 (issue
    12: all 40 were accepted in 0.1 s and mailed)"""
    spool = os.path.join(S.dir, "limit-spool")
    S.stop_frontdesk()
    S.start_frontdesk(S.write_conf("down.conf", S.conf_as(
        "web", limits={"per_ip_per_hour": "5"},
        fastcgi={"max_body": "262144"}, spool={"dir": spool})))
    try:
        fdtest.wait_for(lambda: os.path.exists(os.path.join(
            spool, "locations.json")), 10, "the locations noted")
        big = maria(first_name="Flood", message="m" * 5000,
                    phone="1" + " " * 107000 + "234567")
        assert 110000 < len(fdtest.form_body(big)) < 115000
        h = xff("198.51.100.50")
        cluster.stop()
        try:
            answers = [S.post(big, headers=h) for _ in range(40)]
            other = S.post(maria(first_name="Other"),
                           headers=xff("198.51.100.51"))
        finally:
            cluster.start()
        codes = [a.status for a in answers]
        assert codes == [201] * 5 + [429] * 35, codes
        for a in answers[5:]:
            assert 3600 < int(a.headers["retry-after"]) <= 3660, a.headers
        assert other.status == 201, other
        assert "counted_by=process" in S.log("frontdesk")
        fdtest.wait_for(lambda: not os.listdir(os.path.join(spool, "new")),
                        20, "the replay")
        assert S.count("appointment_requests", "first_name = 'Flood'") == 5
        assert S.count("appointment_requests", "first_name = 'Other'") == 1
    finally:
        S.stop_frontdesk()
        S.start_frontdesk()


def test_limit_zero_is_off():
    """per_ip_per_hour = 0 turns the limit off"""
    path = S.write_conf("off.conf", S.conf_as(
        "web", limits={"per_ip_per_hour": "0"}))
    S.stop_frontdesk()
    S.start_frontdesk(path)
    try:
        codes = {S.post(maria(), headers=xff("198.51.100.40")).status
                 for _ in range(6)}
        assert codes == {201}, codes
    finally:
        S.stop_frontdesk()
        S.start_frontdesk()


fdtest.run(globals())
