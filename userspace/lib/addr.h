/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parsing and formatting of what veil is configured with: numbers, UDP
 * endpoints, inner prefixes, protocol/port lists and keys. Shared by the
 * veil CLI and the daemons, so nothing here prints or talks netlink: every
 * parser returns 0, or -1 with a one-sentence reason (no final period) in
 * @err, which is always NUL-terminated when @errsz is not 0.
 */
#ifndef VEIL_ADDR_H
#define VEIL_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Room for any message of these functions. */
#define VEIL_ERR_SIZE		256

/* "[ffff:...:ffff%4294967295]:65535" or "255.255.255.255:65535", with the NUL. */
#define VEIL_ENDPOINT_STRLEN	72
/* "ffff:...:ffff/128" with the NUL. */
#define VEIL_PREFIX_STRLEN	52
/* "proto-255/65535-65535" with the NUL. */
#define VEIL_PORT_STRLEN	24

/* Size of a key (VEIL_KEY_LEN of the UAPI) and of its text forms. */
#define VEIL_KEY_SIZE		32
#define VEIL_KEY_HEX_LEN	64
#define VEIL_KEY_BASE64_LEN	44

struct veil_prefix {
	uint16_t family;		/* AF_INET or AF_INET6 */
	uint8_t len;			/* prefix length */
	uint8_t addr[16];		/* network order; 4 bytes used for AF_INET */
};

struct veil_port_range {
	uint8_t proto;			/* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP */
	uint16_t min;			/* 0 for ICMP */
	uint16_t max;			/* >= min; 0 for ICMP */
};

/* Two addresses of one family, "FROM=TO"; family 0 for "none". */
struct veil_addr_pair {
	uint16_t family;
	uint8_t from[16];
	uint8_t to[16];
};

/* Address length of @family in bytes: 4, 16, or 0 if unknown. */
size_t veil_addr_len(uint16_t family);

/*
 * A decimal number in [@min, @max]: digits only, no sign or spaces. @what
 * names the value in the message ("id").
 */
int veil_parse_uint(const char *s, const char *what, uint64_t min, uint64_t max,
		    uint64_t *out, char *err, size_t errsz);

/*
 * "192.0.2.1:4500" or "[2001:db8::1]:4500" into a struct sockaddr_in or
 * sockaddr_in6 (port in network order, everything else zero). Port 1..65535.
 */
int veil_parse_endpoint(const char *s, struct sockaddr_storage *ss, socklen_t *len,
			char *err, size_t errsz);
/* The reverse; -1 if @sa is not a complete AF_INET or AF_INET6 address. */
int veil_format_endpoint(const void *sa, size_t len, char *buf, size_t bufsz);

/*
 * "100.64.0.4/32", "fd00::/64"; a bare address is a host prefix. Refuses
 * bits set beyond the prefix length.
 */
int veil_parse_prefix(const char *s, struct veil_prefix *p, char *err, size_t errsz);
int veil_format_prefix(const struct veil_prefix *p, char *buf, size_t bufsz);

/*
 * A comma-separated list of prefixes; "none" or "" is the empty list. On
 * success *@out is a malloc'ed array of *@n entries (NULL when empty) for
 * the caller to free.
 */
int veil_parse_prefix_list(const char *s, struct veil_prefix **out, size_t *n,
			   char *err, size_t errsz);

/*
 * "tcp/443", "udp/53", "tcp/8000-8080", "icmp" (no port); ports 1..65535,
 * min <= max.
 */
/*
 * "ADDR=ADDR" (both IPv4 or both IPv6), or "none". @what names the value
 * in the message ("translate-src").
 */
int veil_parse_addr_pair(const char *s, const char *what, struct veil_addr_pair *p, char *err,
			 size_t errsz);

int veil_parse_port_range(const char *s, struct veil_port_range *r, char *err, size_t errsz);
/* "tcp/443", "tcp/8000-8080", "icmp"; other protocols as "proto-N/...". */
int veil_format_port_range(const struct veil_port_range *r, char *buf, size_t bufsz);

/* A comma-separated list of the above; "any" or "" is the empty list. */
int veil_parse_port_list(const char *s, struct veil_port_range **out, size_t *n,
			 char *err, size_t errsz);

/*
 * A key as text: 64 hex digits or 44 base64 characters (wg(8) style),
 * surrounding white space (a trailing newline) allowed. @len bytes of
 * @text are read; it need not be NUL-terminated.
 */
int veil_parse_key(const char *text, size_t len, uint8_t key[VEIL_KEY_SIZE],
		   char *err, size_t errsz);

/*
 * Read a key from the file @path, "-" for standard input. The message
 * names the file. The text read is wiped before returning; @key is the
 * caller's to wipe.
 */
int veil_read_key_file(const char *path, uint8_t key[VEIL_KEY_SIZE], char *err, size_t errsz);

#endif /* VEIL_ADDR_H */
