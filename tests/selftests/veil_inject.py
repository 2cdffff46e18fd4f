#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Capture one veil data packet leaving IFACE and send it again to its
destination: once with one ciphertext bit flipped (must fail
authentication) and once unchanged (a replay). Run in the sender's
namespace while traffic to DST flows.

usage: veil_inject.py IFACE DST_IP DST_PORT TRIGGER_CMD...
"""
import socket
import struct
import subprocess
import sys
import time

ETH_P_ALL = 0x0003


def capture(iface, dst, dport, trigger):
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    raw.bind((iface, 0))
    raw.settimeout(0.5)
    proc = subprocess.Popen(trigger, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 15
    try:
        while time.time() < deadline:
            try:
                pkt = raw.recv(65535)
            except socket.timeout:
                continue
            if len(pkt) < 28 or pkt[0] >> 4 != 4 or pkt[9] != socket.IPPROTO_UDP:
                continue
            ihl = (pkt[0] & 0xF) * 4
            if socket.inet_ntoa(pkt[16:20]) != dst:
                continue
            sport, port = struct.unpack("!HH", pkt[ihl:ihl + 4])
            payload = pkt[ihl + 8:]
            if port == dport and payload and payload[0] == 0x80 and len(payload) > 32:
                return payload
    finally:
        proc.wait()
    return None


def main():
    iface, dst, dport = sys.argv[1], sys.argv[2], int(sys.argv[3])
    payload = capture(iface, dst, dport, sys.argv[4:])
    if payload is None:
        print("no veil data packet seen", file=sys.stderr)
        return 1
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # One bit of the counter: the counter is fresh, so the packet gets past
    # the replay window and must then fail authentication (the header is
    # the AEAD's associated data).
    tampered = bytearray(payload)
    tampered[9] ^= 0x01
    udp.sendto(bytes(tampered), (dst, dport))
    udp.sendto(payload, (dst, dport))
    print("sent 1 tampered and 1 replayed packet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
