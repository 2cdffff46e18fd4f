/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One-time enrollment tokens: "veil1-" followed by base64url (no padding) of
 *
 *     ADDRESS "\n" CA-FINGERPRINT "\n" SECRET
 *
 * ADDRESS is the controller's "host:port" or "[v6]:port", CA-FINGERPRINT
 * the CA certificate's SHA-256 in 64 lower-case hex digits, SECRET 32 random
 * bytes in 64 hex digits. The controller stores only SHA-256(SECRET).
 * Plain C: no OpenSSL, no event loop (it parses what a user pastes).
 */
#ifndef VEIL_TOKEN_H
#define VEIL_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define VEIL_TOKEN_ADDR_MAX	256

struct veil_enroll_token {
	char address[VEIL_TOKEN_ADDR_MAX];
	char ca_fpr[65];
	uint8_t secret[32];
};

/*
 * Returns the length written (without NUL) or -ENOSPC; -EINVAL when @t's
 * address or fingerprint is not in the shape the parser accepts.
 */
int veil_token_format(const struct veil_enroll_token *t, char *buf, size_t size);
/* 0, or -EINVAL with a reason in @why ("not a veil token", "bad fingerprint", ...). */
int veil_token_parse(const char *s, struct veil_enroll_token *t, const char **why);

#endif /* VEIL_TOKEN_H */
