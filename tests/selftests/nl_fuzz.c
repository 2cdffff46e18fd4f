// SPDX-License-Identifier: GPL-2.0
/*
 * A bounded, deterministic fuzzer of the veil generic netlink family.
 *
 * Requests for every command (and for unknown and event command numbers)
 * are built from the UAPI attribute sets, then damaged: required
 * attributes left out, wrong lengths (0, 1, short, +1, up to a few KiB),
 * nested where a scalar is expected and the reverse, NLA_F_NESTED toggled,
 * unknown, reply-only and duplicated attributes, deep garbage nesting,
 * out-of-range values, semantically wrong prefixes, ports, endpoints and
 * keys, random payloads, truncated netlink and genetlink headers and bad
 * nlmsg_len. Valid tunnel creations are mixed in so that PEER_SET,
 * PEER_DEL and KEY_SWAP also meet existing tunnels.
 *
 * Every request must be answered (ACK, error or end of dump) within a
 * timeout; a request malformed by construction must get a negative errno;
 * afterwards the family still answers and the device state is consistent.
 * The same requests sent by an unprivileged user get EPERM.
 *
 * Usage (root, veil.ko loaded, in a namespace of its own):
 *   nl_fuzz VEIL_DEV OTHER_DEV
 * VEIL_FUZZ_SEED (default 0x7665696c) and VEIL_FUZZ_COUNT (default 20000)
 * change the sequence and its length; the seed is printed. KTAP output.
 *
 * "nl_fuzz --unpriv SEED VEIL_DEV OTHER_DEV" is the unprivileged half,
 * started through setpriv by the first; it prints one result line per
 * command for its parent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/veil.h>

#include "nl.h"

#define DEFAULT_SEED	0x7665696cULL
#define DEFAULT_COUNT	20000
#define BULK		300		/* tunnels added for multi-part dumps */
#define BULK_ID		1000000
#define MSG_MAX		16384
#define RECV_TIMEOUT_S	3
#define BASE_PORT	4600
#define ID_POOL		12
#define MAX_IDS		4096
#define NESTED		NLA_F_NESTED
#define BYTEORDER	NLA_F_NET_BYTEORDER

/* ---------------------------------------------------------------- rng */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t rn(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

static int chance(unsigned int pct)
{
	return rn(100) < pct;
}

static void rnd_bytes(void *p, size_t len)
{
	uint8_t *b = p;

	while (len--)
		*b++ = (uint8_t)rnd();
}

/* ------------------------------------------------- attribute policies */

/* What the kernel's policy accepts for each attribute of each set. */
enum kind { K_NONE, K_U8, K_U16, K_U32, K_STR, K_BIN, K_NEST, K_ARRAY };
enum set { S_DEV, S_PEER, S_PREFIX, S_PORT, S_NUM };

struct spec {
	enum kind kind;
	uint16_t minlen, maxlen;	/* K_BIN; maxlen 0: no maximum */
	uint32_t minval, maxval;	/* integers; maxval 0: no maximum */
	enum set sub;			/* K_NEST, K_ARRAY */
};

static const struct spec dev_spec[VEIL_A_DEV_MAX + 1] = {
	[VEIL_A_DEV_IFINDEX]	= { K_U32, .minval = 1 },
	[VEIL_A_DEV_IFNAME]	= { K_STR },
	[VEIL_A_DEV_LISTEN_PORT] = { K_U16 },
	[VEIL_A_DEV_SOCK_FD]	= { K_U32 },
	[VEIL_A_DEV_PEER]	= { K_NEST, .sub = S_PEER },
};

static const struct spec peer_spec[VEIL_A_PEER_MAX + 1] = {
	[VEIL_A_PEER_ID]	= { K_U32, .minval = 1 },
	[VEIL_A_PEER_REMOTE_ID]	= { K_U32, .minval = 1 },
	[VEIL_A_PEER_ENDPOINT]	= { K_BIN, .minlen = sizeof(struct sockaddr_in) },
	[VEIL_A_PEER_TX_KEY]	= { K_BIN, VEIL_KEY_LEN, VEIL_KEY_LEN },
	[VEIL_A_PEER_RX_KEY]	= { K_BIN, VEIL_KEY_LEN, VEIL_KEY_LEN },
	[VEIL_A_PEER_ALLOWED]	= { K_ARRAY, .sub = S_PREFIX },
	[VEIL_A_PEER_PORTS]	= { K_ARRAY, .sub = S_PORT },
	[VEIL_A_PEER_KEEPALIVE]	= { K_U16 },
	[VEIL_A_PEER_ROLE]	= { K_U8, .maxval = VEIL_ROLE_SERVER },
	[VEIL_A_PEER_NEXT_TX_KEY] = { K_BIN, VEIL_KEY_LEN, VEIL_KEY_LEN },
	[VEIL_A_PEER_NEXT_RX_KEY] = { K_BIN, VEIL_KEY_LEN, VEIL_KEY_LEN },
	/* A nest the fuzzer fills with bytes: the kernel may refuse them. */
	[VEIL_A_PEER_XLAT]	= { K_BIN },
};

static const struct spec prefix_spec[VEIL_A_PREFIX_MAX + 1] = {
	[VEIL_A_PREFIX_FAMILY]	= { K_U16 },
	[VEIL_A_PREFIX_ADDR]	= { K_BIN, .minlen = 4 },
	[VEIL_A_PREFIX_LEN]	= { K_U8, .maxval = 128 },
};

static const struct spec port_spec[VEIL_A_PORT_MAX_ATTR + 1] = {
	[VEIL_A_PORT_PROTO]	= { K_U8 },
	[VEIL_A_PORT_MIN]	= { K_U16 },
	[VEIL_A_PORT_MAX]	= { K_U16 },
};

static const struct {
	const struct spec *spec;
	unsigned int max;
} sets[S_NUM] = {
	[S_DEV]		= { dev_spec, VEIL_A_DEV_MAX },
	[S_PEER]	= { peer_spec, VEIL_A_PEER_MAX },
	[S_PREFIX]	= { prefix_spec, VEIL_A_PREFIX_MAX },
	[S_PORT]	= { port_spec, VEIL_A_PORT_MAX_ATTR },
};

static const struct spec *spec_of(enum set s, unsigned int type)
{
	static const struct spec none = { K_NONE };

	return type && type <= sets[s].max ? &sets[s].spec[type] : &none;
}

/* Would the policy accept this payload for a scalar attribute? */
static int payload_ok(const struct spec *sp, const uint8_t *d, size_t len)
{
	uint32_t v = 0;

	switch (sp->kind) {
	case K_U8:
		if (len != 1)
			return 0;
		v = d[0];
		break;
	case K_U16:
		if (len != 2)
			return 0;
		v = (uint32_t)d[0] | (uint32_t)d[1] << 8;
		break;
	case K_U32:
		if (len != 4)
			return 0;
		memcpy(&v, d, 4);
		break;
	case K_STR:	/* NLA_NUL_STRING of at most IFNAMSIZ - 1 characters */
		return len && memchr(d, 0, len < IFNAMSIZ ? len : IFNAMSIZ);
	case K_BIN:
		return len >= sp->minlen && (!sp->maxlen || len <= sp->maxlen);
	case K_NEST:
	case K_ARRAY:
		return len == 0 || len >= 4;	/* judged by the caller */
	default:
		return 0;
	}
	return v >= sp->minval && (!sp->maxval || v <= sp->maxval);
}

/* ------------------------------------------------------- the request */

enum cls { C_MAYBE, C_MUST_FAIL };

struct req {
	uint8_t buf[MSG_MAX];
	size_t len;
	uint8_t cmd;
	int dump;
	int must_fail;		/* malformed by construction */
	int uncertain;		/* success would not say what changed */
	int pct;		/* damage probability per attribute, percent */
	int clean;		/* well-formed by construction */
	int full;		/* an attribute did not fit and was left out */
	uint32_t id;		/* effective VEIL_A_PEER_ID (0: none) */
	int port;		/* effective LISTEN_PORT (-1: none) */
	const char *why;	/* first reason it must fail */
};

static void fail_because(struct req *r, const char *why)
{
	if (!r->must_fail)
		r->why = why;
	r->must_fail = 1;
}

static int room(const struct req *r, size_t len)
{
	return r->len + NLA_HDRLEN + NLA_ALIGN(len) <= sizeof(r->buf) - 64;
}

static void put_raw(struct req *r, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)(r->buf + r->len);

	if (r->len + NLA_HDRLEN + NLA_ALIGN(len) > sizeof(r->buf)) {
		r->full = 1;
		return;
	}

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len)
		memcpy(a + 1, data, len);
	memset((uint8_t *)(a + 1) + len, 0, NLA_ALIGN(len) - len);
	r->len += NLA_HDRLEN + NLA_ALIGN(len);
}

#define NO_NEST ((size_t)-1)

static size_t nest_open(struct req *r, uint16_t type)
{
	size_t off = r->len;

	put_raw(r, type, NULL, 0);
	return r->len == off ? NO_NEST : off;
}

static void nest_close(struct req *r, size_t off)
{
	struct nlattr *a = (struct nlattr *)(r->buf + off);

	if (off == NO_NEST)	/* the nest itself did not fit */
		return;

	a->nla_len = (uint16_t)(r->len - off);
}

static const uint16_t odd_lens[] = { 0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 27, 28, 29, 31, 32,
				     33, 63, 64, 255, 256, 1024, 2048, 4000 };

/* Nests within nests of random types, @depth deep. */
static void garbage_nest(struct req *r, uint16_t type, int depth)
{
	size_t off;
	uint8_t junk[16];

	if (!room(r, 64)) {
		r->full = 1;
		return;
	}
	off = nest_open(r, type | NESTED);
	if (chance(30)) {
		rnd_bytes(junk, sizeof(junk));
		put_raw(r, (uint16_t)(1 + rn(20)), junk, rn(sizeof(junk)));
	}
	if (depth > 1)
		garbage_nest(r, (uint16_t)rn(20), depth - 1);
	nest_close(r, off);
}

/* An attribute no policy of @s accepts: unknown, UNSPEC or reply-only. */
static void put_bad_type(struct req *r, enum set s)
{
	uint8_t data[64];
	unsigned int type;
	size_t len = odd_lens[rn(8)];

	switch (rn(3)) {
	case 0:
		type = sets[s].max + 1 + rn(chance(50) ? 8 : 0x3f00);
		break;
	case 1:
		type = 0;
		break;
	default:	/* reply-only or reserved: a K_NONE slot of the set */
		do
			type = 1 + rn(sets[s].max);
		while (sets[s].spec[type].kind != K_NONE && s != S_PREFIX && s != S_PORT);
		if (sets[s].spec[type].kind != K_NONE)
			type = sets[s].max + 1;
		break;
	}
	rnd_bytes(data, sizeof(data));
	if (room(r, len)) {
		put_raw(r, (uint16_t)type, data, len);
		fail_because(r, "attribute type the policy refuses");
	}
}

/*
 * Emit one scalar attribute of set @s with a valid payload, or, with the
 * request's damage probability, a damaged one.
 */
static void put_attr(struct req *r, enum set s, uint16_t type, const void *data, size_t len)
{
	const struct spec *sp = spec_of(s, type);
	uint8_t big[4096];
	size_t l;

	if (chance(r->pct / 3 + 1) && r->pct)
		put_bad_type(r, s);
	if (!r->pct || !chance(r->pct)) {
		put_raw(r, type, data, len);
		if (s == S_PEER && type == VEIL_A_PEER_ID)
			memcpy(&r->id, data, 4);
		if (s == S_DEV && type == VEIL_A_DEV_LISTEN_PORT)
			r->port = *(const uint16_t *)data;
		if (r->pct && chance(r->pct / 2))	/* a duplicate: the last one counts */
			put_raw(r, type, data, len);
		return;
	}
	switch (rn(6)) {
	case 0:	/* wrong length, random payload */
	case 1:
		l = odd_lens[rn(sizeof(odd_lens) / sizeof(odd_lens[0]))];
		if (l == len)
			l = len + 1;
		if (chance(15))
			l = 1 + rn(sizeof(big));
		if (!room(r, l))
			l = 0;
		rnd_bytes(big, l);
		if (sp->kind == K_STR && chance(50))
			for (size_t i = 0; i < l; i++)
				big[i] = (uint8_t)('a' + big[i] % 26);
		put_raw(r, type, big, l);
		if (!payload_ok(sp, big, l))
			fail_because(r, "wrong attribute length");
		else
			r->uncertain = 1;
		break;
	case 2:	/* a scalar flagged as nested */
		put_raw(r, type | NESTED, data, len);
		fail_because(r, "NLA_F_NESTED on a scalar");
		break;
	case 3:	/* nested where a scalar belongs */
		garbage_nest(r, type, 1 + rn(4));
		fail_because(r, "nested attribute where a scalar belongs");
		break;
	case 4:	/* out of range, where there is a range */
		if (sp->minval == 1) {
			uint32_t zero = 0;

			put_raw(r, type, &zero, 4);
			fail_because(r, "value below the minimum");
		} else if (sp->maxval) {
			uint8_t v = (uint8_t)(sp->maxval + 1 + rn(255 - sp->maxval));

			put_raw(r, type, &v, 1);
			fail_because(r, "value above the maximum");
		} else {
			put_raw(r, type | BYTEORDER, data, len);
			r->uncertain = 1;
		}
		break;
	default:	/* right length, random value */
		rnd_bytes(big, len);
		put_raw(r, type, big, len);
		if (!payload_ok(sp, big, len))
			fail_because(r, "value out of range");
		r->uncertain = 1;
		break;
	}
}

/* Open a nest of set @s (NLA_F_NESTED maybe left out, which must fail). */
static size_t open_nest(struct req *r, enum set s, uint16_t type, int entry)
{
	if (r->pct && chance(r->pct / 4 + 1)) {
		/* Array entries are only parsed by PEER_NEW and PEER_SET. */
		if (!entry)
			fail_because(r, "nest without NLA_F_NESTED");
		else if (r->cmd == VEIL_CMD_PEER_NEW || r->cmd == VEIL_CMD_PEER_SET)
			fail_because(r, "array entry without NLA_F_NESTED");
		else
			r->uncertain = 1;
		return nest_open(r, type);
	}
	(void)s;
	return nest_open(r, type | NESTED);
}

static int parses_peer(const struct req *r)
{
	return r->cmd == VEIL_CMD_PEER_NEW || r->cmd == VEIL_CMD_PEER_SET;
}

static void put_prefix(struct req *r)
{
	uint16_t fam = chance(60) ? AF_INET : AF_INET6;
	uint8_t addr[16] = { 0 }, cidr;
	size_t alen = fam == AF_INET ? 4 : 16, off;
	int bad = r->pct && chance(r->pct / 2);
	int what = bad ? (int)rn(4) : -1;

	if (fam == AF_INET) {
		addr[0] = 10;
		addr[2] = (uint8_t)rn(4);
		cidr = 24;
	} else {
		addr[0] = 0xfd;
		addr[7] = (uint8_t)rn(4);
		cidr = 64;
	}
	if (!room(r, 64))
		return;
	off = open_nest(r, S_PREFIX, (uint16_t)(1 + rn(3)), 1);
	if (what == 0) {
		fam = (uint16_t)(AF_INET6 + 1 + rn(100));
	} else if (what == 1) {
		cidr = (uint8_t)(alen * 8 + 1 + rn(128 - alen * 8 + 1));
		if (cidr > 128)
			cidr = 128;
		if (cidr <= alen * 8)
			what = -1;
	} else if (what == 2) {
		alen = alen == 4 ? 16 : 4;
	}
	if (what >= 0) {	/* the fault must not be damaged into something valid */
		if (what != 3)
			put_raw(r, VEIL_A_PREFIX_FAMILY, &fam, 2);
		put_raw(r, VEIL_A_PREFIX_ADDR, addr, alen);
		put_raw(r, VEIL_A_PREFIX_LEN, &cidr, 1);
	} else {
		put_attr(r, S_PREFIX, VEIL_A_PREFIX_FAMILY, &fam, 2);
		put_attr(r, S_PREFIX, VEIL_A_PREFIX_ADDR, addr, alen);
		put_attr(r, S_PREFIX, VEIL_A_PREFIX_LEN, &cidr, 1);
	}
	nest_close(r, off);
	if (what >= 0 && parses_peer(r))
		fail_because(r, "allowed prefix of bad family, length or missing attribute");
}

static void put_port(struct req *r)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP };
	uint8_t proto = protos[rn(3)];
	uint16_t min = (uint16_t)(1 + rn(1000)), max = (uint16_t)(min + rn(100));
	int what = r->pct && chance(r->pct / 2) ? (int)rn(3) : -1;
	size_t off;

	if (!room(r, 64))
		return;
	off = open_nest(r, S_PORT, (uint16_t)(1 + rn(3)), 1);
	if (what == 0)
		proto = (uint8_t)(proto == IPPROTO_ICMP ? 47 : 200 + rn(50));
	if (what == 1 && proto != IPPROTO_ICMP)
		min = (uint16_t)(max + 1 + rn(10));
	else if (what == 1)
		what = -1;
	if (what >= 0) {
		if (what != 2)
			put_raw(r, VEIL_A_PORT_PROTO, &proto, 1);
		put_raw(r, VEIL_A_PORT_MIN, &min, 2);
		put_raw(r, VEIL_A_PORT_MAX, &max, 2);
	} else {
		put_attr(r, S_PORT, VEIL_A_PORT_PROTO, &proto, 1);
		put_attr(r, S_PORT, VEIL_A_PORT_MIN, &min, 2);
		put_attr(r, S_PORT, VEIL_A_PORT_MAX, &max, 2);
	}
	nest_close(r, off);
	if (what >= 0 && parses_peer(r))
		fail_because(r, "port entry with bad protocol, range or no protocol");
}

static void put_endpoint(struct req *r)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	int bad = r->pct && chance(r->pct / 2);
	uint8_t buf[sizeof(s6) + 4] = { 0 };
	size_t len;

	s4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s4.sin_port = s6.sin6_port = htons((uint16_t)(20000 + rn(1000)));
	if (chance(50)) {
		memcpy(buf, &s4, sizeof(s4));
		len = sizeof(s4);
	} else {
		memcpy(buf, &s6, sizeof(s6));
		len = sizeof(s6);
	}
	if (bad) {
		switch (rn(3)) {
		case 0:	/* port 0 */
			((struct sockaddr_in *)buf)->sin_port = 0;
			break;
		case 1:	/* family and length disagree */
			len = len == sizeof(s4) ? sizeof(s6) : sizeof(s4);
			break;
		default:
			((struct sockaddr *)buf)->sa_family = AF_UNIX;
			break;
		}
	}
	if (bad)
		put_raw(r, VEIL_A_PEER_ENDPOINT, buf, len);
	else
		put_attr(r, S_PEER, VEIL_A_PEER_ENDPOINT, buf, len);
	if (bad && parses_peer(r))
		fail_because(r, "endpoint of bad family, length or port 0");
}

static void put_key(struct req *r, uint16_t type)
{
	uint8_t k[VEIL_KEY_LEN];

	rnd_bytes(k, sizeof(k));
	put_attr(r, S_PEER, type, k, sizeof(k));
}

static uint32_t pick_id(void)
{
	return chance(90) ? 1 + rn(ID_POOL) : (uint32_t)(1 + rn(0xfffffffe));
}

/*
 * The PEER nest. @need: the attributes the command requires (bitmask of
 * VEIL_A_PEER_*); any of them may be left out, which must fail.
 */
static void put_peer(struct req *r, uint32_t need, uint32_t id)
{
	uint32_t remote = 1 + rn(1000), n, i;
	uint16_t ka = chance(80) ? 0 : (uint16_t)(1 + rn(30));
	uint8_t role = (uint8_t)rn(2);
	int keys = need & (1u << VEIL_A_PEER_TX_KEY) || chance(20);
	size_t off, l;
	int next;

	off = open_nest(r, S_PEER, VEIL_A_DEV_PEER, 0);
	if (need && r->pct && chance(r->pct / 3)) {	/* leave one required attribute out */
		uint32_t drop;

		do
			drop = 1u << rn(VEIL_A_PEER_MAX + 1);
		while (!(need & drop));
		need &= ~drop;
		fail_because(r, "a required peer attribute left out");
		if (drop == 1u << VEIL_A_PEER_ID)
			id = 0;
		if (drop == 1u << VEIL_A_PEER_TX_KEY)
			keys = 0;
	}
	if (id)
		put_attr(r, S_PEER, VEIL_A_PEER_ID, &id, 4);
	if (need & (1u << VEIL_A_PEER_REMOTE_ID) ||
	    (r->cmd != VEIL_CMD_PEER_NEW && chance(20)))
		put_attr(r, S_PEER, VEIL_A_PEER_REMOTE_ID, &remote, 4);
	if (keys) {
		int pair = !(r->pct && chance(r->pct / 4));

		put_key(r, VEIL_A_PEER_TX_KEY);
		if (pair)
			put_key(r, VEIL_A_PEER_RX_KEY);
		else if (parses_peer(r))
			fail_because(r, "tx key without rx key");
	}
	next = r->cmd == VEIL_CMD_PEER_SET && !keys && chance(35) ? 1 :
	       r->pct && chance(r->pct / 5) ? 1 + (int)rn(2) : 0;
	if (next) {
		put_key(r, VEIL_A_PEER_NEXT_TX_KEY);
		if (next == 1)
			put_key(r, VEIL_A_PEER_NEXT_RX_KEY);
		/* next keys: in pairs, for an existing tunnel, not with new current keys */
		if (parses_peer(r) && (next == 2 || keys || r->cmd == VEIL_CMD_PEER_NEW))
			fail_because(r, "next keys where they cannot go");
	}
	if (chance(parses_peer(r) ? 30 : 10))
		put_endpoint(r);
	/* Prefixes may clash with another tunnel's: not in well-formed requests. */
	if (!r->clean && chance(parses_peer(r) ? 30 : 10)) {
		l = open_nest(r, S_PEER, VEIL_A_PEER_ALLOWED, 0);
		n = rn(chance(5) ? 60 : 4);
		for (i = 0; i < n; i++)
			put_prefix(r);
		nest_close(r, l);
	}
	if (chance(parses_peer(r) ? 30 : 10)) {
		l = open_nest(r, S_PEER, VEIL_A_PEER_PORTS, 0);
		n = rn(chance(5) ? 60 : 4);
		for (i = 0; i < n; i++)
			put_port(r);
		nest_close(r, l);
	}
	if (chance(20))
		put_attr(r, S_PEER, VEIL_A_PEER_KEEPALIVE, &ka, 2);
	if (chance(20))
		put_attr(r, S_PEER, VEIL_A_PEER_ROLE, &role, 1);
	if (r->pct && chance(r->pct / 4)) {
		garbage_nest(r, (uint16_t)(1 + rn(VEIL_A_PEER_MAX + 4)), 4 + rn(30));
		fail_because(r, "deep garbage nesting");
	}
	nest_close(r, off);
}

struct target {
	unsigned int veil_idx, other_idx;
	const char *veil_name, *other_name;
	uint16_t family;
	uint32_t portid;
	uint32_t seq;
};

static const uint8_t peer_cmds[] = { VEIL_CMD_PEER_NEW, VEIL_CMD_PEER_SET, VEIL_CMD_PEER_DEL,
				     VEIL_CMD_PEER_GET, VEIL_CMD_KEY_SWAP };

static int is_peer_cmd(uint8_t cmd)
{
	return memchr(peer_cmds, cmd, sizeof(peer_cmds)) != NULL;
}

static int known_cmd(uint8_t cmd)
{
	return cmd >= VEIL_CMD_DEV_GET && cmd <= VEIL_CMD_KEY_SWAP;
}

static void put_header(struct req *r, const struct target *t, uint16_t flags)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)r->buf;
	struct genlmsghdr *g = (struct genlmsghdr *)(nlh + 1);

	memset(r->buf, 0, NLMSG_HDRLEN + GENL_HDRLEN);
	nlh->nlmsg_type = t->family;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	g->cmd = r->cmd;
	g->version = VEIL_GENL_VERSION;
	r->len = NLMSG_HDRLEN + GENL_HDRLEN;
}

/* The device attributes: index, name or both, right or wrong. */
static void put_device(struct req *r, const struct target *t)
{
	uint32_t idx = t->veil_idx;
	const char *name = t->veil_name;
	int uses_dev = !(r->cmd == VEIL_CMD_DEV_GET && r->dump);
	unsigned int how = rn(100);

	if (r->pct && chance(r->pct / 3)) {
		switch (rn(4)) {
		case 0:
			if (uses_dev)
				fail_because(r, "no device named");
			return;
		case 1:
			idx = t->other_idx;
			name = t->other_name;
			break;
		case 2:
			idx = 0x7ffffff0;
			name = "veilnosuch0";
			break;
		default:
			name = t->other_name;
			how = 99;	/* both, disagreeing */
			break;
		}
		if (uses_dev)
			fail_because(r, "a device that is missing, not veil or disagrees");
	}
	if (how < 50 || how >= 80)
		put_attr(r, S_DEV, VEIL_A_DEV_IFINDEX, &idx, 4);
	if (how >= 50)
		put_attr(r, S_DEV, VEIL_A_DEV_IFNAME, name, strlen(name) + 1);
}

struct shadow {
	uint8_t ids[MAX_IDS / 8];	/* ids 1..ID_POOL tracked exactly, others in a list */
	uint32_t extra[MAX_IDS];
	unsigned int nextra;
	int port;
	int lost;			/* an uncertain success: re-read from the kernel */
};

static int shadow_has(const struct shadow *s, uint32_t id)
{
	unsigned int i;

	if (id <= ID_POOL)
		return s->ids[id / 8] >> (id % 8) & 1;
	for (i = 0; i < s->nextra; i++)
		if (s->extra[i] == id)
			return 1;
	return 0;
}

static void shadow_set(struct shadow *s, uint32_t id, int on)
{
	unsigned int i;

	if (id <= ID_POOL) {
		if (on)
			s->ids[id / 8] |= (uint8_t)(1 << (id % 8));
		else
			s->ids[id / 8] &= (uint8_t)~(1 << (id % 8));
		return;
	}
	for (i = 0; i < s->nextra; i++)
		if (s->extra[i] == id) {
			if (!on)
				s->extra[i] = s->extra[--s->nextra];
			return;
		}
	if (on && s->nextra < MAX_IDS)
		s->extra[s->nextra++] = id;
	else if (on)
		s->lost = 1;
}

static unsigned int shadow_count(const struct shadow *s)
{
	unsigned int n = s->nextra, id;

	for (id = 1; id <= ID_POOL; id++)
		n += shadow_has(s, id);
	return n;
}

static void shadow_clear(struct shadow *s)
{
	memset(s->ids, 0, sizeof(s->ids));
	s->nextra = 0;
}

/* Message-level damage. */
enum shape { SH_NORMAL, SH_RANDOM, SH_SHORT_GENL, SH_SHORT_NL, SH_LEN_BIG, SH_LEN_SMALL,
	     SH_LEN_CUT, SH_DUMP_ON_DO, SH_NUM };
static const char *const shape_name[SH_NUM] = {
	"attribute-level", "random payload", "short genetlink header", "short netlink header",
	"nlmsg_len beyond the data", "nlmsg_len below a header", "nlmsg_len cutting the data",
	"NLM_F_DUMP on a do-only command",
};

/* Does the netlink core drop this without answering? */
static int silent_shape(enum shape sh)
{
	return sh == SH_SHORT_NL || sh == SH_LEN_BIG || sh == SH_LEN_SMALL;
}

static uint8_t pick_cmd(void)
{
	static const struct { uint8_t cmd; uint8_t w; } w[] = {
		{ VEIL_CMD_DEV_GET, 12 }, { VEIL_CMD_DEV_SET, 5 }, { VEIL_CMD_PEER_NEW, 17 },
		{ VEIL_CMD_PEER_SET, 18 }, { VEIL_CMD_PEER_DEL, 8 }, { VEIL_CMD_PEER_GET, 12 },
		{ VEIL_CMD_KEY_SWAP, 10 }, { VEIL_CMD_EVENT_ENDPOINT, 2 },
		{ VEIL_CMD_EVENT_REKEY, 2 }, { 0, 4 },
	};
	unsigned int total = 0, x, i;

	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		total += w[i].w;
	x = rn(total);
	for (i = 0; x >= w[i].w; i++)
		x -= w[i].w;
	if (w[i].cmd)
		return w[i].cmd;
	return chance(25) ? 0 : (uint8_t)(VEIL_CMD_MAX + 1 + rn(255 - VEIL_CMD_MAX));
}

/*
 * Build request into @r. @unpriv: only attribute-level damage (the
 * permission check comes first, so everything must be EPERM).
 */
static enum shape build(struct req *r, const struct target *t, const struct shadow *sh,
			uint8_t cmd, int clean, int unpriv)
{
	enum shape shape = SH_NORMAL;
	uint32_t id = pick_id();
	uint16_t port;
	size_t i, l;
	unsigned int x;

	r->len = 0;
	r->clean = clean;
	r->full = 0;
	r->must_fail = 0;
	r->uncertain = 0;
	r->why = NULL;
	r->id = 0;
	r->port = -1;
	r->cmd = cmd;
	r->dump = (cmd == VEIL_CMD_DEV_GET || cmd == VEIL_CMD_PEER_GET) && chance(35);
	r->pct = clean || chance(25) ? 0 : (int)(5 + rn(40));

	if (!clean && !unpriv) {
		x = rn(100);
		shape = x < 4 ? SH_RANDOM : x < 6 ? SH_SHORT_GENL : x < 8 ? SH_SHORT_NL :
			x < 10 ? SH_LEN_BIG : x < 11 ? SH_LEN_SMALL : x < 14 ? SH_LEN_CUT :
			x < 16 ? SH_DUMP_ON_DO : SH_NORMAL;
		if (shape == SH_DUMP_ON_DO) {
			if (known_cmd(cmd) && cmd != VEIL_CMD_DEV_GET && cmd != VEIL_CMD_PEER_GET)
				fail_because(r, "NLM_F_DUMP on a command without dump");
			else
				shape = SH_NORMAL;
		}
	}
	put_header(r, t, r->dump || shape == SH_DUMP_ON_DO ? NLM_F_DUMP : 0);
	if (!known_cmd(cmd))
		fail_because(r, "unknown or event command number");

	if (shape == SH_RANDOM) {
		l = rn(chance(20) ? 4096 : 256);
		rnd_bytes(r->buf + r->len, l);
		r->len += l;
		r->uncertain = 1;
	} else {
		if (cmd != VEIL_CMD_DEV_GET || !r->dump || chance(20))
			put_device(r, t);
		if (cmd == VEIL_CMD_DEV_SET || chance(5)) {
			port = sh->port > 0 ? (uint16_t)sh->port : BASE_PORT;
			if (chance(8))
				port = chance(50) ? 0 : (uint16_t)(BASE_PORT + 1 + rn(2));
			if (sh->port == 0 && chance(70))
				port = BASE_PORT;
			put_attr(r, S_DEV, VEIL_A_DEV_LISTEN_PORT, &port, 2);
		}
		if (cmd == VEIL_CMD_PEER_NEW) {
			if (clean)	/* a free id from the pool if there is one */
				for (i = 0; i < ID_POOL && shadow_has(sh, id); i++)
					id = 1 + (id % ID_POOL);
			put_peer(r, 1u << VEIL_A_PEER_ID | 1u << VEIL_A_PEER_REMOTE_ID |
				 1u << VEIL_A_PEER_TX_KEY, id);
		} else if (is_peer_cmd(cmd) && !(cmd == VEIL_CMD_PEER_GET && r->dump)) {
			put_peer(r, 1u << VEIL_A_PEER_ID, id);
		} else if (chance(10)) {	/* ignored, but validated */
			put_peer(r, 0, chance(50) ? id : 0);
		}
		if (r->pct && chance(r->pct / 4))
			put_bad_type(r, S_DEV);
		if (r->pct && chance(r->pct / 6)) {
			garbage_nest(r, (uint16_t)(1 + rn(VEIL_A_DEV_MAX + 4)), 4 + rn(40));
			fail_because(r, "deep garbage nesting");
		}
	}
	((struct nlmsghdr *)r->buf)->nlmsg_len = (uint32_t)r->len;
	if (r->full) {	/* what made it malformed may be what was left out */
		r->must_fail = !known_cmd(cmd);
		r->uncertain = 1;
	}

	switch (shape) {
	case SH_SHORT_GENL:	/* a netlink header, part of a genetlink one */
		r->len = NLMSG_HDRLEN + rn(GENL_HDRLEN);
		((struct nlmsghdr *)r->buf)->nlmsg_len = (uint32_t)r->len;
		fail_because(r, "genetlink header cut short");
		break;
	case SH_SHORT_NL:
		r->len = rn(NLMSG_HDRLEN);
		break;
	case SH_LEN_BIG:
		((struct nlmsghdr *)r->buf)->nlmsg_len = (uint32_t)(r->len + 1 + rn(chance(50) ? 8 : 1u << 20));
		break;
	case SH_LEN_SMALL:
		((struct nlmsghdr *)r->buf)->nlmsg_len = rn(NLMSG_HDRLEN);
		break;
	case SH_LEN_CUT:	/* fewer than 16 bytes left over: no second message */
		l = 1 + rn(12);
		if (r->len - l < NLMSG_HDRLEN + GENL_HDRLEN)
			l = r->len - NLMSG_HDRLEN - GENL_HDRLEN;
		((struct nlmsghdr *)r->buf)->nlmsg_len = (uint32_t)(r->len - l);
		/* A cut on an attribute boundary may remove just the damage. */
		r->must_fail = !known_cmd(cmd);
		r->uncertain = 1;
		break;
	default:
		break;
	}
	return shape;
}

/* ------------------------------------------------------------ socket */

static uint8_t rbuf[1 << 17];

typedef void (*reply_fn)(const struct nlmsghdr *nlh, void *data);

static int open_sock(struct target *t)
{
	struct timeval tv = { .tv_sec = RECV_TIMEOUT_S };
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	socklen_t salen = sizeof(sa);
	int fd, one = 1;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(fd, (struct sockaddr *)&sa, &salen)) {
		close(fd);
		return -1;
	}
	t->portid = sa.nl_pid;
	return fd;
}

static long n_stray, n_enobufs;

/*
 * Wait for the answer to @seq: an NLMSG_ERROR (ACK or error) or an
 * NLMSG_DONE. Returns 1 with *err set, 0 on timeout or socket error.
 */
static int await(int fd, uint32_t seq, int *err, reply_fn fn, void *data)
{
	for (;;) {
		ssize_t n = recv(fd, rbuf, sizeof(rbuf), 0);
		struct nlmsghdr *nlh;
		int len;

		if (n < 0) {
			if (errno == ENOBUFS) {
				n_enobufs++;
				continue;
			}
			if (errno == EINTR)
				continue;
			return 0;
		}
		len = (int)n;
		for (nlh = (struct nlmsghdr *)rbuf; NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
			if (nlh->nlmsg_seq != seq) {
				n_stray++;
				continue;
			}
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nlh);

				*err = nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) ? e->error : -EBADMSG;
				return 1;
			}
			if (nlh->nlmsg_type == NLMSG_DONE) {
				*err = 0;
				if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
					memcpy(err, NLMSG_DATA(nlh), sizeof(int));
				return 1;
			}
			if (fn)
				fn(nlh, data);
		}
	}
}

static int send_req(int fd, struct target *t, struct req *r)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct nlmsghdr *nlh = (struct nlmsghdr *)r->buf;
	uint32_t seq = ++t->seq;

	if (r->len >= offsetof(struct nlmsghdr, nlmsg_pid))
		nlh->nlmsg_seq = seq;
	if (r->len >= sizeof(*nlh))
		nlh->nlmsg_pid = 0;
	if (sendto(fd, r->buf, r->len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	return (int)seq;
}

/* Resolve the family id on @fd. */
static int resolve_family(int fd, struct target *t)
{
	struct req *r = calloc(1, sizeof(*r));
	struct nlmsghdr *nlh = (struct nlmsghdr *)r->buf;
	struct genlmsghdr *g = (struct genlmsghdr *)(nlh + 1);
	int seq, err = -1;
	uint8_t *p;

	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	r->len = NLMSG_HDRLEN + GENL_HDRLEN;
	put_raw(r, CTRL_ATTR_FAMILY_NAME, VEIL_GENL_NAME, sizeof(VEIL_GENL_NAME));
	nlh->nlmsg_len = (uint32_t)r->len;
	seq = send_req(fd, t, r);
	free(r);
	if (seq < 0)
		return -1;
	/* The reply precedes the ACK in the same buffer. */
	for (;;) {
		ssize_t n = recv(fd, rbuf, sizeof(rbuf), 0);
		int len = (int)n;

		if (n < 0)
			return -1;
		for (nlh = (struct nlmsghdr *)rbuf; NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
			if (nlh->nlmsg_type == NLMSG_ERROR)
				return err == 0 ? 0 : -1;
			if (nlh->nlmsg_type != GENL_ID_CTRL)
				continue;
			p = (uint8_t *)NLMSG_DATA(nlh) + GENL_HDRLEN;
			while (p + NLA_HDRLEN <= (uint8_t *)nlh + nlh->nlmsg_len) {
				struct nlattr *a = (struct nlattr *)p;

				if (a->nla_len < NLA_HDRLEN)
					break;
				if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID) {
					memcpy(&t->family, a + 1, 2);
					err = 0;
				}
				p += NLA_ALIGN(a->nla_len);
			}
		}
	}
}

/* ---------------------------------------------------------- reports */

static int ktap_n, ktap_failed;

static void point(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void point(int ok, const char *fmt, ...)
{
	va_list ap;

	ktap_n++;
	printf("%sok %d ", ok ? "" : "not ", ktap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		ktap_failed++;
}

#define ERRNO_MAX 200
static long errno_count[ERRNO_MAX + 1];

static const char *cmd_name(uint8_t cmd, int dump)
{
	static const char *const names[] = {
		[VEIL_CMD_DEV_GET] = "DEV_GET", [VEIL_CMD_DEV_SET] = "DEV_SET",
		[VEIL_CMD_PEER_NEW] = "PEER_NEW", [VEIL_CMD_PEER_SET] = "PEER_SET",
		[VEIL_CMD_PEER_DEL] = "PEER_DEL", [VEIL_CMD_PEER_GET] = "PEER_GET",
		[VEIL_CMD_KEY_SWAP] = "KEY_SWAP", [VEIL_CMD_EVENT_ENDPOINT] = "EVENT_ENDPOINT",
		[VEIL_CMD_EVENT_REKEY] = "EVENT_REKEY",
	};

	if (cmd > VEIL_CMD_MAX || !names[cmd])
		return "unknown";
	if (cmd == VEIL_CMD_DEV_GET || cmd == VEIL_CMD_PEER_GET)
		return dump ? (cmd == VEIL_CMD_DEV_GET ? "DEV_GET dump" : "PEER_GET dump")
			    : (cmd == VEIL_CMD_DEV_GET ? "DEV_GET do" : "PEER_GET do");
	return names[cmd];
}

/* Errnos the family and the netlink core may answer a root request with. */
static int expected_errno(int e)
{
	switch (e) {
	case EINVAL: case ERANGE: case EOPNOTSUPP: case ENODEV: case ENOENT: case EEXIST:
	case ENOTCONN: case EAFNOSUPPORT: case ENOKEY: case EADDRINUSE: case EMSGSIZE:
		return 1;
	default:
		return 0;
	}
}

/* -------------------------------------------------- state read-back */

struct state {
	long peer_count;	/* VEIL_A_DEV_PEER_COUNT, -1 if absent */
	int port;		/* VEIL_A_DEV_LISTEN_PORT, -1 if absent */
	unsigned int nids;
	uint32_t ids[MAX_IDS];
	int dev_replies;
};

static const struct nlattr *find_attr(const uint8_t *p, const uint8_t *end, uint16_t type)
{
	while (p + NLA_HDRLEN <= end) {
		const struct nlattr *a = (const struct nlattr *)p;

		if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end)
			return NULL;
		if ((a->nla_type & NLA_TYPE_MASK) == type)
			return a;
		p += NLA_ALIGN(a->nla_len);
	}
	return NULL;
}

static void dev_reply(const struct nlmsghdr *nlh, void *data)
{
	struct state *st = data;
	const uint8_t *p = (const uint8_t *)NLMSG_DATA(nlh) + GENL_HDRLEN;
	const struct nlattr *a = find_attr(p, (const uint8_t *)nlh + nlh->nlmsg_len,
					   VEIL_A_DEV_PEER_COUNT);
	uint32_t v;
	uint16_t port;

	st->dev_replies++;
	if (a && a->nla_len == NLA_HDRLEN + 4) {
		memcpy(&v, a + 1, 4);
		st->peer_count = v;
	}
	a = find_attr(p, (const uint8_t *)nlh + nlh->nlmsg_len, VEIL_A_DEV_LISTEN_PORT);
	if (a && a->nla_len == NLA_HDRLEN + 2) {
		memcpy(&port, a + 1, 2);
		st->port = port;
	}
}

static void peer_reply(const struct nlmsghdr *nlh, void *data)
{
	struct state *st = data;
	const uint8_t *p = (const uint8_t *)NLMSG_DATA(nlh) + GENL_HDRLEN;
	const uint8_t *end = (const uint8_t *)nlh + nlh->nlmsg_len;
	const struct nlattr *peer = find_attr(p, end, VEIL_A_DEV_PEER), *id;
	uint32_t v = 0;

	if (peer) {
		id = find_attr((const uint8_t *)(peer + 1), (const uint8_t *)peer + peer->nla_len,
			       VEIL_A_PEER_ID);
		if (id && id->nla_len == NLA_HDRLEN + 4)
			memcpy(&v, id + 1, 4);
	}
	if (st->nids < MAX_IDS)
		st->ids[st->nids++] = v;
}

/* DEV_GET (do) and PEER_GET dump; returns 0 if both were answered with success. */
static int read_state(int fd, struct target *t, struct state *st, int *e1, int *e2)
{
	struct req *r = calloc(1, sizeof(*r));
	int seq, ok = 1;

	memset(st, 0, sizeof(*st));
	st->peer_count = -1;
	st->port = -1;
	*e1 = *e2 = -ETIMEDOUT;
	r->cmd = VEIL_CMD_DEV_GET;
	put_header(r, t, 0);
	put_raw(r, VEIL_A_DEV_IFINDEX, &t->veil_idx, 4);
	((struct nlmsghdr *)r->buf)->nlmsg_len = (uint32_t)r->len;
	seq = send_req(fd, t, r);
	if (seq < 0 || !await(fd, (uint32_t)seq, e1, dev_reply, st) || *e1)
		ok = 0;

	r->cmd = VEIL_CMD_PEER_GET;
	put_header(r, t, NLM_F_DUMP);
	put_raw(r, VEIL_A_DEV_IFINDEX, &t->veil_idx, 4);
	((struct nlmsghdr *)r->buf)->nlmsg_len = (uint32_t)r->len;
	seq = send_req(fd, t, r);
	if (seq < 0 || !await(fd, (uint32_t)seq, e2, peer_reply, st) || *e2)
		ok = 0;
	free(r);
	return ok ? 0 : -1;
}

static void shadow_from_state(struct shadow *s, const struct state *st)
{
	unsigned int i;

	shadow_clear(s);
	for (i = 0; i < st->nids; i++)
		shadow_set(s, st->ids[i], 1);
	s->port = st->port;
	s->lost = 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Do the dump's ids equal the shadow's, each once? */
static int state_matches(const struct shadow *s, struct state *st, char *why, size_t whylen)
{
	unsigned int i;

	qsort(st->ids, st->nids, sizeof(st->ids[0]), cmp_u32);
	for (i = 0; i < st->nids; i++) {
		if (i && st->ids[i] == st->ids[i - 1]) {
			snprintf(why, whylen, "id %u listed twice", st->ids[i]);
			return 0;
		}
		if (!shadow_has(s, st->ids[i])) {
			snprintf(why, whylen, "id %u in the dump, not created", st->ids[i]);
			return 0;
		}
	}
	if (st->nids != shadow_count(s)) {
		snprintf(why, whylen, "dump lists %u tunnels, requests left %u", st->nids,
			 shadow_count(s));
		return 0;
	}
	return 1;
}

/* ------------------------------------------------------ unprivileged */

static const uint8_t unpriv_cmds[] = {
	VEIL_CMD_DEV_SET, VEIL_CMD_PEER_NEW, VEIL_CMD_PEER_SET, VEIL_CMD_PEER_DEL,
	VEIL_CMD_KEY_SWAP, VEIL_CMD_DEV_GET, VEIL_CMD_PEER_GET,
};
#define UNPRIV_PER_CMD 40

/* The child: every request of every command must come back EPERM. */
static int unpriv_main(uint64_t seed, struct target *t)
{
	struct shadow *sh = calloc(1, sizeof(*sh));
	struct req *r = calloc(1, sizeof(*r));
	unsigned int c, i;
	int fd, seq, err;

	fd = open_sock(t);
	if (fd < 0 || resolve_family(fd, t)) {
		printf("error cannot open the veil family: %s\n", strerror(errno));
		return 1;
	}
	rng_state = seed ^ 0x756e70726976ULL;
	sh->port = BASE_PORT;
	for (c = 0; c < sizeof(unpriv_cmds); c++) {
		long sent = 0, eperm = 0, noanswer = 0, other = 0;
		int first_other = 0;

		for (i = 0; i < UNPRIV_PER_CMD; i++) {
			build(r, t, sh, unpriv_cmds[c], i == 0, 1);
			if (i == 1 && (unpriv_cmds[c] == VEIL_CMD_DEV_GET ||
				       unpriv_cmds[c] == VEIL_CMD_PEER_GET)) {
				r->cmd = unpriv_cmds[c];	/* one dump of each */
				((struct nlmsghdr *)r->buf)->nlmsg_flags |= NLM_F_DUMP;
			}
			seq = send_req(fd, t, r);
			sent++;
			if (seq < 0 || !await(fd, (uint32_t)seq, &err, NULL, NULL))
				noanswer++;
			else if (err == -EPERM)
				eperm++;
			else if (!other++)
				first_other = err;
		}
		printf("cmd %u %ld %ld %ld %ld %d\n", unpriv_cmds[c], sent, eperm, noanswer, other,
		       first_other);
	}
	close(fd);
	return 0;
}

/* Run the unprivileged half through setpriv; one KTAP point per command. */
static void run_unpriv(uint64_t seed, const struct target *t)
{
	char self[4096], seedstr[32], line[256];
	unsigned int seen[256] = { 0 };
	int pfd[2], status;
	ssize_t n;
	pid_t pid;
	FILE *in;
	size_t c;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0 || pipe(pfd)) {
		point(0, "unprivileged run could start");
		return;
	}
	self[n] = '\0';
	snprintf(seedstr, sizeof(seedstr), "%llu", (unsigned long long)seed);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execlp("setpriv", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		       self, "--unpriv", seedstr, t->veil_name, t->other_name, (char *)NULL);
		printf("error cannot run setpriv: %s\n", strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	in = fdopen(pfd[0], "r");
	while (in && fgets(line, sizeof(line), in)) {
		unsigned int cmd;
		long sent, eperm, noanswer, other;
		int first;

		if (sscanf(line, "cmd %u %ld %ld %ld %ld %d", &cmd, &sent, &eperm, &noanswer,
			   &other, &first) == 6 && cmd < 256) {
			seen[cmd] = 1;
			point(sent > 0 && eperm == sent,
			      "unprivileged %s: %ld requests, all refused with EPERM",
			      cmd == VEIL_CMD_DEV_GET ? "DEV_GET (do and dump)" :
			      cmd == VEIL_CMD_PEER_GET ? "PEER_GET (do and dump)" :
			      cmd_name((uint8_t)cmd, 0), sent);
			if (eperm != sent)
				printf("# %ld EPERM, %ld unanswered, %ld other (first: %d %s)\n",
				       eperm, noanswer, other, first, strerror(-first));
		} else {
			printf("# unprivileged run: %s", line);
		}
	}
	if (in)
		fclose(in);
	waitpid(pid, &status, 0);
	for (c = 0; c < sizeof(unpriv_cmds); c++)
		if (!seen[unpriv_cmds[c]])
			point(0, "unprivileged %s: no result (exit status %d)",
			      cmd_name(unpriv_cmds[c], 0), WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* ------------------------------------------------------------- main */

#define NPOINTS (9 + (int)sizeof(unpriv_cmds) + 5)

/* A well-formed request on @fd; returns the errno (0 on success), -ETIMEDOUT if unanswered. */
static int simple(int fd, struct target *t, uint8_t cmd, uint32_t id, int with_keys)
{
	struct req *r = calloc(1, sizeof(*r));
	uint32_t remote = 7;
	uint8_t key[VEIL_KEY_LEN];
	size_t off;
	int seq, err = -ETIMEDOUT;

	r->cmd = cmd;
	put_header(r, t, 0);
	put_raw(r, VEIL_A_DEV_IFINDEX, &t->veil_idx, 4);
	off = nest_open(r, VEIL_A_DEV_PEER | NESTED);
	put_raw(r, VEIL_A_PEER_ID, &id, 4);
	if (with_keys) {
		rnd_bytes(key, sizeof(key));
		put_raw(r, VEIL_A_PEER_REMOTE_ID, &remote, 4);
		put_raw(r, VEIL_A_PEER_TX_KEY, key, sizeof(key));
		put_raw(r, VEIL_A_PEER_RX_KEY, key, sizeof(key));
	}
	nest_close(r, off);
	((struct nlmsghdr *)r->buf)->nlmsg_len = (uint32_t)r->len;
	seq = send_req(fd, t, r);
	if (seq > 0 && !await(fd, (uint32_t)seq, &err, NULL, NULL))
		err = -ETIMEDOUT;
	free(r);
	return err;
}

/*
 * Enough tunnels for dumps of several parts; then a PEER_GET dump read
 * part by part while tunnels come and go between the parts.
 */
static void bulk_and_interrupted_dump(int fd, struct target *t, struct shadow *sh)
{
	struct target t2 = *t;
	struct req *r = calloc(1, sizeof(*r));
	long created = 0, entries = 0, parts = 0, changed = 0;
	int fd2, seq, err = -ETIMEDOUT, done = 0;
	uint32_t id;
	ssize_t n;

	if (sh->port <= 0) {
		uint16_t p = BASE_PORT;

		r->cmd = VEIL_CMD_DEV_SET;
		put_header(r, t, 0);
		put_raw(r, VEIL_A_DEV_IFINDEX, &t->veil_idx, 4);
		put_raw(r, VEIL_A_DEV_LISTEN_PORT, &p, 2);
		((struct nlmsghdr *)r->buf)->nlmsg_len = (uint32_t)r->len;
		seq = send_req(fd, t, r);
		if (seq > 0 && await(fd, (uint32_t)seq, &err, NULL, NULL) && !err)
			sh->port = BASE_PORT;
	}
	for (id = BULK_ID; id < BULK_ID + BULK; id++) {
		err = simple(fd, t, VEIL_CMD_PEER_NEW, id, 1);
		if (!err) {
			created++;
			shadow_set(sh, id, 1);
		}
	}
	point(created == BULK, "%ld of %d well-formed PEER_NEW for a multi-part dump succeeded",
	      created, BULK);

	fd2 = open_sock(&t2);
	r->cmd = VEIL_CMD_PEER_GET;
	put_header(r, &t2, NLM_F_DUMP);
	put_raw(r, VEIL_A_DEV_IFINDEX, &t->veil_idx, 4);
	((struct nlmsghdr *)r->buf)->nlmsg_len = (uint32_t)r->len;
	seq = fd2 < 0 ? -1 : send_req(fd2, &t2, r);
	err = -ETIMEDOUT;
	while (seq > 0 && !done) {
		struct nlmsghdr *nlh;
		int len;

		/* A small buffer keeps the parts small: many of them. */
		n = recv(fd2, rbuf, 8192, 0);
		if (n < 0)
			break;
		parts++;
		len = (int)n;
		for (nlh = (struct nlmsghdr *)rbuf; NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
			if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR) {
				memcpy(&err, NLMSG_DATA(nlh), sizeof(int));
				done = 1;
			} else {
				entries++;
			}
		}
		/* Between the parts: delete some bulk tunnels, add others. */
		for (id = 0; !done && id < 8; id++, changed++) {
			uint32_t victim = BULK_ID + (uint32_t)rn(BULK);

			if (!simple(fd, t, VEIL_CMD_PEER_DEL, victim, 0))
				shadow_set(sh, victim, 0);
			if (!simple(fd, t, VEIL_CMD_PEER_NEW, victim + BULK, 1))
				shadow_set(sh, victim + BULK, 1);
		}
	}
	point(done && err == 0 && parts > 2,
	      "a PEER_GET dump of %ld parts ended cleanly while %ld tunnels changed (%ld entries)",
	      parts, changed * 2, entries);
	if (!done || err)
		printf("# dump %s: %s\n", done ? "ended with" : "did not end", strerror(-err));
	if (fd2 >= 0)
		close(fd2);
	free(r);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A valid DEV_GET on the fuzzing socket: is it still answered? */
static int probe(int fd, struct target *t)
{
	struct req *r = calloc(1, sizeof(*r));
	int seq, err = -1, ok;

	r->cmd = VEIL_CMD_DEV_GET;
	put_header(r, t, 0);
	put_raw(r, VEIL_A_DEV_IFINDEX, &t->veil_idx, 4);
	((struct nlmsghdr *)r->buf)->nlmsg_len = (uint32_t)r->len;
	seq = send_req(fd, t, r);
	ok = seq > 0 && await(fd, (uint32_t)seq, &err, NULL, NULL) && err == 0;
	free(r);
	return ok;
}

int main(int argc, char **argv)
{
	static struct state st, st2;
	struct target t = { 0 };
	struct shadow *sh;
	struct req *r;
	uint64_t seed = DEFAULT_SEED;
	long count = DEFAULT_COUNT, i;
	long answered = 0, unanswered = 0, mf = 0, mf_ok = 0, mf_refused = 0, silent = 0;
	long silent_probe_fail = 0, unexpected = 0, succeeded = 0, clean_new = 0;
	long clean_new_ok = 0, resyncs = 0;
	long by_shape[SH_NUM] = { 0 }, ok_by_cmd[512] = { 0 }, sent_by_cmd[512] = { 0 };
	int first_unexpected = 0, fd, seq, err, e1, e2;
	const char *env;
	char why[128];
	double t0;

	if (argc == 5 && !strcmp(argv[1], "--unpriv")) {
		t.veil_name = argv[3];
		t.other_name = argv[4];
		t.veil_idx = if_nametoindex(argv[3]);
		t.other_idx = if_nametoindex(argv[4]);
		return unpriv_main(strtoull(argv[2], NULL, 0), &t);
	}
	if (argc != 3) {
		fprintf(stderr, "usage: %s VEIL_DEV OTHER_DEV\n", argv[0]);
		return 1;
	}
	env = getenv("VEIL_FUZZ_SEED");
	if (env && *env)
		seed = strtoull(env, NULL, 0);
	env = getenv("VEIL_FUZZ_COUNT");
	if (env && *env)
		count = strtol(env, NULL, 0);
	t.veil_name = argv[1];
	t.other_name = argv[2];
	t.veil_idx = if_nametoindex(argv[1]);
	t.other_idx = if_nametoindex(argv[2]);
	fd = open_sock(&t);
	if (fd < 0 || !t.veil_idx || !t.other_idx || resolve_family(fd, &t)) {
		printf("TAP version 13\n1..0 # SKIP cannot open veil family or find devices\n");
		return 4;
	}
	sh = calloc(1, sizeof(*sh));
	r = calloc(1, sizeof(*r));

	printf("TAP version 13\n1..%d\n", NPOINTS);
	printf("# seed %#llx, %ld requests (VEIL_FUZZ_SEED and VEIL_FUZZ_COUNT change them)\n",
	       (unsigned long long)seed, count);
	fflush(stdout);
	rng_state = seed;
	t0 = now();
	sh->port = 0;

	for (i = 0; i < count; i++) {
		enum shape shape;
		uint8_t cmd;
		int clean = 0;

		/* Keep a socket and a few tunnels around for SET, DEL and KEY_SWAP. */
		if (sh->port <= 0) {
			cmd = VEIL_CMD_DEV_SET;
			clean = 1;
		} else if (i % 6 == 0 && shadow_count(sh) < 8) {
			cmd = VEIL_CMD_PEER_NEW;
			clean = 1;
		} else {
			cmd = pick_cmd();
		}
		shape = build(r, &t, sh, cmd, clean, 0);
		if (clean && cmd == VEIL_CMD_DEV_SET) {	/* reopen on the base port */
			r->len = NLMSG_HDRLEN + GENL_HDRLEN;
			put_raw(r, VEIL_A_DEV_IFINDEX, &t.veil_idx, 4);
			{
				uint16_t p = BASE_PORT;

				put_raw(r, VEIL_A_DEV_LISTEN_PORT, &p, 2);
			}
			r->port = BASE_PORT;
			((struct nlmsghdr *)r->buf)->nlmsg_len = (uint32_t)r->len;
		}
		by_shape[shape]++;
		sent_by_cmd[r->cmd + 256 * !!r->dump]++;
		seq = send_req(fd, &t, r);
		if (seq < 0) {
			/* Only a message too short to be one may be refused by sendto. */
			if (!silent_shape(shape)) {
				unanswered++;
				printf("# request %ld (%s): sendto: %s\n", i, cmd_name(r->cmd, r->dump),
				       strerror(-seq));
			}
			continue;
		}
		if (silent_shape(shape)) {
			/* The netlink core drops these; the next request must be answered. */
			silent++;
			if (!probe(fd, &t)) {
				silent_probe_fail++;
				printf("# request %ld (%s, %s): the next request went unanswered\n", i,
				       cmd_name(r->cmd, r->dump), shape_name[shape]);
			}
			continue;
		}
		if (!await(fd, (uint32_t)seq, &err, NULL, NULL)) {
			unanswered++;
			printf("# request %ld (%s, %s): no answer within %ds\n", i,
			       cmd_name(r->cmd, r->dump), shape_name[shape], RECV_TIMEOUT_S);
			continue;
		}
		answered++;
		if (err < 0 && -err <= ERRNO_MAX)
			errno_count[-err]++;
		if (err < 0 && !expected_errno(-err)) {
			if (!unexpected++)
				first_unexpected = err;
			printf("# request %ld (%s): unexpected errno %d (%s)\n", i,
			       cmd_name(r->cmd, r->dump), -err, strerror(-err));
		}
		if (r->must_fail) {
			mf++;
			if (err < 0) {
				mf_refused++;
			} else {
				mf_ok++;
				printf("# request %ld (%s, %s): accepted although malformed (%s)\n", i,
				       cmd_name(r->cmd, r->dump), shape_name[shape], r->why);
			}
		}
		if (err < 0) {
			if (clean && r->cmd == VEIL_CMD_PEER_NEW) {
				clean_new++;
				printf("# request %ld: well-formed PEER_NEW of free id %u refused: %s\n",
				       i, r->id, strerror(-err));
			}
			continue;
		}
		/* Success: follow what it changed. */
		succeeded++;
		ok_by_cmd[r->cmd + 256 * !!r->dump]++;
		if (clean && r->cmd == VEIL_CMD_PEER_NEW) {
			clean_new++;
			clean_new_ok++;
		}
		if (r->uncertain && r->cmd != VEIL_CMD_DEV_GET && r->cmd != VEIL_CMD_PEER_GET)
			sh->lost = 1;
		switch (r->cmd) {
		case VEIL_CMD_DEV_SET:
			if (r->port >= 0 && r->port != sh->port) {
				shadow_clear(sh);
				sh->port = r->port;
			}
			break;
		case VEIL_CMD_PEER_NEW:
			shadow_set(sh, r->id, 1);
			break;
		case VEIL_CMD_PEER_DEL:
			shadow_set(sh, r->id, 0);
			break;
		}
		if (sh->lost) {	/* re-read what the kernel has */
			resyncs++;
			if (!read_state(fd, &t, &st, &e1, &e2))
				shadow_from_state(sh, &st);
		}
	}

	printf("# %ld requests in %.1fs: %ld answered, %ld dropped by the netlink core (bad "
	       "header or length), %ld succeeded\n", count, now() - t0, answered, silent, succeeded);
	for (i = 0; i < SH_NUM; i++)
		printf("#   %-32s %ld\n", shape_name[i], by_shape[i]);
	for (i = 1; i < 512; i++)
		if (sent_by_cmd[i] && i % 256 && i % 256 <= VEIL_CMD_MAX)
			printf("#   %-16s sent %5ld, succeeded %5ld\n", cmd_name((uint8_t)i, i > 255),
			       sent_by_cmd[i], ok_by_cmd[i]);
	{
		long unk = 0;

		for (i = 0; i < 512; i++)
			if (i % 256 == 0 || i % 256 > VEIL_CMD_MAX)
				unk += sent_by_cmd[i];
		printf("#   %-16s sent %5ld, succeeded %5ld\n", "cmd 0 or > MAX", unk, 0L);
	}
	printf("# errno counts:");
	for (i = 0; i <= ERRNO_MAX; i++)
		if (errno_count[i])
			printf(" %s=%ld", strerrorname_np((int)i) ?: "?", errno_count[i]);
	printf("\n# stray replies %ld, ENOBUFS %ld, tunnel re-reads %ld\n", n_stray, n_enobufs,
	       resyncs);

	point(unanswered == 0, "every request was answered within %ds (%ld answered, %ld unanswered)",
	      RECV_TIMEOUT_S, answered, unanswered);
	point(silent_probe_fail == 0 && silent > 0,
	      "after each of %ld messages the netlink core drops, the next request was answered",
	      silent);
	point(mf_ok == 0 && mf > 0, "every malformed request was refused with an errno (%ld of %ld)",
	      mf_refused, mf);
	point(unexpected == 0, "every errno is one the family or netlink core uses (%ld others%s%s)",
	      unexpected, unexpected ? ", first: " : "",
	      unexpected ? strerror(-first_unexpected) : "");
	point(clean_new > 0 && clean_new_ok == clean_new,
	      "well-formed PEER_NEW of a free id succeeded (%ld of %ld)", clean_new_ok, clean_new);
	point(ok_by_cmd[VEIL_CMD_PEER_SET] && ok_by_cmd[VEIL_CMD_PEER_DEL] &&
	      ok_by_cmd[VEIL_CMD_KEY_SWAP] && ok_by_cmd[VEIL_CMD_PEER_GET] &&
	      ok_by_cmd[VEIL_CMD_DEV_SET] && ok_by_cmd[256 + VEIL_CMD_PEER_GET],
	      "existing tunnels were met: PEER_SET %ld, PEER_DEL %ld, KEY_SWAP %ld, PEER_GET %ld, "
	      "DEV_SET %ld successes", ok_by_cmd[VEIL_CMD_PEER_SET], ok_by_cmd[VEIL_CMD_PEER_DEL],
	      ok_by_cmd[VEIL_CMD_KEY_SWAP], ok_by_cmd[VEIL_CMD_PEER_GET],
	      ok_by_cmd[VEIL_CMD_DEV_SET]);

	bulk_and_interrupted_dump(fd, &t, sh);

	/* The state the requests left, before the unprivileged run. */
	err = read_state(fd, &t, &st, &e1, &e2);
	point(!err && state_matches(sh, &st, why, sizeof(why)),
	      "tunnels in the PEER_GET dump are those the successful requests left (%u)", st.nids);
	if (err)
		printf("# DEV_GET: %s, PEER_GET dump: %s\n", strerror(-e1), strerror(-e2));
	else if (!state_matches(sh, &st, why, sizeof(why)))
		printf("# %s\n", why);

	run_unpriv(seed, &t);

	/* A fresh socket: the family still answers, and agrees with itself. */
	close(fd);
	e1 = e2 = -ENOTCONN;
	fd = open_sock(&t);
	err = fd < 0 || resolve_family(fd, &t) ? -1 : read_state(fd, &t, &st2, &e1, &e2);
	point(!err || e1 == 0, "a fresh socket gets DEV_GET answered after the run (%s)",
	      strerror(-e1));
	point(!err || e2 == 0, "a fresh socket gets PEER_GET dumped after the run (%s)",
	      strerror(-e2));
	point(!err && st2.dev_replies == 1 && st2.peer_count == (long)st2.nids,
	      "peer count of DEV_GET (%ld) equals the PEER_GET dump's entries (%u)", st2.peer_count,
	      st2.nids);
	qsort(st.ids, st.nids, sizeof(st.ids[0]), cmp_u32);
	qsort(st2.ids, st2.nids, sizeof(st2.ids[0]), cmp_u32);
	point(!err && st2.nids == st.nids && !memcmp(st.ids, st2.ids, st.nids * sizeof(st.ids[0])),
	      "the unprivileged requests changed no tunnel (%u before, %u after)", st.nids,
	      st2.nids);
	point(probe(fd, &t), "a valid DEV_GET still succeeds at the end");
	printf("# run time %.1fs\n", now() - t0);
	printf("# totals: pass:%d fail:%d skip:0\n", ktap_n - ktap_failed, ktap_failed);
	return ktap_failed ? 1 : 0;
}
