// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the enrollment token format (userspace/ctl/token.c): round
 * trips, and every malformed token refused with its reason. KTAP output.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "token.h"
#include "ktap.h"

#define FPR "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define SEC "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* An independent encoder: "veil1-" + base64url(@raw[0..len)). */
static void encode(const char *raw, size_t len, char *out)
{
	const unsigned char *in = (const unsigned char *)raw;
	size_t i;
	unsigned int v;
	char *o = out + sprintf(out, "veil1-");

	for (i = 0; i < len; i += 3) {
		v = in[i] << 16 | (i + 1 < len ? in[i + 1] << 8 : 0) | (i + 2 < len ? in[i + 2] : 0);
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		if (i + 1 < len)
			*o++ = b64[v >> 6 & 63];
		if (i + 2 < len)
			*o++ = b64[v & 63];
	}
	*o = '\0';
}

/* Parse @tok; true if refused with a reason containing @want. */
static bool refused(const char *tok, const char *want)
{
	struct veil_enroll_token t;
	const char *why = NULL;
	int ret;

	memset(&t, 0xaa, sizeof(t));
	ret = veil_token_parse(tok, &t, &why);
	if (ret != -EINVAL || !why) {
		printf("# \"%s\": ret %d\n", tok, ret);
		return false;
	}
	if (!strstr(why, want)) {
		printf("# \"%s\": reason \"%s\", want \"%s\"\n", tok, why, want);
		return false;
	}
	return t.address[0] == '\0';	/* nothing half-filled on failure */
}

/* Build "ADDR\nFPR\nSEC" (or any raw text) and check it is refused. */
static bool raw_refused(const char *raw, const char *want)
{
	char tok[2048];

	encode(raw, strlen(raw), tok);
	return refused(tok, want);
}

static void test_round_trip(void)
{
	static const char *addrs[] = {
		"ctl.example.com:4443", "192.0.2.1:1", "[2001:db8::1]:65535", "a:443",
	};
	struct veil_enroll_token t, u;
	const char *why;
	char buf[1024], name[128], raw[512];
	size_t i;
	int len;

	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		memset(&t, 0, sizeof(t));
		snprintf(t.address, sizeof(t.address), "%s", addrs[i]);
		memcpy(t.ca_fpr, FPR, 65);
		for (int j = 0; j < 32; j++)
			t.secret[j] = (uint8_t)(j * 37 + i);
		len = veil_token_format(&t, buf, sizeof(buf));
		snprintf(name, sizeof(name), "format then parse gives back %s", addrs[i]);
		CHECK(len > 0 && (size_t)len == strlen(buf) &&
		      veil_token_parse(buf, &u, &why) == 0 && why == NULL &&
		      !strcmp(u.address, t.address) && !strcmp(u.ca_fpr, t.ca_fpr) &&
		      !memcmp(u.secret, t.secret, 32), name);
	}

	/* Tokens made by another encoder are read the same way. */
	snprintf(raw, sizeof(raw), "ctl:4443\n" FPR "\n" SEC);
	encode(raw, strlen(raw), buf);
	CHECK(veil_token_parse(buf, &u, &why) == 0 && !strcmp(u.address, "ctl:4443") &&
	      u.secret[0] == 0x0f && u.secret[31] == 0xf0, "an independently encoded token parses");
	snprintf(raw, sizeof(raw), "ctl:4443\n" FPR "\n%s", "0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C4B5A69788796A5B4C3D2E1F0");
	encode(raw, strlen(raw), buf);
	CHECK(veil_token_parse(buf, &u, &why) == 0 && u.secret[0] == 0x0f,
	      "an upper-case secret is accepted");

	memset(&t, 0, sizeof(t));
	snprintf(t.address, sizeof(t.address), "ctl:4443");
	memcpy(t.ca_fpr, FPR, 65);
	len = veil_token_format(&t, buf, sizeof(buf));
	CHECK(len > 0 && veil_token_format(&t, buf, (size_t)len) == -ENOSPC &&
	      veil_token_format(&t, buf, (size_t)len + 1) == len,
	      "format needs room for the NUL: -ENOSPC one byte short");
	snprintf(t.address, sizeof(t.address), "ctl");
	CHECK(veil_token_format(&t, buf, sizeof(buf)) == -EINVAL, "format refuses an address without port");
	snprintf(t.address, sizeof(t.address), "ctl:1");
	t.ca_fpr[0] = 'A';
	CHECK(veil_token_format(&t, buf, sizeof(buf)) == -EINVAL, "format refuses an upper-case fingerprint");
}

static void test_malformed(void)
{
	char raw[1024], tok[2048];
	size_t len;

	CHECK(refused("", "not a veil token"), "empty string refused");
	CHECK(refused("veil2-abcd", "not a veil token"), "other version prefix refused");
	CHECK(refused("VEIL1-abcd", "not a veil token"), "upper-case prefix refused");
	CHECK(refused("veil1-", "empty"), "nothing after the prefix refused");
	CHECK(refused("veil1-abc+def/", "outside base64url"), "standard base64 '+' '/' refused");
	CHECK(refused("veil1-YWJj ZGVm", "outside base64url"), "inner space refused");
	CHECK(refused("veil1-YWJjZA==", "padding"), "'=' padding refused");
	CHECK(refused("veil1-YWJjZ", "truncated"), "length 1 mod 4 refused");
	CHECK(refused("veil1-YWJjZB", "non-canonical"), "non-zero unused bits refused");
	CHECK(veil_token_parse(NULL, &(struct veil_enroll_token){0}, NULL) == -EINVAL,
	      "NULL refused, NULL reason pointer allowed");

	snprintf(raw, sizeof(raw), "ctl:4443\n" FPR "\n" SEC);
	encode(raw, strlen(raw), tok);
	len = strlen(tok);
	tok[len] = '\n';
	tok[len + 1] = '\0';
	CHECK(refused(tok, "outside base64url"), "trailing newline refused");
	tok[len - 4] = '\0';
	CHECK(refused(tok, "secret"), "token cut short by 4 characters refused");

	memset(tok, 'A', 1500);
	memcpy(tok, "veil1-", 6);
	tok[1500] = '\0';
	CHECK(refused(tok, "too long"), "over-long token refused");

	CHECK(raw_refused("ctl:4443\n" FPR, "three fields"), "two fields refused");
	CHECK(raw_refused("ctl:4443\n" FPR "\n" SEC "\n", "three fields"), "four fields refused");
	CHECK(raw_refused("ctl:4443", "three fields"), "one field refused");
	CHECK(raw_refused("\n" FPR "\n" SEC, "address is empty"), "empty address refused");
	CHECK(raw_refused("ctl\n" FPR "\n" SEC, "no port"), "address without port refused");
	CHECK(raw_refused(":4443\n" FPR "\n" SEC, "empty host"), "empty host refused");
	CHECK(raw_refused("ctl:\n" FPR "\n" SEC, "bad port"), "empty port refused");
	CHECK(raw_refused("ctl:0\n" FPR "\n" SEC, "1..65535"), "port 0 refused");
	CHECK(raw_refused("ctl:65536\n" FPR "\n" SEC, "1..65535"), "port 65536 refused");
	CHECK(raw_refused("ctl:04443\n" FPR "\n" SEC, "1..65535"), "port with a leading zero refused");
	CHECK(raw_refused("ctl:44x3\n" FPR "\n" SEC, "bad port"), "non-digit port refused");
	CHECK(raw_refused("ctl:1:2\n" FPR "\n" SEC, "bad port"), "bare IPv6 without brackets refused");
	CHECK(raw_refused("c tl:4443\n" FPR "\n" SEC, "bad character"), "space in host refused");
	CHECK(raw_refused("[::1]\n" FPR "\n" SEC, "no port"), "[v6] without port refused");
	CHECK(raw_refused("[]:1\n" FPR "\n" SEC, "[IPv6]"), "empty [v6] refused");
	CHECK(raw_refused("[::1:1\n" FPR "\n" SEC, "[IPv6]"), "unterminated [v6 refused");

	snprintf(raw, sizeof(raw), "%0300d:1\n" FPR "\n" SEC, 0);
	CHECK(raw_refused(raw, "too long"), "address of 300 characters refused");

	CHECK(raw_refused("ctl:1\n" "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\n" SEC,
			  "fingerprint"), "upper-case fingerprint refused");
	CHECK(raw_refused("ctl:1\n" "0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n" SEC,
			  "fingerprint"), "63-digit fingerprint refused");
	CHECK(raw_refused("ctl:1\n" "g0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n" SEC,
			  "fingerprint"), "non-hex fingerprint refused");
	CHECK(raw_refused("ctl:1\n" FPR "\n" "f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
			  "secret"), "63-digit secret refused");
	CHECK(raw_refused("ctl:1\n" FPR "\n" SEC "0", "secret"), "65-digit secret refused");
	CHECK(raw_refused("ctl:1\n" FPR "\n" "zf1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
			  "secret"), "non-hex secret refused");
	CHECK(raw_refused("ctl:1\n" FPR "\n", "secret"), "empty secret refused");

	memcpy(raw, "ctl:1\n" FPR "\n" SEC, sizeof("ctl:1\n" FPR "\n" SEC));
	raw[3] = '\0';
	encode(raw, sizeof("ctl:1\n" FPR "\n" SEC) - 1, tok);
	CHECK(refused(tok, "NUL"), "NUL byte inside refused");
}

int main(void)
{
	ktap_plan(47);
	test_round_trip();
	test_malformed();
	return ktap_done_planned(47);
}
