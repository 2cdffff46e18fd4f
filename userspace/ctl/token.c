// SPDX-License-Identifier: GPL-2.0
/*
 * One-time enrollment tokens: "veil1-" + base64url(ADDRESS \n FPR \n SECRET).
 *
 * The parser sees what a user pasted, so it is strict: canonical base64url
 * without padding (unused bits zero), exactly three fields, and each field in
 * its one accepted shape. Anything else is refused with the reason.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "token.h"

#define PREFIX		"veil1-"
#define PREFIX_LEN	(sizeof(PREFIX) - 1)
/* ADDRESS (< VEIL_TOKEN_ADDR_MAX) \n 64 hex \n 64 hex */
#define RAW_MAX		(VEIL_TOKEN_ADDR_MAX - 1 + 1 + 64 + 1 + 64)
#define ENC_MAX		((RAW_MAX * 4 + 2) / 3)

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char hexdig[] = "0123456789abcdef";

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Encode @len bytes; @out must hold (len * 4 + 2) / 3 + 1 bytes. */
static size_t b64_encode(const unsigned char *in, size_t len, char *out)
{
	size_t i, o = 0;
	unsigned int v;

	for (i = 0; i + 3 <= len; i += 3) {
		v = (unsigned int)in[i] << 16 | (unsigned int)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
		out[o++] = b64url[v & 63];
	}
	if (len - i == 1) {
		v = (unsigned int)in[i] << 16;
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
	} else if (len - i == 2) {
		v = (unsigned int)in[i] << 16 | (unsigned int)in[i + 1] << 8;
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
	}
	out[o] = '\0';
	return o;
}

/*
 * Decode @len characters into @out (at most @size bytes). Returns the
 * decoded length, or -1 with @why set: a character outside the alphabet, an
 * impossible length, or non-zero unused bits (a non-canonical encoding).
 */
static long b64_decode(const char *in, size_t len, unsigned char *out, size_t size,
		       const char **why)
{
	size_t i, o = 0, rem = len % 4;
	unsigned int v = 0;
	int d;

	for (i = 0; i < len; i++) {
		if (b64_value(in[i]) < 0) {
			*why = in[i] == '=' ? "token has base64 padding ('='): not a veil token" :
			       "token has a character outside base64url (A-Z a-z 0-9 - _)";
			return -1;
		}
	}
	if (rem == 1) {
		*why = "token is truncated (impossible base64url length)";
		return -1;
	}
	if (len / 4 * 3 + (rem ? rem - 1 : 0) > size) {
		*why = "token is too long";
		return -1;
	}
	for (i = 0; i < len; i++) {
		d = b64_value(in[i]);
		v = v << 6 | (unsigned int)d;
		if (i % 4 == 3) {
			out[o++] = v >> 16 & 0xff;
			out[o++] = v >> 8 & 0xff;
			out[o++] = v & 0xff;
			v = 0;
		}
	}
	if (rem == 2) {
		if (v & 0xf)
			goto noncanon;
		out[o++] = v >> 4 & 0xff;
	} else if (rem == 3) {
		if (v & 0x3)
			goto noncanon;
		out[o++] = v >> 10 & 0xff;
		out[o++] = v >> 2 & 0xff;
	}
	return (long)o;
noncanon:
	*why = "token is damaged (non-canonical base64url ending)";
	return -1;
}

static bool is_lower_hex(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_';
}

static bool v6_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
	       c == ':' || c == '.' || c == '%' || host_char(c);
}

/* "host:port" or "[v6]:port", port 1..65535 in decimal without sign. */
static const char *check_address(const char *a, size_t len)
{
	const char *port;
	size_t i, hlen, plen;
	unsigned long p = 0;

	if (!len)
		return "controller address is empty";
	if (len >= VEIL_TOKEN_ADDR_MAX)
		return "controller address is too long";
	if (a[0] == '[') {
		const char *close = memchr(a, ']', len);

		if (!close || close == a + 1)
			return "controller address has an unterminated or empty [IPv6] part";
		for (i = 1; a + i < close; i++)
			if (!v6_char(a[i]))
				return "controller address has a bad character in its [IPv6] part";
		if (close + 1 == a + len || close[1] != ':')
			return "controller address has no port (want [v6]:PORT)";
		port = close + 2;
	} else {
		const char *colon = memchr(a, ':', len);

		if (!colon)
			return "controller address has no port (want HOST:PORT)";
		hlen = (size_t)(colon - a);
		if (!hlen)
			return "controller address has an empty host";
		for (i = 0; i < hlen; i++)
			if (!host_char(a[i]))
				return "controller address has a bad character in its host";
		port = colon + 1;
	}
	plen = (size_t)(a + len - port);
	if (!plen || plen > 5)
		return "controller address has a bad port";
	for (i = 0; i < plen; i++) {
		if (port[i] < '0' || port[i] > '9')
			return "controller address has a bad port";
		p = p * 10 + (unsigned long)(port[i] - '0');
	}
	if (port[0] == '0' || p == 0 || p > 65535)
		return "controller address has a port outside 1..65535";
	return NULL;
}

int veil_token_format(const struct veil_enroll_token *t, char *buf, size_t size)
{
	unsigned char raw[RAW_MAX];
	char enc[ENC_MAX + 1];
	size_t alen, n, i, elen;

	alen = strnlen(t->address, sizeof(t->address));
	if (alen == sizeof(t->address) || check_address(t->address, alen) ||
	    strnlen(t->ca_fpr, sizeof(t->ca_fpr)) != 64 || !is_lower_hex(t->ca_fpr, 64))
		return -EINVAL;
	memcpy(raw, t->address, alen);
	n = alen;
	raw[n++] = '\n';
	memcpy(raw + n, t->ca_fpr, 64);
	n += 64;
	raw[n++] = '\n';
	for (i = 0; i < sizeof(t->secret); i++) {
		raw[n++] = (unsigned char)hexdig[t->secret[i] >> 4];
		raw[n++] = (unsigned char)hexdig[t->secret[i] & 15];
	}
	elen = b64_encode(raw, n, enc);
	explicit_bzero(raw, sizeof(raw));
	if (PREFIX_LEN + elen + 1 > size) {
		explicit_bzero(enc, sizeof(enc));
		return -ENOSPC;
	}
	memcpy(buf, PREFIX, PREFIX_LEN);
	memcpy(buf + PREFIX_LEN, enc, elen + 1);
	explicit_bzero(enc, sizeof(enc));
	return (int)(PREFIX_LEN + elen);
}

static int parse(const char *s, struct veil_enroll_token *t, unsigned char *raw,
		 const char **why)
{
	const char *nl1, *nl2, *fpr, *sec;
	size_t len, alen;
	long n;
	int i, hi, lo;

	if (!s || strncmp(s, PREFIX, PREFIX_LEN)) {
		*why = "not a veil token (it starts with \"" PREFIX "\")";
		return -EINVAL;
	}
	s += PREFIX_LEN;
	len = strnlen(s, ENC_MAX + 1);
	if (!len) {
		*why = "token is empty after \"" PREFIX "\"";
		return -EINVAL;
	}
	if (len > ENC_MAX) {
		*why = "token is too long";
		return -EINVAL;
	}
	n = b64_decode(s, len, raw, RAW_MAX, why);
	if (n < 0)
		return -EINVAL;
	if (memchr(raw, '\0', (size_t)n)) {
		*why = "token is damaged (it holds a NUL byte)";
		return -EINVAL;
	}
	nl1 = memchr(raw, '\n', (size_t)n);
	nl2 = nl1 ? memchr(nl1 + 1, '\n', (size_t)((const char *)raw + n - nl1 - 1)) : NULL;
	if (!nl1 || !nl2 || memchr(nl2 + 1, '\n', (size_t)((const char *)raw + n - nl2 - 1))) {
		*why = "token is damaged (it must hold exactly three fields)";
		return -EINVAL;
	}
	alen = (size_t)(nl1 - (const char *)raw);
	*why = check_address((const char *)raw, alen);
	if (*why)
		return -EINVAL;
	fpr = nl1 + 1;
	if (nl2 - fpr != 64 || !is_lower_hex(fpr, 64)) {
		*why = "bad CA fingerprint (want 64 lower-case hex digits)";
		return -EINVAL;
	}
	sec = nl2 + 1;
	if ((const char *)raw + n - sec != 64) {
		*why = "bad secret (want 64 hex digits)";
		return -EINVAL;
	}
	for (i = 0; i < 32; i++) {
		hi = hex_nibble(sec[2 * i]);
		lo = hex_nibble(sec[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			*why = "bad secret (want 64 hex digits)";
			return -EINVAL;
		}
		t->secret[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(t->address, raw, alen);
	t->address[alen] = '\0';
	memcpy(t->ca_fpr, fpr, 64);
	t->ca_fpr[64] = '\0';
	*why = NULL;
	return 0;
}

int veil_token_parse(const char *s, struct veil_enroll_token *t, const char **why)
{
	unsigned char raw[RAW_MAX];
	const char *reason = NULL;
	int ret;

	ret = parse(s, t, raw, &reason);
	explicit_bzero(raw, sizeof(raw));
	if (ret) {
		memset(t, 0, sizeof(*t));
		if (!reason)
			reason = "token is damaged";
	}
	if (why)
		*why = reason;
	return ret;
}
