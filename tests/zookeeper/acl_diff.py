"""ACLs and authentication, the same kazoo session on fkemu serve --zookeeper and on a real
ZooKeeper 3.8 started beside it: every answer (result or error, ACLs as read back, versions)
must be the same. Decision 50; run by CTest.

Usage: acl_diff.py FKEMU
"""
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kazoo_suite  # noqa: E402  (its server targets: ports, start, stop)
from kazoo.client import KazooClient  # noqa: E402
from kazoo.security import (ACL, CREATOR_ALL_ACL, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, Id,  # noqa: E402
                            make_acl, make_digest_acl)

SUPER = ("digest", "super:test")  # kazoo_suite.SUPER_DIGEST's password


def session(port):
    """The operations, each recorded as (name, 'ok', what it returned) or (name, error)."""
    out = []

    def rec(name, f):
        try:
            r = f()
            if hasattr(r, "aversion"):
                r = ("stat", r.version, r.aversion, r.cversion, r.numChildren)
            elif isinstance(r, tuple) and len(r) == 2 and hasattr(r[1], "aversion"):
                r = (sorted((a.perms, a.id.scheme, a.id.id) for a in r[0]), r[1].aversion)
            out.append((name, "ok", r))
        except Exception as e:  # an answer: compared by its type
            out.append((name, type(e).__name__))

    def tx(c, ops):
        t = c.transaction()
        for op in ops:
            getattr(t, op[0])(*op[1:])
        return [type(r).__name__ if isinstance(r, Exception) else
                (r if isinstance(r, (str, bool)) else "stat") for r in t.commit()]

    hosts = "127.0.0.1:%d" % port
    a, b = KazooClient(hosts=hosts), KazooClient(hosts=hosts)
    s = KazooClient(hosts=hosts, auth_data=[SUPER])
    for c in (a, b, s):
        c.start(timeout=30)
    a.add_auth("digest", "alice:pw")
    rec("create auth", lambda: a.create("/p", b"x", acl=CREATOR_ALL_ACL))
    rec("getacl owner", lambda: a.get_acls("/p"))
    rec("getacl other", lambda: b.get_acls("/p"))
    rec("get other", lambda: b.get("/p")[0])
    rec("exists other", lambda: b.exists("/p") is not None)
    rec("children other", lambda: b.get_children("/p"))
    rec("set other", lambda: b.set("/p", b"y"))
    rec("create child other", lambda: b.create("/p/c", b""))
    rec("create child owner", lambda: a.create("/p/c", b""))
    rec("delete child other", lambda: b.delete("/p/c"))
    rec("delete missing child other", lambda: b.delete("/p/zz"))
    rec("delete child owner", lambda: a.delete("/p/c"))
    rec("setacl other", lambda: b.set_acls("/p", OPEN_ACL_UNSAFE))
    rec("setacl bad version", lambda: a.set_acls("/p", READ_ACL_UNSAFE, version=5))
    rec("setacl", lambda: a.set_acls(
        "/p", [make_acl("world", "anyone", read=True)] + CREATOR_ALL_ACL, version=0))
    rec("getacl without admin", lambda: b.get_acls("/p"))
    rec("get readable", lambda: b.get("/p")[0])
    rec("setacl empty", lambda: a.set_acls("/p", []))
    rec("setacl missing", lambda: a.set_acls("/nonode", OPEN_ACL_UNSAFE))
    rec("unknown scheme", lambda: a.create("/q", b"", acl=[make_acl("foo", "bar", all=True)]))
    rec("digest without colon", lambda: a.create("/q", b"", acl=[make_acl("digest", "x", all=True)]))
    rec("ip", lambda: a.create("/ip", b"", acl=[make_acl("ip", "127.0.0.1", all=True)]))
    rec("get ip", lambda: b.get("/ip")[0])
    rec("ip mask", lambda: a.create("/ip2", b"", acl=[make_acl("ip", "10.0.0.0/8", all=True)]))
    rec("get ip mask", lambda: b.get("/ip2")[0])
    rec("get ip mask super", lambda: s.get("/ip2")[0])
    rec("bad mask", lambda: a.create("/ip3", b"", acl=[make_acl("ip", "10.0.0.0/33", all=True)]))
    rec("auth without digest", lambda: b.create("/r", b"", acl=CREATOR_ALL_ACL))
    rec("digest acl", lambda: a.create("/d", b"", acl=[make_digest_acl("bob", "pw", all=True)]))
    rec("get digest other", lambda: a.get("/d")[0])
    b.add_auth("digest", "bob:pw")
    rec("get digest own", lambda: b.get("/d")[0])
    rec("multi create denied", lambda: tx(b, [("create", "/p/m1"), ("check", "/p", 1)]))
    rec("multi check first", lambda: tx(b, [("check", "/p", 1), ("create", "/p/m1")]))
    rec("multi check unreadable", lambda: tx(b, [("check", "/ip2", 0)]))
    rec("multi acl", lambda: tx(a, [("create", "/m", b"", CREATOR_ALL_ACL),
                                    ("create", "/m/k", b""), ("set_data", "/m", b"q")]))
    rec("multi invalid acl", lambda: tx(a, [("create", "/m2", b""),
                                            ("create", "/m3", b"", [make_acl("x", "y", all=True)])]))
    rec("multi set denied", lambda: tx(b, [("set_data", "/m", b"z")]))
    rec("multi delete denied", lambda: tx(b, [("delete", "/m/k")]))
    events = []
    a.get("/m", watch=lambda e: events.append(e.type))
    rec("setacl watched", lambda: a.set_acls("/m", OPEN_ACL_UNSAFE))
    rec("set watched", lambda: a.set("/m", b"w"))
    rec("watch refused", lambda: b.get("/ip2", watch=lambda e: events.append("refused")))
    rec("super set", lambda: s.set("/ip2", b"zz"))
    rec("super setacl", lambda: s.set_acls("/ip2", OPEN_ACL_UNSAFE))
    rec("getacl reopened", lambda: b.get_acls("/ip2"))
    rec("read-only parent", lambda: a.create("/ro", b"", acl=READ_ACL_UNSAFE))
    rec("create under read-only", lambda: a.create("/ro/x", b""))
    rec("delete read-only", lambda: a.delete("/ro"))
    rec("repeated entries", lambda: a.create("/dup", b"", acl=OPEN_ACL_UNSAFE + OPEN_ACL_UNSAFE))
    rec("getacl repeated", lambda: a.get_acls("/dup"))
    rec("no permissions", lambda: a.create("/p0", b"", acl=[ACL(0, Id("world", "anyone"))]))
    rec("getacl none", lambda: a.get_acls("/p0"))
    rec("get none", lambda: a.get("/p0")[0])
    rec("exists none", lambda: a.exists("/p0") is not None)
    rec("getacl none super", lambda: s.get_acls("/p0"))
    # Watch events only go to a session that may READ the node they are about (Debian's 3.8,
    # with the fix of CVE-2024-23944): b (bob) watches a node only alice may read.
    hidden = []
    rec("hidden node", lambda: a.create("/hidden", b"", acl=[make_digest_acl("alice", "pw", all=True)]))
    rec("exists hidden", lambda: b.exists("/hidden", watch=lambda e: hidden.append(e.type)) is not None)
    rec("open parent", lambda: a.create("/shown", b""))
    rec("children shown", lambda: b.get_children("/shown", watch=lambda e: hidden.append(e.type)))
    rec("set hidden", lambda: a.set("/hidden", b"s"))
    rec("hidden child", lambda: a.create("/shown/h", b"", acl=[make_digest_acl("alice", "pw", all=True)]))
    time.sleep(0.5)
    rec("events", lambda: list(events))
    rec("hidden events", lambda: list(hidden))
    for c in (a, b, s):
        c.stop()
        c.close()
    return out


def main(argv):
    if len(argv) != 2:
        print(__doc__)
        return 2
    work = tempfile.mkdtemp(prefix="acl-diff-")
    zk = kazoo_suite.ZooKeeperTarget(work, "/usr/share/java/zookeeper.jar:/usr/share/java/*")
    fk = kazoo_suite.FkemuTarget(work, argv[1], ":memory:", False)
    try:
        zk.start()
        fk.start()
        expected, got = session(zk.port), session(fk.port)
    finally:
        fk.stop()
        zk.stop()
        shutil.rmtree(work, ignore_errors=True)
    differences = [(x, y) for x, y in zip(expected, got) if x != y]
    for x, y in differences:
        print("ZooKeeper: %s\nfkemu:     %s" % (x, y))
    if len(expected) != len(got):
        differences.append(("length", len(expected), len(got)))
    print("%d operations, %d different" % (len(expected), len(differences)))
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
