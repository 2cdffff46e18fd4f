#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A resolver that answers every query with a broken or hostile response,
and a client that checks what reaches it.

  veil_dns_evil.py serve ADDR SECONDS   answer queries to ADDR:53
  veil_dns_evil.py ask ADDR             one query per kind of response;
                                        prints "same KIND", "changed KIND"
                                        or "lost KIND"

The query name picks the response: KIND.evil.example.org. Every response
is a function of the query alone, so the client knows what was sent.
"""
import socket
import struct
import sys
import time

ZONE = b"\x04corp\x07example\x00"   # the secure zone of dns.sh


def name(text):
    return b"".join(bytes([len(l)]) + l.encode() for l in text.split(".")) + b"\0"


def rr(owner, rtype, rdata, ttl=300):
    return owner + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def response(query, kind):
    """What the evil resolver sends back for KIND (bytes)."""
    qid = query[:2]
    question = query[12:]
    end = question.index(b"\0") + 5
    question = question[:end]
    hdr = lambda an, qd=1, flags=0x8180: qid + struct.pack("!HHHHH", flags, qd, an, 0, 0)
    secure = b"\x03web" + ZONE
    body = {
        # header only, counts lie
        "short": lambda: hdr(1)[:7],
        "nobody": lambda: hdr(1),
        # answer count says 1, nothing follows the question
        "noanswer": lambda: hdr(1) + question,
        # a CNAME into the secure zone whose record runs past the end
        "rdlen": lambda: hdr(1) + question + b"\xc0\x0c" +
        struct.pack("!HHIH", 5, 1, 300, 200) + secure,
        # owner name is a pointer to itself
        "ownerloop": lambda: hdr(1) + question + b"\xc0" + bytes([12 + len(question)]) +
        struct.pack("!HHIH", 5, 1, 300, len(secure)) + secure,
        # CNAME target is a pointer to itself
        "targetloop": lambda: hdr(1) + question + b"\xc0\x0c" +
        struct.pack("!HHIH", 5, 1, 300, 2) + b"\xc0" + bytes([12 + len(question) + 12]),
        # CNAME target with 200 labels
        "labels": lambda: hdr(1) + question +
        rr(b"\xc0\x0c", 5, b"\x01a" * 200 + b"\0"),
        # a CNAME chain that loops through the secure zone
        "chainloop": lambda: hdr(2) + question +
        rr(b"\xc0\x0c", 5, secure) +
        rr(secure, 5, question[:-4]),
        # two questions, one CNAME into the secure zone
        "twoq": lambda: hdr(1, qd=2) + question + question + rr(b"\xc0\x0c", 5, secure),
        # a CNAME into the zone followed by bytes past the last record
        "trailing": lambda: hdr(1) + question + rr(b"\xc0\x0c", 5, secure) + b"\xff" * 7,
        # an A record of 5 bytes for the secure name
        "badA": lambda: hdr(2) + question + rr(b"\xc0\x0c", 5, secure) +
        rr(secure, 1, b"\x01\x02\x03\x04\x05"),
        # 600 records claimed
        "many": lambda: hdr(600) + question + rr(b"\xc0\x0c", 5, secure) * 3,
    }
    return body[kind]()


KINDS = ["short", "nobody", "noanswer", "rdlen", "ownerloop", "targetloop", "labels",
         "chainloop", "twoq", "trailing", "badA", "many"]


def serve(addr, secs):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    s.settimeout(0.5)
    print("ready", flush=True)
    deadline = time.time() + secs
    while time.time() < deadline:
        try:
            q, peer = s.recvfrom(4096)
        except socket.timeout:
            continue
        try:
            kind = q[13:13 + q[12]].decode()
            s.sendto(response(q, kind), peer)
        except (KeyError, IndexError, UnicodeDecodeError, ValueError):
            pass


def ask(addr):
    for i, kind in enumerate(KINDS):
        q = struct.pack("!HHHHHH", 0x5000 + i, 0x0100, 1, 0, 0, 0)
        q += name(kind + ".evil.example.org") + struct.pack("!HH", 1, 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2)
        s.sendto(q, (addr, 53))
        try:
            got = s.recv(65535)
        except socket.timeout:
            print("lost", kind)
            continue
        print("same" if got == response(q, kind) else "changed", kind)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], float(sys.argv[3]))
    else:
        ask(sys.argv[2])
