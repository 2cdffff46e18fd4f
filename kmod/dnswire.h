/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DNS wire format for the DNS interception: parse a query, build an answer,
 * walk a response's CNAME chain and rewrite it. Plain C with no kernel
 * dependency and no allocation: the module, the unit tests and the fuzzers
 * build the same file. Every function takes a packet and its length and
 * never reads or writes outside them, whatever the input.
 *
 * Names are kept as &struct veil_dns_name: uncompressed wire form with
 * ASCII letters lowercased (RFC 4343: only A-Z fold; every other byte is
 * compared exactly), plus the offset of each label so that "is this name
 * inside that zone" is one memcmp at a known offset.
 */
#ifndef _VEIL_DNSWIRE_H
#define _VEIL_DNSWIRE_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
#endif

#define VEIL_DNS_HDR_LEN	12
#define VEIL_DNS_PORT		53
/* A name in wire form, root byte included (RFC 1035 3.1). */
#define VEIL_DNS_NAME_MAX	255
#define VEIL_DNS_LABEL_MAX	63
/* 127 one-byte labels and the root fill 255 bytes. */
#define VEIL_DNS_LABELS_MAX	127
/* Presentation form of a zone name, without the final dot. */
#define VEIL_DNS_ZONE_TEXT_MAX	253
/* Compression pointers followed while reading one name. */
#define VEIL_DNS_JUMPS_MAX	32
/* CNAME links followed from the question name. */
#define VEIL_DNS_CHAIN_MAX	8
/* Resource records examined in one response, all sections together. */
#define VEIL_DNS_RR_MAX		512
/* Message size without EDNS, and the floor of any EDNS size (RFC 6891). */
#define VEIL_DNS_UDP_MIN	512
/* Largest text veil_dns_name_to_text() writes: every byte as \DDD, NUL. */
#define VEIL_DNS_TEXT_MAX	(VEIL_DNS_NAME_MAX * 4 + 1)

#define VEIL_DNS_TYPE_A		1
#define VEIL_DNS_TYPE_NS	2
#define VEIL_DNS_TYPE_CNAME	5
#define VEIL_DNS_TYPE_SOA	6
#define VEIL_DNS_TYPE_AAAA	28
#define VEIL_DNS_TYPE_DNAME	39
#define VEIL_DNS_TYPE_OPT	41
#define VEIL_DNS_TYPE_RRSIG	46
#define VEIL_DNS_TYPE_NSEC	47
#define VEIL_DNS_CLASS_IN	1

/* Header flags (second 16-bit word). */
#define VEIL_DNS_F_QR		0x8000
#define VEIL_DNS_F_OPCODE	0x7800
#define VEIL_DNS_F_AA		0x0400
#define VEIL_DNS_F_TC		0x0200
#define VEIL_DNS_F_RD		0x0100
#define VEIL_DNS_F_RA		0x0080
#define VEIL_DNS_F_Z		0x0040
#define VEIL_DNS_F_AD		0x0020
#define VEIL_DNS_F_CD		0x0010
#define VEIL_DNS_F_RCODE	0x000f

#define VEIL_DNS_RCODE_NOERROR	0
#define VEIL_DNS_RCODE_FORMERR	1
#define VEIL_DNS_RCODE_SERVFAIL	2
#define VEIL_DNS_RCODE_NXDOMAIN	3
#define VEIL_DNS_RCODE_NOTIMP	4
#define VEIL_DNS_RCODE_REFUSED	5
/* Extended rcode, needs an OPT record in the answer (RFC 6891 6.1.3). */
#define VEIL_DNS_RCODE_BADVERS	16
#define VEIL_DNS_RCODE_MAX	0xfff

/* The EDNS(0) DO bit in the OPT record's TTL field. */
#define VEIL_DNS_EDNS_DO	0x8000

/**
 * enum veil_dns_status - what the parsers and builders return
 * @VEIL_DNS_OK: parsed (builders return the message length instead)
 * @VEIL_DNS_PASS: valid DNS that is not a message veil handles, e.g. a
 *	response seen as a query or an opcode other than QUERY: pass it on
 *	untouched
 * @VEIL_DNS_MALFORMED: breaks the wire rules (see each parser): drop it
 * @VEIL_DNS_NOSPACE: the output buffer or size limit cannot hold even a
 *	truncated message
 * @VEIL_DNS_INVALID: the caller's arguments are inconsistent
 */
enum veil_dns_status {
	VEIL_DNS_OK		= 0,
	VEIL_DNS_PASS		= 1,
	VEIL_DNS_MALFORMED	= -1,
	VEIL_DNS_NOSPACE	= -2,
	VEIL_DNS_INVALID	= -3,
};

/**
 * struct veil_dns_name - a domain name, uncompressed and case-folded
 * @len: bytes used in @wire, the root byte included: 1 (the root) to 255
 * @labels: number of labels, the root excluded: 0 to 127
 * @off: offset in @wire of each label's length byte, leftmost first; the
 *	last @n labels of the name start at @off[@labels - @n]
 * @wire: the name in wire form with A-Z lowercased, ending with the root 0
 */
struct veil_dns_name {
	u16 len;
	u8 labels;
	u8 off[VEIL_DNS_LABELS_MAX];
	u8 wire[VEIL_DNS_NAME_MAX];
};

/**
 * struct veil_dns_edns - the OPT record of a query (RFC 6891)
 * @present: the additional section holds an OPT record
 * @valid: it is well-formed: root owner, options that fill its RDATA
 *	exactly, only one of it. A query whose OPT is not valid is answered
 *	FORMERR without OPT.
 * @do_bit: DNSSEC OK
 * @version: EDNS version; above 0 the answer is BADVERS
 * @udp_size: the requester's UDP payload size, raised to 512 if lower
 * @opt_off: offset of the OPT record in the packet
 * @opt_len: its length, owner to end of RDATA
 */
struct veil_dns_edns {
	bool present;
	bool valid;
	bool do_bit;
	u8 version;
	u16 udp_size;
	u16 opt_off;
	u16 opt_len;
};

/**
 * struct veil_dns_query - a parsed standard query
 * @id: message ID
 * @flags: the header's flag word as received
 * @qtype: question type
 * @qclass: question class (only IN is answered; others are reported)
 * @qname_off: offset of the question name in the packet (always 12)
 * @question_len: length of the question as received, name + type + class,
 *	copied verbatim into the answer so the letter case the client chose
 *	(0x20 randomization) comes back unchanged
 * @name: the question name, case-folded
 * @edns: the query's OPT record, if any
 * @len: the message length, up to the end of its last record
 */
struct veil_dns_query {
	u16 id;
	u16 flags;
	u16 qtype;
	u16 qclass;
	u16 qname_off;
	u16 question_len;
	struct veil_dns_name name;
	struct veil_dns_edns edns;
	u16 len;
};

/**
 * struct veil_dns_soa - the synthetic SOA of a secure zone
 * @serial: SOA serial
 * @refresh: SOA refresh
 * @retry: SOA retry
 * @expire: SOA expire
 * @minimum: SOA minimum
 * @ttl: TTL of the SOA record itself: the negative-caching TTL (RFC 2308
 *	takes the smaller of this and @minimum)
 *
 * The owner is the zone apex, MNAME is "ns.<apex>" and RNAME
 * "hostmaster.<apex>" (RFC 2142).
 */
struct veil_dns_soa {
	u32 serial;
	u32 refresh;
	u32 retry;
	u32 expire;
	u32 minimum;
	u32 ttl;
};

/**
 * struct veil_dns_answer - what an answer or a rewritten response says
 * @rcode: VEIL_DNS_RCODE_*; above 15 only when an OPT goes out with it
 * @addrs: @naddrs addresses in network byte order, of the question's type:
 *	4 bytes each for A, 16 for AAAA. Other question types take none.
 * @naddrs: number of addresses
 * @ttl: TTL of the address records
 * @zone: apex of the secure zone; with @soa, an answer without addresses
 *	(NXDOMAIN, or NOERROR with no data) carries its SOA in the authority
 *	section. NULL: no SOA.
 * @soa: the SOA's fields
 * @udp_size: the EDNS UDP payload size this server advertises (1232 is
 *	the usual choice); raised to 512 if lower
 * @limit: the largest message to produce, 0 to derive it: for an answer to
 *	a query the smaller of the query's EDNS size and @udp_size (512
 *	without EDNS), for a rewritten response the larger of 512 and the
 *	original response's length. Never beyond the output buffer.
 */
struct veil_dns_answer {
	u16 rcode;
	const u8 *addrs;
	unsigned int naddrs;
	u32 ttl;
	const struct veil_dns_name *zone;
	const struct veil_dns_soa *soa;
	u16 udp_size;
	u16 limit;
};

/**
 * struct veil_dns_link - one CNAME record of a chain
 * @rr: offset of the record (its owner name)
 * @target: offset of its target name (the RDATA)
 * @ttl: the record's TTL
 */
struct veil_dns_link {
	u16 rr;
	u16 target;
	u32 ttl;
};

/**
 * struct veil_dns_response - what veil_dns_walk_response() found
 * @id: message ID
 * @flags: the header's flag word
 * @ancount: answer records
 * @nscount: authority records
 * @arcount: additional records
 * @qtype: question type
 * @qclass: question class
 * @question_len: length of the question (it starts at offset 12)
 * @chain: the CNAME chain from the question name, in chain order
 *	whatever the order of the records
 * @chain_len: links in @chain
 * @chain_more: the chain goes on past VEIL_DNS_CHAIN_MAX links (or loops)
 * @final: offset of the last name of the chain: the question name
 *	(VEIL_DNS_HDR_LEN) when there is no CNAME, else the last link's target
 * @final_a: the answer section holds A records (class IN) for @final
 * @final_aaaa: the answer section holds AAAA records (class IN) for @final
 * @min_ttl: smallest TTL of the chain's CNAMEs and of @final's A and AAAA
 *	records; 0xffffffff if there are none
 * @opt_off: offset of the OPT record in the additional section, 0 if none
 * @opt_len: its length, owner to end of RDATA
 * @len: the message length, up to the end of its last record
 *
 * Offsets point into the walked packet; veil_dns_name_unpack() turns a
 * name offset into a &struct veil_dns_name.
 */
struct veil_dns_response {
	u16 id;
	u16 flags;
	u16 ancount;
	u16 nscount;
	u16 arcount;
	u16 qtype;
	u16 qclass;
	u16 question_len;
	struct veil_dns_link chain[VEIL_DNS_CHAIN_MAX];
	u8 chain_len;
	bool chain_more;
	u16 final;
	bool final_a;
	bool final_aaaa;
	u32 min_ttl;
	u16 opt_off;
	u16 opt_len;
	u16 len;
};

/**
 * veil_dns_parse_query() - parse a DNS query veil may answer
 * @pkt: the UDP payload
 * @len: its length
 * @q: filled in
 *
 * A query veil answers has QR 0, opcode QUERY, one question, no answer or
 * authority records, and at most one additional record: an OPT. The
 * question name must be uncompressed, labels 1..63 bytes (any byte value),
 * 255 bytes at most in all. Nothing may follow the last record.
 *
 * Return: VEIL_DNS_OK with @q filled in; VEIL_DNS_PASS for a valid header
 * that is not such a query (QR 1, another opcode, no question, answer or
 * authority records, an additional record that is not a lone OPT: a signed
 * query): @q's header fields are set, and @q->name too when the question
 * could be read (@q->name.len is 0 when not); VEIL_DNS_MALFORMED for
 * anything shorter than its header and counts claim, a message over 65535
 * bytes, a compression pointer or a bad label in the question, more than
 * one question (RFC 9619), an additional record running past the end, or
 * bytes after the last record. A second OPT or a bad one is not malformed
 * here: @q->edns.valid is false and a resolver answers FORMERR.
 */
int veil_dns_parse_query(const u8 *pkt, size_t len, struct veil_dns_query *q);

/* A-Z to a-z, every other byte as it is (RFC 4343). */
static inline u8 veil_dns_fold(u8 c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/**
 * veil_dns_question_name() - find a query's question name where it lies
 * @pkt: the UDP payload
 * @len: its length
 * @labels: the number of labels, the root excluded
 * @name_len: the name's length, root byte included
 *
 * The cheap first look of the query hook, which runs for every query that
 * leaves a namespace with zones: nothing is copied, folded or stored, and
 * the rest of the message is not read. It reads the name, at
 * VEIL_DNS_HDR_LEN, exactly when veil_dns_parse_query() would fill
 * @q->name, with the same labels; the caller may then walk its labels
 * again without bounds checks. Inline, so that the hook makes no call
 * for it.
 *
 * Return: VEIL_DNS_OK with the outputs set; VEIL_DNS_PASS or
 * VEIL_DNS_MALFORMED, as veil_dns_parse_query() returns for a message
 * whose question it cannot read.
 */
static inline int veil_dns_question_name(const u8 *pkt, size_t len, unsigned int *labels,
					 unsigned int *name_len)
{
	unsigned int n = 0, pos = VEIL_DNS_HDR_LEN;
	u8 b;

	if (len < VEIL_DNS_HDR_LEN || len > 0xffff)
		return VEIL_DNS_MALFORMED;
	/* A query (QR clear, opcode QUERY) with at least one question. */
	if ((pkt[2] & ((VEIL_DNS_F_QR | VEIL_DNS_F_OPCODE) >> 8)) || !(pkt[4] | pkt[5]))
		return VEIL_DNS_PASS;
	if (pkt[4] || pkt[5] > 1)
		return VEIL_DNS_MALFORMED;
	/* No compression in a question; a length byte must fit the name. */
	while ((b = pos < len ? pkt[pos] : 0xff)) {
		if ((b & 0xc0) || pos + 1 + b > len ||
		    pos + 1 + b + 1 > VEIL_DNS_HDR_LEN + VEIL_DNS_NAME_MAX)
			return VEIL_DNS_MALFORMED;
		n++;
		pos += 1 + b;
	}
	/* As veil_dns_parse_query(): a name with no room for QTYPE and QCLASS is not read. */
	if (pos + 1 + 4 > len)
		return VEIL_DNS_MALFORMED;
	*labels = n;
	*name_len = pos + 1 - VEIL_DNS_HDR_LEN;
	return VEIL_DNS_OK;
}

/**
 * veil_dns_build_answer() - build the response to a parsed query
 * @pkt: the query, as given to veil_dns_parse_query()
 * @q: its parse
 * @a: what to answer
 * @out: the response is written here
 * @size: bytes available at @out
 *
 * The response looks like a recursive resolver's answer from a local zone:
 * the query's ID, QR 1, its opcode, AA 1, its RD and CD, RA 1, AD 0; the
 * question copied byte for byte; one A or AAAA record per address, owner a
 * pointer to the question name, class IN; for an answer without addresses
 * and a zone, the zone's SOA in the authority section (NXDOMAIN and
 * NOERROR with no data alike, as RFC 2308 asks); an OPT record (version 0,
 * @a->udp_size, DO copied) when the query had a valid one. If not every
 * address fits the size limit, TC is set and only the addresses that fit
 * are sent (RFC 2181 9); the SOA and the OPT always fit 512 bytes.
 *
 * Return: the length of the response, VEIL_DNS_NOSPACE if @size cannot hold
 * it even truncated, VEIL_DNS_INVALID if addresses are given for a question
 * other than class IN, type A or AAAA, or @a->rcode needs an OPT the answer
 * lacks.
 */
int veil_dns_build_answer(const u8 *pkt, const struct veil_dns_query *q,
			  const struct veil_dns_answer *a, u8 *out, size_t size);

/**
 * veil_dns_direct_answer() - does a response answer its question directly?
 * @pkt: the message
 * @len: its length
 *
 * A cheap look before veil_dns_walk_response(): true when the message has
 * one question with an uncompressed name and its first answer record is
 * owned by the question name (a pointer to offset 12) with a type other
 * than CNAME, DNAME, RRSIG or NSEC. A name that has other data has no
 * CNAME (RFC 1034 3.6.2, RFC 2181 10.1), so such a response has no chain
 * to follow. False means only "walk it to know"; nothing is validated.
 */
bool veil_dns_direct_answer(const u8 *pkt, size_t len);

/**
 * veil_dns_walk_response() - find the CNAME chain of a DNS response
 * @pkt: the UDP payload
 * @len: its length
 * @r: filled in
 *
 * Reads every record, following compression pointers anywhere (each must
 * point back before the name part that contains it, not into the header,
 * at most VEIL_DNS_JUMPS_MAX of them per name, 255 bytes per name in
 * all). Then follows CNAME records (class IN) from the question name,
 * compared case-insensitively, wherever they are in the answer section,
 * and notes whether the chain's last name has A or AAAA records there.
 *
 * Return: VEIL_DNS_OK; VEIL_DNS_PASS when it is not a response to a
 * standard query with one question (QR 0, another opcode, QDCOUNT 0);
 * VEIL_DNS_MALFORMED for a bad name or pointer, a record running past the
 * end, a CNAME whose target does not fill its RDATA exactly, an A or AAAA
 * of the wrong length, more than VEIL_DNS_RR_MAX records, more than one
 * question, or bytes after the last record.
 */
int veil_dns_walk_response(const u8 *pkt, size_t len, struct veil_dns_response *r);

/**
 * veil_dns_build_cname_answer() - rewrite a response with secure addresses
 * @pkt: the response, as given to veil_dns_walk_response()
 * @len: its length
 * @r: its walk
 * @links: CNAME links of @r->chain to keep, at most @r->chain_len; the
 *	addresses (or the SOA) belong to the target of the last one, or to
 *	the question name if 0
 * @a: what to answer for that name; @a->udp_size is not used
 * @out: the new response is written here; it must not overlap @pkt
 * @size: bytes available at @out
 *
 * Keeps the ID, the flags (AD and TC cleared, rcode set from @a) and the
 * question byte for byte, writes the kept CNAME records with their TTLs
 * (names in the original case, compressed only against names already
 * written), then the addresses with @a->ttl, or for an answer without
 * addresses the zone's SOA in the authority section: NXDOMAIN after a
 * CNAME is what a resolver returns for an alias of a name that does not
 * exist. The original OPT record is copied with its extended rcode bits
 * cleared. Addresses that do not fit are left out and TC is set.
 *
 * Return: the length of the new response, VEIL_DNS_NOSPACE, or
 * VEIL_DNS_INVALID (see veil_dns_build_answer(), and @links too large).
 */
int veil_dns_build_cname_answer(const u8 *pkt, size_t len,
				const struct veil_dns_response *r, unsigned int links,
				const struct veil_dns_answer *a, u8 *out, size_t size);

/**
 * veil_dns_name_unpack() - read a possibly compressed name from a packet
 * @pkt: the packet
 * @len: its length
 * @off: offset of the name
 * @name: the name, case-folded
 *
 * Pointers follow the rules of veil_dns_walk_response().
 *
 * Return: the offset just past the name where it sits (past the first
 * pointer, if any), or VEIL_DNS_MALFORMED.
 */
int veil_dns_name_unpack(const u8 *pkt, size_t len, size_t off, struct veil_dns_name *name);

/**
 * veil_dns_name_equal() - compare two names, ASCII case-insensitively
 * @a: a name
 * @b: another
 *
 * Return: true if they are the same name.
 */
bool veil_dns_name_equal(const struct veil_dns_name *a, const struct veil_dns_name *b);

/**
 * veil_dns_name_in_zone() - is a name the zone's apex or below it
 * @name: the name
 * @zone: the zone apex
 *
 * Compares whole labels: "corp.scom" holds "corp.scom" and "a.corp.scom",
 * not "xcorp.scom". Every name is in the root zone.
 *
 * Return: true if @name is at or below @zone.
 */
bool veil_dns_name_in_zone(const struct veil_dns_name *name, const struct veil_dns_name *zone);

/**
 * veil_dns_zone_from_text() - parse a zone name given by an administrator
 * @text: presentation form, e.g. "corp.example"; one final dot allowed
 * @len: its length (no NUL needed)
 * @zone: the zone, case-folded
 * @why: set to a reason when the name is refused; may be NULL
 *
 * Zone names are stricter than DNS names: labels of 1 to 63 letters,
 * digits, hyphens and underscores, 253 characters at most, no escapes.
 * "." alone is the root.
 *
 * Return: 0, or VEIL_DNS_INVALID with @why set.
 */
int veil_dns_zone_from_text(const char *text, size_t len, struct veil_dns_name *zone,
			    const char **why);

/**
 * veil_dns_name_to_text() - presentation form of a name, for people
 * @name: the name
 * @buf: written with a NUL-terminated string: labels joined by dots, no
 *	final dot ("." for the root); '.', '\\' and bytes other than
 *	printable ASCII escaped as \. \\ \DDD
 * @size: bytes at @buf; VEIL_DNS_TEXT_MAX always suffices
 *
 * Return: the string length, or VEIL_DNS_NOSPACE (@buf then holds "").
 */
int veil_dns_name_to_text(const struct veil_dns_name *name, char *buf, size_t size);

#endif /* _VEIL_DNSWIRE_H */
