#!/usr/bin/python3
"""[limits] per_ip_per_hour through real nginx: every parsed post counts,
429 with Retry-After past the limit, exact under concurrency and across
processes, per address (X-Forwarded-For only from trusted proxies)."""
import concurrent.futures
import math
import os
import random
import threading
import time

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
    # The posts of a minute count until 61 minutes after its start: 60 to
    # 61 minutes after each (the first of the three may be a minute older)
    assert 3540 < int(r.headers["retry-after"]) <= 3660, r.headers
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


def move_a_post(addr, minutes):
    """one post of the address's last minute moved back by minutes (in
    the 61 minutes counted), or out of the count (61 and more)"""
    now = "minute % 61 + 1"
    then = "(minute - %d) %% 61 + 1" % minutes
    S.sql("UPDATE rate_limits SET counts[%s] = counts[%s] - 1%s WHERE "
          "addr = '%s'" % (now, now, (", counts[%s] = counts[%s] + 1" % (
              then, then)) if minutes < 61 else ", total = total - 1", addr))


def test_retry_after_counts_down_to_the_oldest_post():
    """Retry-After: seconds until the oldest post leaves the count, which
    keeps each minute's posts 61 minutes from its start"""
    h = xff("198.51.100.3")
    for _ in range(3):
        assert S.post(maria(), headers=h).status == 201
    move_a_post("198.51.100.3", 50)
    r = S.post(maria(), headers=h)
    # 11 minutes from the start of this minute (or, had one begun since
    # the move, of the last)
    assert r.status == 429 and 540 < int(r.headers["retry-after"]) <= 660, r
    assert S.sql("SELECT total FROM rate_limits WHERE addr = "
                 "'198.51.100.3'") == [("3",)]
    move_a_post("198.51.100.3", 61)
    assert S.post(maria(), headers=h).status == 201
    assert S.post(maria(), headers=h).status == 429


def test_the_count_by_minutes_against_an_exact_count():
    """frontdesk_rate_take over a random two-day timeline of posts from
    four addresses at limits 1, 3, 20 and 500, against a model of its
    rule (a post of minute m counts until minute m + 61): every answer and
    every Retry-After as the rule says; no sliding hour ever holds more
    accepted posts than the limit (an exact count accepts every post the
    rule accepts); a Retry-After is never less than an exact count's, and
    never more than 61 minutes; one second before it a post is refused,
    at it accepted"""
    rnd = random.Random(11)
    t0 = 1800000000.0   # 2027-01-15: p_at is the clock
    plan = []
    for addr, limit in (("rt-1", 1), ("rt-3", 3), ("rt-20", 20),
                        ("rt-500", 500)):
        t = t0
        for _ in range(600 if limit < 500 else 1500):
            # bursts and lulls, up to 3 hours between posts
            t = round(t + rnd.choice((0.2, 1, 7, 30, 95, 400, 1800, 10800)),
                      1)
            plan.append((addr, limit, t))
    answers = [int(v) for r in cluster.psql("".join(
        "SELECT frontdesk_rate_take('%s', %d, to_timestamp(%r));\n" % p
        for p in plan), db=S.db) for v in r[0].split()]
    assert len(answers) == len(plan)
    accepted = {}
    for (addr, limit, t), wait in zip(plan, answers):
        acc = accepted.setdefault(addr, [])
        counted = [a for a in acc if (math.floor(a / 60) + 61) * 60 > t]
        exact = [a for a in acc if a > t - 3600]
        if len(counted) < limit:
            assert wait == 0, (addr, t, wait, len(counted))
            assert len(exact) < limit
            acc.append(t)
            continue
        m = math.floor(counted[len(counted) - limit] / 60)
        assert wait == max(1, math.ceil((m + 61) * 60 - t)), (addr, t, wait)
        assert 1 <= wait <= 3660, wait
        if len(exact) >= limit:
            assert wait >= exact[len(exact) - limit] + 3600 - t - 1e-6
    assert sum(1 for w in answers if w) > 500, "the limits were reached"
    for limit in (1, 3):
        addr = "rt-edge-%d" % limit
        t = t0 + 17.5
        for i in range(limit):
            assert take(addr, limit, t + i) == 0
        wait = take(addr, limit, t + limit)
        assert 3600 - limit < wait <= 3660, wait
        assert take(addr, limit, t + limit + wait - 1) > 0
        assert take(addr, limit, t + limit + wait) == 0


def take(addr, limit, t):
    return int(cluster.psql("SELECT frontdesk_rate_take('%s', %d, "
                            "to_timestamp(%r))" % (addr, limit, t),
                            db=S.db)[0][0])


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


def test_over_the_limit_found_at_the_commit():
    """the count comes last in a post's transaction: a post that finds,
    once stored, that another one took the address's last place while it
    was on its way (here a transaction that counted and holds the row) is
    answered 429 with its Retry-After, and nothing of it is kept"""
    addr = "198.51.100.61"
    answer = {}
    with cluster.session(S.db) as holder:
        # 3 is the limit: two committed, the third counted, not committed
        for _ in range(2):
            assert take(addr, 3, time.time()) == 0
        holder.send("BEGIN; SELECT frontdesk_rate_take('%s', 3, now());"
                    % addr)
        fdtest.wait_for(lambda: S.sql(
            "SELECT total FROM rate_limits WHERE addr = '%s' FOR UPDATE "
            "SKIP LOCKED" % addr) == [], 10, "the row held")
        t = threading.Thread(target=lambda: answer.update(r=S.post(
            maria(first_name="Late"), headers=xff(addr))))
        t.start()
        fdtest.wait_for(lambda: S.sql(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type "
            "= 'Lock' AND datname = current_database()") != [("0",)], 10,
            "the post waiting for the row")
        assert holder.end() == 0, holder.errors()
        t.join(20)
    r = answer["r"]
    assert r.status == 429, r
    assert 3540 < int(r.headers["retry-after"]) <= 3660, r.headers
    assert S.count("appointment_requests", "first_name = 'Late'") == 0
    assert S.sql("SELECT total FROM rate_limits WHERE addr = '%s'" %
                 addr) == [("3",)]
    assert "counted_by=database" in S.log("frontdesk")


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
