// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for userspace/ctl/token.c: the input is what a user
 * pastes as an enrollment token.
 *
 * Invariants besides the sanitizers: a refusal always carries a reason; an
 * accepted token formats back to a token of the same length that parses to
 * the same fields.
 */
// sources: userspace/ctl/token.c
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"

#define ASSERT(c)							\
	do {								\
		if (!(c)) {						\
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); \
			abort();					\
		}							\
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct veil_enroll_token t, u;
	char *s, out[1024];
	const char *why = NULL;
	int ret, len;

	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	ret = veil_token_parse(s, &t, &why);
	if (ret) {
		ASSERT(why && *why);
		free(s);
		return 0;
	}
	ASSERT(!why);
	ASSERT(t.address[0] && strlen(t.address) < sizeof(t.address));
	ASSERT(strlen(t.ca_fpr) == 64);
	len = veil_token_format(&t, out, sizeof(out));
	ASSERT(len > 0 && (size_t)len == strlen(out));
	ASSERT(veil_token_parse(out, &u, &why) == 0);
	ASSERT(!strcmp(t.address, u.address) && !strcmp(t.ca_fpr, u.ca_fpr) &&
	       !memcmp(t.secret, u.secret, sizeof(t.secret)));
	/* Only the secret's hex case can differ from the input. */
	ASSERT(strlen(s) == (size_t)len && !strncmp(s, out, 6));
	free(s);
	return 0;
}
