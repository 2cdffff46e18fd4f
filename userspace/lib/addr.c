// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"

/* User input is quoted in messages, cut to this many characters. */
#define Q "%.80s"

static int fail(char *err, size_t errsz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (errsz) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return -1;
}

size_t veil_addr_len(uint16_t family)
{
	if (family == AF_INET)
		return 4;
	if (family == AF_INET6)
		return 16;
	return 0;
}

/* Digits only, at most @max; false on anything else, including "". */
static bool parse_dec(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!len)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (max - (uint64_t)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

int veil_parse_uint(const char *s, const char *what, uint64_t min, uint64_t max,
		    uint64_t *out, char *err, size_t errsz)
{
	uint64_t v;

	if (!parse_dec(s, strlen(s), max, &v) || v < min)
		return fail(err, errsz, "Invalid %s \"" Q "\": must be a number from %" PRIu64
			    " to %" PRIu64, what, s, min, max);
	*out = v;
	return 0;
}

/* Copy @len bytes of @s into @buf as a string; false if it does not fit. */
static bool copy_part(char *buf, size_t bufsz, const char *s, size_t len)
{
	if (len >= bufsz)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return true;
}

int veil_parse_endpoint(const char *s, struct sockaddr_storage *ss, socklen_t *len,
			char *err, size_t errsz)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN];
	const char *port, *end;
	uint64_t p;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end || end[1] != ':')
			goto syntax;
		if (!copy_part(host, sizeof(host), s + 1, (size_t)(end - s - 1)) ||
		    inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return fail(err, errsz, "Invalid endpoint \"" Q "\": \"" Q
				    "\" is not an IPv6 address", s, host);
		port = end + 2;
	} else {
		end = strrchr(s, ':');
		if (!end)
			goto syntax;
		if (memchr(s, ':', (size_t)(end - s)))
			return fail(err, errsz, "Invalid endpoint \"" Q "\": an IPv6 endpoint is "
				    "written [ADDR6]:PORT", s);
		if (!copy_part(host, sizeof(host), s, (size_t)(end - s)) ||
		    inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return fail(err, errsz, "Invalid endpoint \"" Q "\": \"" Q
				    "\" is not an IPv4 address", s, host);
		port = end + 1;
	}
	if (!parse_dec(port, strlen(port), 65535, &p) || !p)
		return fail(err, errsz, "Invalid endpoint \"" Q "\": the port must be a number "
			    "from 1 to 65535", s);
	if (s[0] == '[') {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*sin6);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		*len = sizeof(*sin);
	}
	return 0;
syntax:
	return fail(err, errsz, "Invalid endpoint \"" Q "\": expected ADDR:PORT or [ADDR6]:PORT",
		    s);
}

int veil_format_endpoint(const void *sa, size_t len, char *buf, size_t bufsz)
{
	char host[INET6_ADDRSTRLEN];
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;
	sa_family_t family;
	int n;

	if (len < sizeof(family))
		return -1;
	memcpy(&family, sa, sizeof(family));	/* @sa may be unaligned (netlink) */
	if (family == AF_INET && len >= sizeof(sin)) {
		memcpy(&sin, sa, sizeof(sin));
		if (!inet_ntop(AF_INET, &sin.sin_addr, host, sizeof(host)))
			return -1;
		n = snprintf(buf, bufsz, "%s:%u", host, ntohs(sin.sin_port));
	} else if (family == AF_INET6 && len >= sizeof(sin6)) {
		memcpy(&sin6, sa, sizeof(sin6));
		if (!inet_ntop(AF_INET6, &sin6.sin6_addr, host, sizeof(host)))
			return -1;
		if (sin6.sin6_scope_id)
			n = snprintf(buf, bufsz, "[%s%%%" PRIu32 "]:%u", host,
				     (uint32_t)sin6.sin6_scope_id, ntohs(sin6.sin6_port));
		else
			n = snprintf(buf, bufsz, "[%s]:%u", host, ntohs(sin6.sin6_port));
	} else {
		return -1;
	}
	return n < 0 || (size_t)n >= bufsz ? -1 : 0;
}

/* Clear the bits of @addr beyond @len; true if any was set. */
static bool clear_host_bits(uint8_t *addr, size_t alen, unsigned int len)
{
	bool set = false;
	size_t i;

	for (i = 0; i < alen; i++) {
		unsigned int bits = len > i * 8 ? len - (unsigned int)i * 8 : 0;
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff00 >> bits);

		if (addr[i] & ~mask)
			set = true;
		addr[i] &= mask;
	}
	return set;
}

int veil_parse_prefix(const char *s, struct veil_prefix *p, char *err, size_t errsz)
{
	char host[INET6_ADDRSTRLEN], fixed[VEIL_PREFIX_STRLEN];
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	size_t max;
	uint64_t len;

	memset(p, 0, sizeof(*p));
	if (!copy_part(host, sizeof(host), s, hlen))
		goto bad_addr;
	if (inet_pton(AF_INET, host, p->addr) == 1)
		p->family = AF_INET;
	else if (inet_pton(AF_INET6, host, p->addr) == 1)
		p->family = AF_INET6;
	else
		goto bad_addr;
	max = veil_addr_len(p->family) * 8;
	len = max;
	if (slash && !parse_dec(slash + 1, strlen(slash + 1), max, &len))
		return fail(err, errsz, "Invalid prefix \"" Q "\": the length must be a number "
			    "from 0 to %zu", s, max);
	p->len = (uint8_t)len;
	if (clear_host_bits(p->addr, veil_addr_len(p->family), p->len)) {
		veil_format_prefix(p, fixed, sizeof(fixed));
		return fail(err, errsz, "Invalid prefix \"" Q "\": bits are set beyond the "
			    "prefix length (did you mean %s?)", s, fixed);
	}
	return 0;
bad_addr:
	return fail(err, errsz, "Invalid prefix \"" Q "\": expected an IPv4 or IPv6 address, "
		    "optionally followed by /LENGTH", s);
}

int veil_format_prefix(const struct veil_prefix *p, char *buf, size_t bufsz)
{
	char host[INET6_ADDRSTRLEN];
	int n;

	if (!veil_addr_len(p->family) || p->len > veil_addr_len(p->family) * 8 ||
	    !inet_ntop(p->family, p->addr, host, sizeof(host)))
		return -1;
	n = snprintf(buf, bufsz, "%s/%u", host, p->len);
	return n < 0 || (size_t)n >= bufsz ? -1 : 0;
}

int veil_parse_addr_pair(const char *s, const char *what, struct veil_addr_pair *p, char *err,
			 size_t errsz)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	const char *eq = strchr(s, '=');
	int fa, fb;

	memset(p, 0, sizeof(*p));
	if (!strcmp(s, "none"))
		return 0;
	if (!eq || !copy_part(a, sizeof(a), s, (size_t)(eq - s)) ||
	    !copy_part(b, sizeof(b), eq + 1, strlen(eq + 1)))
		return fail(err, errsz, "Invalid \"%s\" \"" Q "\": expected ADDR=ADDR (two "
			    "IPv4 or two IPv6 addresses) or none", what, s);
	fa = inet_pton(AF_INET, a, p->from) == 1 ? AF_INET :
	     inet_pton(AF_INET6, a, p->from) == 1 ? AF_INET6 : 0;
	fb = inet_pton(AF_INET, b, p->to) == 1 ? AF_INET :
	     inet_pton(AF_INET6, b, p->to) == 1 ? AF_INET6 : 0;
	if (!fa || !fb)
		return fail(err, errsz, "Invalid \"%s\" \"" Q "\": \"%s\" is not an IPv4 or "
			    "IPv6 address", what, s, fa ? b : a);
	if (fa != fb)
		return fail(err, errsz, "Invalid \"%s\" \"" Q "\": both addresses must be of "
			    "the same family (IPv4 to IPv4, IPv6 to IPv6)", what, s);
	p->family = (uint16_t)fa;
	return 0;
}

static const struct {
	const char *name;
	uint8_t proto;
	bool ports;
} protocols[] = {
	{ "tcp", IPPROTO_TCP, true },
	{ "udp", IPPROTO_UDP, true },
	{ "icmp", IPPROTO_ICMP, false },
};

int veil_parse_port_range(const char *s, struct veil_port_range *r, char *err, size_t errsz)
{
	const char *slash = strchr(s, '/');
	size_t nlen = slash ? (size_t)(slash - s) : strlen(s);
	const char *ports, *dash;
	uint64_t min, max;
	size_t i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++)
		if (strlen(protocols[i].name) == nlen && !strncasecmp(s, protocols[i].name, nlen))
			break;
	if (i == sizeof(protocols) / sizeof(protocols[0]))
		return fail(err, errsz, "Invalid port \"" Q "\": the protocol must be tcp, udp "
			    "or icmp", s);
	r->proto = protocols[i].proto;
	if (!protocols[i].ports) {
		if (slash)
			return fail(err, errsz, "Invalid port \"" Q "\": %s takes no port", s,
				    protocols[i].name);
		return 0;
	}
	if (!slash)
		return fail(err, errsz, "Invalid port \"" Q "\": expected %s/PORT or "
			    "%s/PORT-PORT", s, protocols[i].name, protocols[i].name);
	ports = slash + 1;
	dash = strchr(ports, '-');
	if (!parse_dec(ports, dash ? (size_t)(dash - ports) : strlen(ports), 65535, &min) ||
	    !min || (dash && (!parse_dec(dash + 1, strlen(dash + 1), 65535, &max) || !max)))
		return fail(err, errsz, "Invalid port \"" Q "\": ports must be numbers from 1 "
			    "to 65535", s);
	if (!dash)
		max = min;
	if (min > max)
		return fail(err, errsz, "Invalid port range \"" Q "\": the first port is above "
			    "the last", s);
	r->min = (uint16_t)min;
	r->max = (uint16_t)max;
	return 0;
}

int veil_format_port_range(const struct veil_port_range *r, char *buf, size_t bufsz)
{
	const char *name = NULL;
	char proto[16];
	bool ports = true;
	size_t i;
	int n;

	for (i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++) {
		if (protocols[i].proto == r->proto) {
			name = protocols[i].name;
			ports = protocols[i].ports;
		}
	}
	if (!name) {
		snprintf(proto, sizeof(proto), "proto-%u", r->proto);
		name = proto;
	}
	if (!ports)
		n = snprintf(buf, bufsz, "%s", name);
	else if (r->min == r->max)
		n = snprintf(buf, bufsz, "%s/%u", name, r->min);
	else
		n = snprintf(buf, bufsz, "%s/%u-%u", name, r->min, r->max);
	return n < 0 || (size_t)n >= bufsz ? -1 : 0;
}

/*
 * Split @s at commas, trimming white space around each element, and call
 * @parse on each into the @size-byte slots of a new array. @empty ("none",
 * "any") and "" give the empty list.
 */
static int parse_list(const char *s, const char *what, const char *empty, size_t size,
		      int (*parse)(const char *s, void *elem, char *err, size_t errsz),
		      void **out, size_t *n, char *err, size_t errsz)
{
	const char *p, *start, *end;
	size_t count = 1, i = 0, len;
	char *elem = NULL;
	char *arr;

	*out = NULL;
	*n = 0;
	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	len = (size_t)(end - s);
	if (!len || (len == strlen(empty) && !strncmp(s, empty, len)))
		return 0;
	for (p = s; p < end; p++)
		count += *p == ',';
	arr = calloc(count, size);
	elem = malloc((size_t)(end - s) + 1);
	if (!arr || !elem) {
		fail(err, errsz, "Out of memory");
		goto err;
	}
	for (start = s; i < count; i++) {
		p = memchr(start, ',', (size_t)(end - start));
		if (!p)
			p = end;
		while (start < p && isspace((unsigned char)*start))
			start++;
		len = (size_t)(p - start);
		while (len && isspace((unsigned char)start[len - 1]))
			len--;
		memcpy(elem, start, len);
		elem[len] = '\0';
		if (!len) {
			fail(err, errsz, "Invalid %s list \"" Q "\": an element is empty", what, s);
			goto err;
		}
		if (parse(elem, arr + i * size, err, errsz) < 0)
			goto err;
		start = p + 1;
	}
	free(elem);
	*out = arr;
	*n = count;
	return 0;
err:
	free(elem);
	free(arr);
	return -1;
}

static int parse_prefix_elem(const char *s, void *elem, char *err, size_t errsz)
{
	return veil_parse_prefix(s, elem, err, errsz);
}

static int parse_port_elem(const char *s, void *elem, char *err, size_t errsz)
{
	return veil_parse_port_range(s, elem, err, errsz);
}

int veil_parse_prefix_list(const char *s, struct veil_prefix **out, size_t *n,
			   char *err, size_t errsz)
{
	return parse_list(s, "prefix", "none", sizeof(**out), parse_prefix_elem,
			  (void **)out, n, err, errsz);
}

int veil_parse_port_list(const char *s, struct veil_port_range **out, size_t *n,
			 char *err, size_t errsz)
{
	return parse_list(s, "port", "any", sizeof(**out), parse_port_elem,
			  (void **)out, n, err, errsz);
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int base64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int parse_hex_key(const char *t, uint8_t key[VEIL_KEY_SIZE])
{
	int hi, lo, i;

	for (i = 0; i < VEIL_KEY_SIZE; i++) {
		hi = hex_val(t[2 * i]);
		lo = hex_val(t[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* 43 base64 characters and "=": 256 bits and 2 zero bits. */
static int parse_base64_key(const char *t, uint8_t key[VEIL_KEY_SIZE])
{
	uint32_t acc = 0;
	int bits = 0, v, i, o = 0;

	if (t[VEIL_KEY_BASE64_LEN - 1] != '=')
		return -1;
	for (i = 0; i < VEIL_KEY_BASE64_LEN - 1; i++) {
		v = base64_val(t[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			key[o++] = (uint8_t)(acc >> bits);
		}
	}
	v = (int)(acc & ((1u << bits) - 1));	/* the bits left over must be zero */
	return o == VEIL_KEY_SIZE && !v ? 0 : -1;
}

int veil_parse_key(const char *text, size_t len, uint8_t key[VEIL_KEY_SIZE],
		   char *err, size_t errsz)
{
	int ret = -1;

	while (len && isspace((unsigned char)*text)) {
		text++;
		len--;
	}
	while (len && isspace((unsigned char)text[len - 1]))
		len--;
	if (len == VEIL_KEY_HEX_LEN)
		ret = parse_hex_key(text, key);
	else if (len == VEIL_KEY_BASE64_LEN)
		ret = parse_base64_key(text, key);
	if (ret < 0) {
		explicit_bzero(key, VEIL_KEY_SIZE);
		return fail(err, errsz, "expected %d bytes written as %d hex digits or %d base64 "
			    "characters", VEIL_KEY_SIZE, VEIL_KEY_HEX_LEN, VEIL_KEY_BASE64_LEN);
	}
	return 0;
}

int veil_read_key_file(const char *path, uint8_t key[VEIL_KEY_SIZE], char *err, size_t errsz)
{
	const bool is_stdin = !strcmp(path, "-");
	const char *name = is_stdin ? "standard input" : path;
	char buf[2 * VEIL_KEY_HEX_LEN];	/* a key, white space, and one byte to spare */
	char why[VEIL_ERR_SIZE];
	size_t len = 0;
	ssize_t n;
	int fd, saved;

	fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return fail(err, errsz, "Cannot open key file \"" Q "\": %s", path,
			    strerror(errno));
	for (;;) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf))
			break;
	}
	saved = errno;
	if (!is_stdin)
		close(fd);
	if (n < 0) {
		explicit_bzero(buf, sizeof(buf));
		return fail(err, errsz, "Cannot read key file \"" Q "\": %s", name,
			    strerror(saved));
	}
	if (len == sizeof(buf)) {
		explicit_bzero(buf, sizeof(buf));
		return fail(err, errsz, "Invalid key in \"" Q "\": the file is too long; expected "
			    "%d bytes written as %d hex digits or %d base64 characters", name,
			    VEIL_KEY_SIZE, VEIL_KEY_HEX_LEN, VEIL_KEY_BASE64_LEN);
	}
	n = veil_parse_key(buf, len, key, why, sizeof(why));
	explicit_bzero(buf, sizeof(buf));
	if (n < 0)
		return fail(err, errsz, "Invalid key in \"" Q "\": %s", name, why);
	return 0;
}
