#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write the seed corpus of tests/fuzz/dnswire_fuzz.c into corpus/dnswire/.

Each seed is one selector byte (0 query, 1 response, 2 zone text, 3 names)
followed by the message. Run it again after changing a seed; the files are
committed so that the fuzzer needs nothing but them.
"""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "dnswire")


def name(dotted):
    b = b""
    for label in dotted.split("."):
        if label:
            b += bytes([len(label)]) + label.encode()
    return b + b"\0"


def ptr(off):
    return struct.pack(">H", 0xC000 | off)


def hdr(id_, flags, qd, an, ns, ar):
    return struct.pack(">6H", id_, flags, qd, an, ns, ar)


def rr(owner, rtype, ttl, rdata, rclass=1):
    return owner + struct.pack(">HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def opt(size=1232, ttl=0, options=b""):
    return b"\0" + struct.pack(">HHIH", 41, size, ttl, len(options)) + options


def question(dotted, qtype=1, qclass=1):
    return name(dotted) + struct.pack(">HH", qtype, qclass)


seeds = {
    # Captured from dig 9.18.
    "q-dig-noedns": bytes.fromhex("49a30120000100000000000003777777074578616d706c6503434f4d0000010001"),
    "q-dig-cookie": bytes.fromhex("c1ab0120000100000000000103577757076558614d704c6503436f4d00001c0001"
                                  "00002904d000000000000c000a000873adfc4a6b1de0c7"),
    "q-dig-root": bytes.fromhex("246f01200001000000000001000002000100002904d0000000000000"),
    "q-dig-dnssec": bytes.fromhex("f3d2012000010000000000010361707004636f72700473636f6d0000010001"
                                  "0000291000000080000000"),
    "q-aaaa-badvers": hdr(7, 0x100, 1, 0, 0, 1) + question("a.corp.scom", 28) + opt(1232, 1 << 16),
    "q-two-opt": hdr(7, 0x100, 1, 0, 0, 2) + question("a.corp.scom") + opt() + opt(),
    "q-max-name": hdr(8, 0, 1, 0, 0, 0) + question(".".join(["x"] * 127)),
    # Ends in 0x00, so the fuzzer takes the root as the zone (a harness bug once).
    "q-127-labels-root-zone": hdr(8, 0, 1, 0, 0, 0) + question(".".join(["x"] * 127), 1, 256),
    "q-label-64": hdr(8, 0, 1, 0, 0, 0) + question("a" * 64 + ".scom"),
    "q-qdcount-2": hdr(9, 0, 2, 0, 0, 0) + question("a.scom") + question("b.scom"),
    "q-pointer": hdr(9, 0, 1, 0, 0, 0) + b"\x03www" + ptr(12) + b"\0\1\0\1",
}

q = question("www.Example.com")
t1 = 12 + len(q) + 12          # a.cdn.net, target of the first CNAME
chain = (rr(ptr(12), 5, 300, name("A.Cdn.Net")))
t2 = t1 + len(name("a.cdn.net")) + 12
chain += rr(ptr(t1), 5, 200, name("b.corp.scom"))
chain += rr(ptr(t2), 1, 50, bytes([192, 0, 2, 1]))
auth = rr(ptr(t2 + 2), 2, 3600, b"\x02ns" + ptr(t2 + 2))
seeds["r-chain"] = hdr(0xBEEF, 0x81A0, 1, 3, 1, 1) + q + chain + auth + opt()

qq = question("c0.example")
links = b""
for i in range(10):
    links += rr(name("c%d.example" % i), 5, 100, name("c%d.example" % (i + 1)))
seeds["r-chain-10"] = hdr(1, 0x8180, 1, 10, 0, 0) + qq + links
seeds["r-chain-loop"] = (hdr(1, 0x8180, 1, 2, 0, 0) + qq + rr(name("c0.example"), 5, 9, name("c1.example"))
                         + rr(name("c1.example"), 5, 9, name("c0.example")))
rev = rr(name("c1.example"), 1, 5, b"\x0a\0\0\1") + rr(name("c0.example"), 5, 9, name("c1.example"))
seeds["r-out-of-order"] = hdr(1, 0x8180, 1, 2, 0, 0) + qq + rev
base = hdr(1, 0x8180, 1, 1, 0, 0) + question("www.example.com")
a = struct.pack(">HHIH", 1, 1, 5, 4) + b"\0\0\0\0"
seeds["r-forward-ptr"] = base + ptr(40) + a
seeds["r-self-loop"] = base + ptr(33) + a
seeds["r-past-end"] = base + ptr(0x3FFF) + a
mutual = hdr(1, 0x8180, 1, 1, 0, 0) + question("q")
seeds["r-two-ptr-loop"] = mutual + ptr(22) + ptr(20) + a
seeds["r-128-labels"] = hdr(1, 0x8180, 1, 0, 0, 0) + question(".".join(["z"] * 128))
long_base = hdr(1, 0x8180, 1, 1, 0, 0) + question(".".join(["y" * 60] * 4))
seeds["r-name-over-255"] = long_base + b"\x10" + b"p" * 16 + ptr(12) + a
seeds["r-nxdomain-soa"] = (hdr(2, 0x8183, 1, 0, 1, 0) + question("nx.corp.scom")
                           + rr(ptr(15), 6, 60, b"\x02ns" + ptr(15) + b"\x0ahostmaster" + ptr(15)
                                + struct.pack(">5I", 1, 2, 3, 4, 5)))
ladder = hdr(1, 0x8180, 1, 0, 0, 0) + b"\x01a\0"
for i in range(40):
    ladder += ptr(12 if i == 0 else 15 + 2 * (i - 1))
seeds["n-ptr-ladder"] = ladder

texts = {
    "z-corp": b"corp.scom",
    "z-root": b".",
    "z-trailing-dot": b"A.Corp.SCOM.",
    "z-underscore": b"_srv.x-y.corp",
    "z-bad": b"a..b c",
    "z-long": b".".join([b"a" * 63] * 4),
}

os.makedirs(out, exist_ok=True)
for k, v in seeds.items():
    sel = {"q": 0, "r": 1, "n": 3}[k[0]]
    with open(os.path.join(out, k), "wb") as f:
        f.write(bytes([sel]) + v)
for k, v in texts.items():
    with open(os.path.join(out, k), "wb") as f:
        f.write(b"\x02" + v)
print("%d seeds in %s" % (len(seeds) + len(texts), out))
