#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Capture IP packets on one interface and check them.

    veil_sniff.py IFACE SECONDS OUTFILE

Captures (AF_PACKET, SOCK_DGRAM: the IP packet without link header) every
IPv4 and IPv6 packet seen on IFACE for SECONDS, verifies the IPv4 header
checksum and the TCP, UDP and ICMP/ICMPv6 checksums (including the headers
quoted in ICMP errors), and writes one JSON object per packet to OUTFILE:
{"src", "dst", "proto", "csum_ok", "mss" (TCP SYN only), "quoted"
(ICMP errors: [src, dst] of the quoted header)}. Writes "ready" to
OUTFILE.ready once the socket is open.
"""
import ipaddress
import json
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def ok(data):
    return csum(data) == 0xFFFF


def tcp_mss(seg):
    if len(seg) < 20 or not seg[13] & 0x02:
        return None
    off = (seg[12] >> 4) * 4
    opts = seg[20:off]
    i = 0
    while i < len(opts):
        kind = opts[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(opts) or opts[i + 1] < 2:
            break
        if kind == 2 and opts[i + 1] == 4:
            return struct.unpack("!H", opts[i + 2:i + 4])[0]
        i += opts[i + 1]
    return None


def quoted(payload, v6):
    """Addresses of the header an ICMP error quotes."""
    inner = payload[8:]
    if v6 and len(inner) >= 40:
        return [str(ipaddress.IPv6Address(inner[8:24])),
                str(ipaddress.IPv6Address(inner[24:40]))]
    if not v6 and len(inner) >= 20:
        return [str(ipaddress.IPv4Address(inner[12:16])),
                str(ipaddress.IPv4Address(inner[16:20]))], ok(inner[:(inner[0] & 15) * 4])
    return None


def check(pkt):
    rec = {}
    ver = pkt[0] >> 4
    if ver == 4:
        ihl = (pkt[0] & 15) * 4
        total = struct.unpack("!H", pkt[2:4])[0]
        pkt = pkt[:total]
        src, dst, proto = pkt[12:16], pkt[16:20], pkt[9]
        frag = struct.unpack("!H", pkt[6:8])[0] & 0x1FFF
        rec.update(src=str(ipaddress.IPv4Address(src)),
                   dst=str(ipaddress.IPv4Address(dst)), proto=proto)
        good = ok(pkt[:ihl])
        l4 = pkt[ihl:]
        if frag:
            rec["csum_ok"] = good
            return rec
        pseudo = src + dst + struct.pack("!BBH", 0, proto, len(l4))
        if proto == 6:
            good = good and ok(pseudo + l4)
        elif proto == 17 and struct.unpack("!H", l4[6:8])[0] != 0:
            good = good and ok(pseudo + l4)
        elif proto == 1:
            good = good and ok(l4)
            if l4[0] in (3, 4, 5, 11, 12):
                q = quoted(l4, False)
                if q:
                    rec["quoted"] = q[0]
                    good = good and q[1]
    elif ver == 6:
        plen = struct.unpack("!H", pkt[4:6])[0]
        pkt = pkt[:40 + plen]
        src, dst, proto = pkt[8:24], pkt[24:40], pkt[6]
        rec.update(src=str(ipaddress.IPv6Address(src)),
                   dst=str(ipaddress.IPv6Address(dst)), proto=proto)
        l4 = pkt[40:]
        pseudo = src + dst + struct.pack("!I3xB", len(l4), proto)
        good = True
        if proto in (6, 17, 58):
            good = ok(pseudo + l4)
        if proto == 58 and l4 and l4[0] < 128:
            q = quoted(l4, True)
            if q:
                rec["quoted"] = q
    else:
        return None
    if rec["proto"] == 6:
        mss = tcp_mss(l4)
        if mss is not None:
            rec["mss"] = mss
    rec["csum_ok"] = bool(good)
    return rec


def main():
    iface, seconds, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    s.settimeout(0.2)
    with open(out + ".ready", "w") as f:
        f.write("ready\n")
    end = time.monotonic() + seconds
    with open(out, "w") as f:
        while time.monotonic() < end:
            try:
                pkt, addr = s.recvfrom(65535)
            except socket.timeout:
                continue
            if addr[2] == socket.PACKET_OUTGOING or not pkt:
                continue
            rec = check(pkt)
            if rec:
                f.write(json.dumps(rec) + "\n")
                f.flush()


if __name__ == "__main__":
    main()
