/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * veil: the generic netlink interface between veil.ko and userspace.
 *
 * This header is the single source of truth for the "veil" generic netlink
 * family. The kernel module, the veil CLI and the daemons all include it.
 *
 * Conventions
 *   - Commands are VEIL_CMD_<OBJECT>_<VERB>. Every command requires
 *     CAP_NET_ADMIN (GENL_ADMIN_PERM): changes obviously, and reads too,
 *     because tunnel and DNS state reveal who talks to whom.
 *   - Attributes are VEIL_A_<SET>_<NAME>. Each set is its own enum; nested
 *     sets are noted at the attribute that carries them. Policies are strict:
 *     an unknown attribute, a wrong type or a wrong length is refused with
 *     an extended ACK message naming the attribute.
 *   - Every object lives in the network namespace the request is sent from.
 *     A device is addressed by VEIL_A_DEV_IFINDEX or VEIL_A_DEV_IFNAME; when
 *     both are given they must name the same device.
 *   - Counters are u64 and padded with the set's *_PAD attribute.
 */
#ifndef _UAPI_LINUX_VEIL_H
#define _UAPI_LINUX_VEIL_H

#define VEIL_GENL_NAME		"veil"
#define VEIL_GENL_VERSION	1

/* rtnl link kind: ip link add veil0 type veil */
#define VEIL_LINK_KIND		"veil"

/* Default MTU of a veil device: leaves room for IPv6 + UDP + veil header. */
#define VEIL_DEFAULT_MTU	1420

/* Size of a ChaCha20-Poly1305 key. */
#define VEIL_KEY_LEN		32
/* How long replaced keys keep decrypting after a KEY_SWAP. */
#define VEIL_KEY_GRACE_SECONDS	30

/* Multicast group of the events below. */
#define VEIL_GENL_MCGRP_EVENTS	"events"

/*
 * Data packet on the wire (UDP payload), all fields big endian:
 *
 *   type(1) flags(3) receiver_index(4) counter(8) ciphertext tag(16)
 *
 * type is in 128..191 so that RFC 7983 demultiplexing on the shared UDP
 * port tells it from STUN (0..3), DTLS (20..63) and TURN ChannelData
 * (64..79). The 16-byte header is the AEAD's associated data and the
 * counter its nonce.
 */
#define VEIL_PKT_TYPE_DATA	0x80
/* Bit 0 of the first flags byte: the key phase, flipped by each KEY_SWAP. */
#define VEIL_PKT_FLAG_PHASE	0x01
#define VEIL_PKT_HDR_LEN	16
#define VEIL_PKT_TAG_LEN	16

/**
 * enum veil_cmd - commands of the veil family
 * @VEIL_CMD_DEV_GET: do: return one veil device, addressed by
 *	%VEIL_A_DEV_IFINDEX or %VEIL_A_DEV_IFNAME. dump: return every veil
 *	device of the caller's network namespace. Reply attributes: the
 *	&enum veil_a_dev set.
 * @VEIL_CMD_DEV_SET: change a device's socket, with one of:
 *	%VEIL_A_DEV_LISTEN_PORT opens the module's own UDP sockets (IPv4 and
 *	IPv6) on that port, 0 closes the device's socket;
 *	%VEIL_A_DEV_SOCK_FD adopts a bound UDP socket the caller created (its
 *	file descriptor, in the caller's process). veil data (first byte
 *	128..191) arriving on it is taken by the kernel; everything else
 *	still reaches the caller's recv(). Closing its last descriptor removes
 *	the device's tunnels and leaves the device without a socket. Giving
 *	the device another socket, port 0 or deleting the device hands it
 *	back as a plain UDP socket. Adopting the device's own socket again
 *	changes nothing.
 *	Replacing or closing the socket removes every tunnel of the device.
 *	Errors for %VEIL_A_DEV_SOCK_FD: %EBADF no such descriptor, %ENOTSOCK
 *	not a socket, %EPROTONOSUPPORT not UDP over IPv4/IPv6, %EINVAL not
 *	bound, of another network namespace than the device, or given with
 *	%VEIL_A_DEV_LISTEN_PORT, %EBUSY already an encapsulation socket (of
 *	this or another device, or of another tunnel such as L2TP or ESP).
 * @VEIL_CMD_PEER_NEW: add a tunnel: %VEIL_A_DEV_PEER with at least
 *	%VEIL_A_PEER_ID, %VEIL_A_PEER_REMOTE_ID, %VEIL_A_PEER_TX_KEY and
 *	%VEIL_A_PEER_RX_KEY. The device must have a socket, and one that
 *	carries the endpoint's address family (%EAFNOSUPPORT otherwise).
 * @VEIL_CMD_PEER_SET: change a tunnel named by %VEIL_A_PEER_ID: endpoint,
 *	keys, allowed prefixes, ports, keepalive. A list attribute given
 *	replaces the whole list.
 * @VEIL_CMD_PEER_DEL: remove the tunnel named by %VEIL_A_PEER_ID.
 * @VEIL_CMD_PEER_GET: do: one tunnel by %VEIL_A_PEER_ID; dump: every
 *	tunnel of the device. Keys are never returned.
 * @VEIL_CMD_KEY_SWAP: rekey the tunnel named by %VEIL_A_PEER_ID: the next
 *	keys (%VEIL_A_PEER_NEXT_TX_KEY, installed before with PEER_SET) become
 *	current and sending switches to them at once; the keys they replace
 *	keep decrypting for %VEIL_KEY_GRACE_SECONDS.
 * @VEIL_CMD_EVENT_ENDPOINT: event: an authenticated packet moved a
 *	tunnel's endpoint (roaming). Device attributes and a
 *	%VEIL_A_DEV_PEER with %VEIL_A_PEER_ID and %VEIL_A_PEER_ENDPOINT.
 * @VEIL_CMD_EVENT_REKEY: event: a tunnel's tx key has sent
 *	%VEIL_A_PEER_TX_COUNTER packets and needs replacing before the hard
 *	limit, where sending stops. Sent once per key.
 * @VEIL_CMD_ZONE_ADD: add the secure zone %VEIL_A_DNS_ZONE to the caller's
 *	network namespace (attributes of &enum veil_a_dns from here on).
 * @VEIL_CMD_ZONE_DEL: remove the secure zone %VEIL_A_DNS_ZONE and every
 *	cache entry inside it.
 * @VEIL_CMD_ZONE_GET: dump: every secure zone, one %VEIL_A_DNS_ZONE per
 *	message.
 * @VEIL_CMD_CACHE_ADD: cache an answer for %VEIL_A_DNS_NAME (inside a
 *	zone): %VEIL_A_DNS_ADDRS, or %VEIL_A_DNS_NXDOMAIN, for
 *	%VEIL_A_DNS_TTL seconds. Replaces what was cached for the name.
 * @VEIL_CMD_CACHE_DEL: forget %VEIL_A_DNS_NAME, or without it every entry.
 * @VEIL_CMD_CACHE_GET: do: the entry of %VEIL_A_DNS_NAME; dump: every live
 *	entry. Replies carry the name, addresses or NXDOMAIN, the TTL given
 *	and %VEIL_A_DNS_EXPIRES.
 * @VEIL_CMD_DNS_VERDICT: answer the held query %VEIL_A_DNS_QUERY_ID with
 *	%VEIL_A_DNS_VERDICT: addresses (%VEIL_A_DNS_ADDRS) or NXDOMAIN, with
 *	%VEIL_A_DNS_TTL, go into the cache and answer every query held for the
 *	name; SERVFAIL answers them without caching.
 * @VEIL_CMD_EVENT_DNS_QUERY: event: a query for a secure name with nothing
 *	cached is held until a verdict or a timeout (then SERVFAIL):
 *	%VEIL_A_DNS_QUERY_ID, %VEIL_A_DNS_NAME, %VEIL_A_DNS_QTYPE,
 *	%VEIL_A_DNS_QUERIER, %VEIL_A_DNS_NETNS_COOKIE.
 */
enum veil_cmd {
	VEIL_CMD_UNSPEC,
	VEIL_CMD_DEV_GET,
	VEIL_CMD_DEV_SET,
	VEIL_CMD_PEER_NEW,
	VEIL_CMD_PEER_SET,
	VEIL_CMD_PEER_DEL,
	VEIL_CMD_PEER_GET,
	VEIL_CMD_KEY_SWAP,
	VEIL_CMD_EVENT_ENDPOINT,
	VEIL_CMD_EVENT_REKEY,
	VEIL_CMD_ZONE_ADD,
	VEIL_CMD_ZONE_DEL,
	VEIL_CMD_ZONE_GET,
	VEIL_CMD_CACHE_ADD,
	VEIL_CMD_CACHE_DEL,
	VEIL_CMD_CACHE_GET,
	VEIL_CMD_DNS_VERDICT,
	VEIL_CMD_EVENT_DNS_QUERY,

	__VEIL_CMD_MAX
};
#define VEIL_CMD_MAX (__VEIL_CMD_MAX - 1)

/**
 * enum veil_a_dev - attributes of a veil device (top level)
 * @VEIL_A_DEV_IFINDEX: u32, interface index
 * @VEIL_A_DEV_IFNAME: string, interface name (at most IFNAMSIZ - 1 bytes)
 * @VEIL_A_DEV_MTU: u32, current MTU (reply only)
 * @VEIL_A_DEV_STATS: nested &enum veil_a_stats, device counters (reply only)
 * @VEIL_A_DEV_PAD: padding for 64-bit attributes
 * @VEIL_A_DEV_LISTEN_PORT: u16, UDP port of the device's socket, 0 for none
 * @VEIL_A_DEV_SOCK_FD: u32, file descriptor of a bound UDP socket to adopt
 *	(request only). AF_INET carries IPv4 endpoints; AF_INET6 carries
 *	IPv6, and IPv4 too (v4-mapped) unless it is IPV6_V6ONLY or bound to a
 *	specific IPv6 address. Packets leave from the socket's bound address
 *	and port.
 * @VEIL_A_DEV_PEER: nested &enum veil_a_peer, one tunnel
 * @VEIL_A_DEV_PEER_COUNT: u32, number of tunnels (reply only)
 * @VEIL_A_DEV_SOCK_ADOPTED: u8, 1 when the device's socket was adopted
 *	with %VEIL_A_DEV_SOCK_FD, 0 when it is the module's own or there is
 *	none (reply only)
 */
enum veil_a_dev {
	VEIL_A_DEV_UNSPEC,
	VEIL_A_DEV_IFINDEX,
	VEIL_A_DEV_IFNAME,
	VEIL_A_DEV_MTU,
	VEIL_A_DEV_STATS,
	VEIL_A_DEV_PAD,
	VEIL_A_DEV_LISTEN_PORT,
	VEIL_A_DEV_SOCK_FD,
	VEIL_A_DEV_PEER,
	VEIL_A_DEV_PEER_COUNT,
	VEIL_A_DEV_SOCK_ADOPTED,

	__VEIL_A_DEV_MAX
};
#define VEIL_A_DEV_MAX (__VEIL_A_DEV_MAX - 1)

/**
 * enum veil_a_stats - device counters, all u64, same meaning as the
 *	fields of struct rtnl_link_stats64 of the same name
 */
enum veil_a_stats {
	VEIL_A_STATS_UNSPEC,
	VEIL_A_STATS_RX_PACKETS,
	VEIL_A_STATS_RX_BYTES,
	VEIL_A_STATS_RX_ERRORS,
	VEIL_A_STATS_RX_DROPPED,
	VEIL_A_STATS_TX_PACKETS,
	VEIL_A_STATS_TX_BYTES,
	VEIL_A_STATS_TX_ERRORS,
	VEIL_A_STATS_TX_DROPPED,
	VEIL_A_STATS_PAD,

	__VEIL_A_STATS_MAX
};
#define VEIL_A_STATS_MAX (__VEIL_A_STATS_MAX - 1)

/**
 * enum veil_a_peer - attributes of a tunnel ("peer")
 * @VEIL_A_PEER_ID: u32, non-zero: this side's receiver index; packets
 *	arriving with it are decrypted with this tunnel's keys. Unique per
 *	device.
 * @VEIL_A_PEER_REMOTE_ID: u32, non-zero: the other side's receiver index,
 *	written into every packet sent
 * @VEIL_A_PEER_ENDPOINT: binary struct sockaddr_in or sockaddr_in6, where
 *	packets are sent; updated when an authenticated packet arrives from
 *	elsewhere (roaming)
 * @VEIL_A_PEER_TX_KEY: binary, %VEIL_KEY_LEN bytes (set only, never returned)
 * @VEIL_A_PEER_RX_KEY: binary, %VEIL_KEY_LEN bytes (set only, never returned)
 * @VEIL_A_PEER_ALLOWED: nested, list of %VEIL_A_PREFIX nests (type ignored
 *	on input): inner addresses this tunnel carries. Packets to them are
 *	sent through it; packets from it must come from them.
 * @VEIL_A_PEER_PORTS: nested, list of nested &enum veil_a_port: the only
 *	inner protocol/port destinations allowed through the tunnel, in both
 *	directions (for replies: source port). Absent or empty: all allowed.
 * @VEIL_A_PEER_KEEPALIVE: u16, seconds between keepalives, 0 for none
 * @VEIL_A_PEER_STATS: nested &enum veil_a_pstats (reply only)
 * @VEIL_A_PEER_LAST_RX: u64, milliseconds since the last authenticated
 *	packet, absent if none (reply only)
 * @VEIL_A_PEER_PAD: padding
 * @VEIL_A_PEER_ROLE: u8, &enum veil_role: which side the services in
 *	%VEIL_A_PEER_PORTS are on (default %VEIL_ROLE_CLIENT)
 * @VEIL_A_PEER_NEXT_TX_KEY: binary, %VEIL_KEY_LEN bytes (set only): the
 *	tx key after the next KEY_SWAP. Setting TX_KEY/RX_KEY instead replaces
 *	the current keys at once and forgets next and previous ones.
 * @VEIL_A_PEER_NEXT_RX_KEY: binary, %VEIL_KEY_LEN bytes (set only): the
 *	rx key after the next KEY_SWAP; it decrypts at once packets the other
 *	end sends after swapping first.
 * @VEIL_A_PEER_KEY_PHASE: u8, 0 or 1, phase of the current keys (reply only)
 * @VEIL_A_PEER_TX_COUNTER: u64, packets sent with the current key (reply only)
 * @VEIL_A_PEER_XLAT: nested &enum veil_a_xlat, 1:1 inner address
 *	translation; an empty nest removes it
 */
enum veil_a_peer {
	VEIL_A_PEER_UNSPEC,
	VEIL_A_PEER_ID,
	VEIL_A_PEER_REMOTE_ID,
	VEIL_A_PEER_ENDPOINT,
	VEIL_A_PEER_TX_KEY,
	VEIL_A_PEER_RX_KEY,
	VEIL_A_PEER_ALLOWED,
	VEIL_A_PEER_PORTS,
	VEIL_A_PEER_KEEPALIVE,
	VEIL_A_PEER_STATS,
	VEIL_A_PEER_LAST_RX,
	VEIL_A_PEER_PAD,
	VEIL_A_PEER_ROLE,
	VEIL_A_PEER_NEXT_TX_KEY,
	VEIL_A_PEER_NEXT_RX_KEY,
	VEIL_A_PEER_KEY_PHASE,
	VEIL_A_PEER_TX_COUNTER,
	VEIL_A_PEER_XLAT,

	__VEIL_A_PEER_MAX
};
#define VEIL_A_PEER_MAX (__VEIL_A_PEER_MAX - 1)

/**
 * enum veil_role - which end of a tunnel the allowed services are on
 * @VEIL_ROLE_CLIENT: the services are remote: packets sent must go to an
 *	allowed port, packets received must come from one
 * @VEIL_ROLE_SERVER: the services are local: packets received must go to
 *	an allowed port, packets sent must come from one
 */
enum veil_role {
	VEIL_ROLE_CLIENT,
	VEIL_ROLE_SERVER,
};

/**
 * enum veil_a_prefix - one inner prefix
 * @VEIL_A_PREFIX_FAMILY: u16, AF_INET or AF_INET6
 * @VEIL_A_PREFIX_ADDR: binary, 4 or 16 bytes
 * @VEIL_A_PREFIX_LEN: u8, prefix length (at most 32 or 128)
 */
enum veil_a_prefix {
	VEIL_A_PREFIX_UNSPEC,
	VEIL_A_PREFIX_FAMILY,
	VEIL_A_PREFIX_ADDR,
	VEIL_A_PREFIX_LEN,

	__VEIL_A_PREFIX_MAX
};
#define VEIL_A_PREFIX_MAX (__VEIL_A_PREFIX_MAX - 1)

/**
 * enum veil_a_xlat - 1:1 inner address translation of a tunnel
 *
 * Received packets whose source is %VEIL_A_XLAT_SRC get the source
 * %VEIL_A_XLAT_SRC_TO; those whose destination is %VEIL_A_XLAT_DST get the
 * destination %VEIL_A_XLAT_DST_TO. Packets sent get the reverse, so
 * replies flow back. Addresses quoted in ICMP errors are translated too,
 * and IP, TCP, UDP and ICMP checksums are updated. The translation is
 * applied before the allowed prefixes are consulted on receive and after
 * they are on send: allowed prefixes name local (translated) addresses.
 * Each pair is optional; both addresses of a pair are of the same family.
 *
 * @VEIL_A_XLAT_SRC: binary, 4 or 16 bytes: the peer's own inner address
 * @VEIL_A_XLAT_SRC_TO: binary, same length: the address it appears with here
 * @VEIL_A_XLAT_DST: binary, 4 or 16 bytes: the address the peer sends to
 * @VEIL_A_XLAT_DST_TO: binary, same length: the local or private target
 */
enum veil_a_xlat {
	VEIL_A_XLAT_UNSPEC,
	VEIL_A_XLAT_SRC,
	VEIL_A_XLAT_SRC_TO,
	VEIL_A_XLAT_DST,
	VEIL_A_XLAT_DST_TO,

	__VEIL_A_XLAT_MAX
};
#define VEIL_A_XLAT_MAX (__VEIL_A_XLAT_MAX - 1)

/**
 * enum veil_a_port - one allowed protocol and port range
 * @VEIL_A_PORT_PROTO: u8, IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP (ICMP and
 *	ICMPv6 echo; ports are ignored)
 * @VEIL_A_PORT_MIN: u16, first port
 * @VEIL_A_PORT_MAX: u16, last port (>= min)
 */
enum veil_a_port {
	VEIL_A_PORT_UNSPEC,
	VEIL_A_PORT_PROTO,
	VEIL_A_PORT_MIN,
	VEIL_A_PORT_MAX,

	__VEIL_A_PORT_MAX
};
#define VEIL_A_PORT_MAX_ATTR (__VEIL_A_PORT_MAX - 1)

/**
 * enum veil_a_pstats - tunnel counters, all u64
 * @VEIL_A_PSTATS_RX_PACKETS: packets decrypted and delivered
 * @VEIL_A_PSTATS_RX_BYTES: inner bytes delivered
 * @VEIL_A_PSTATS_TX_PACKETS: packets encrypted and sent
 * @VEIL_A_PSTATS_TX_BYTES: inner bytes sent
 * @VEIL_A_PSTATS_DROP_AUTH: received packets that failed authentication
 * @VEIL_A_PSTATS_DROP_REPLAY: received packets replayed or too old
 * @VEIL_A_PSTATS_DROP_SOURCE: decrypted packets whose inner source is not
 *	an allowed prefix of this tunnel
 * @VEIL_A_PSTATS_DROP_PORT: packets (either direction) to a port not allowed
 * @VEIL_A_PSTATS_DROP_MALFORMED: decrypted packets that are not valid IP
 * @VEIL_A_PSTATS_DROP_NOKEY: packets not sent: no endpoint, or the send
 *	counter is exhausted
 * @VEIL_A_PSTATS_PAD: padding
 */
enum veil_a_pstats {
	VEIL_A_PSTATS_UNSPEC,
	VEIL_A_PSTATS_RX_PACKETS,
	VEIL_A_PSTATS_RX_BYTES,
	VEIL_A_PSTATS_TX_PACKETS,
	VEIL_A_PSTATS_TX_BYTES,
	VEIL_A_PSTATS_DROP_AUTH,
	VEIL_A_PSTATS_DROP_REPLAY,
	VEIL_A_PSTATS_DROP_SOURCE,
	VEIL_A_PSTATS_DROP_PORT,
	VEIL_A_PSTATS_DROP_MALFORMED,
	VEIL_A_PSTATS_DROP_NOKEY,
	VEIL_A_PSTATS_PAD,

	__VEIL_A_PSTATS_MAX
};
#define VEIL_A_PSTATS_MAX (__VEIL_A_PSTATS_MAX - 1)

/* Limits of the DNS tables, per network namespace. */
#define VEIL_DNS_MAX_ZONES	16384
#define VEIL_DNS_MAX_ADDRS	8	/* per family and name */
#define VEIL_DNS_MAX_TTL	86400

/**
 * enum veil_a_dns - attributes of the DNS commands (top level)
 *
 * Names are in presentation form, ASCII, without the final dot, compared
 * without regard to case: "web.corp.example". Labels are 1..63 letters,
 * digits, hyphens or underscores; a name is at most 253 characters.
 *
 * @VEIL_A_DNS_ZONE: string, a secure zone: the name and every name below it
 * @VEIL_A_DNS_NAME: string, a name inside a secure zone
 * @VEIL_A_DNS_ADDRS: nested, the name's addresses: binary attributes of 4
 *	(IPv4) or 16 (IPv6) bytes, their type ignored; at most
 *	%VEIL_DNS_MAX_ADDRS of each family
 * @VEIL_A_DNS_NXDOMAIN: flag, the name does not exist (a negative entry)
 * @VEIL_A_DNS_TTL: u32, seconds the answer may be cached (1..%VEIL_DNS_MAX_TTL)
 * @VEIL_A_DNS_EXPIRES: u32, seconds the entry has left (reply only)
 * @VEIL_A_DNS_QUERY_ID: u32, a held query (event, verdict)
 * @VEIL_A_DNS_QTYPE: u16, the question's type (event only)
 * @VEIL_A_DNS_QUERIER: binary, struct sockaddr_in or sockaddr_in6 of the
 *	asking socket (event only)
 * @VEIL_A_DNS_VERDICT: u8, &enum veil_dns_verdict
 * @VEIL_A_DNS_NETNS_COOKIE: u64, the network namespace the query came
 *	from (event only)
 * @VEIL_A_DNS_PAD: padding
 */
enum veil_a_dns {
	VEIL_A_DNS_UNSPEC,
	VEIL_A_DNS_ZONE,
	VEIL_A_DNS_NAME,
	VEIL_A_DNS_ADDRS,
	VEIL_A_DNS_NXDOMAIN,
	VEIL_A_DNS_TTL,
	VEIL_A_DNS_EXPIRES,
	VEIL_A_DNS_QUERY_ID,
	VEIL_A_DNS_QTYPE,
	VEIL_A_DNS_QUERIER,
	VEIL_A_DNS_VERDICT,
	VEIL_A_DNS_NETNS_COOKIE,
	VEIL_A_DNS_PAD,

	__VEIL_A_DNS_MAX
};
#define VEIL_A_DNS_MAX (__VEIL_A_DNS_MAX - 1)

/**
 * enum veil_dns_verdict - how a held query is answered
 * @VEIL_DNS_VERDICT_ANSWER: the name has the addresses given
 * @VEIL_DNS_VERDICT_NXDOMAIN: the name does not exist (for this device)
 * @VEIL_DNS_VERDICT_SERVFAIL: no answer can be given now
 */
enum veil_dns_verdict {
	VEIL_DNS_VERDICT_ANSWER,
	VEIL_DNS_VERDICT_NXDOMAIN,
	VEIL_DNS_VERDICT_SERVFAIL,
};

#endif /* _UAPI_LINUX_VEIL_H */
