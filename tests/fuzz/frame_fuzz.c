// SPDX-License-Identifier: GPL-2.0
// sources: userspace/ctl/frame.c build/gen/veil.pb-c.c
// pkgs: libprotobuf-c
/*
 * libFuzzer target for userspace/ctl/frame.c: the input is a byte stream as
 * a peer would send it. It is fed to the frame decoder in chunks whose sizes
 * come from the input's first byte, and every frame that comes out is
 * unpacked as a Message. Invariants abort: the same stream fed whole gives
 * the same frames, and a message that unpacks packs again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

#define MAX	4096	/* a small limit so that "too large" is reachable */

#define ASSERT(c)							\
	do {								\
		if (!(c)) {						\
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); \
			abort();					\
		}							\
	} while (0)

struct result {
	int err;
	size_t n_frames;
	size_t total;		/* body bytes seen */
};

static void check_message(const uint8_t *frame, size_t len)
{
	Veil__Message *m, *m2;
	const char *why;
	uint8_t *out;
	size_t out_len;

	if (veil_msg_unpack(frame, len, &m, &why))
		return;
	ASSERT(m->version == VEIL_PROTOCOL_VERSION);
	ASSERT(veil_msg_name(m));
	if (veil_msg_pack(m, 4 * MAX + 1024, &out, &out_len) == 0) {
		/*
		 * protobuf-c keeps unknown fields and writes them back as it
		 * read them, tags it could not represent included: a repacked
		 * message need not decode again, but when it does it is the
		 * same kind.
		 */
		if (veil_msg_unpack(out + VEIL_FRAME_HDR, out_len - VEIL_FRAME_HDR, &m2, &why) == 0) {
			ASSERT(m2->body_case == m->body_case);
			veil_msg_free(m2);
		}
		free(out);
	}
	veil_msg_free(m);
}

static struct result run(const uint8_t *data, size_t size, size_t step, int unpack)
{
	struct veil_frame_decoder d;
	struct result res = { 0 };
	size_t off = 0, used, flen, chunk;
	const uint8_t *frame;
	int r;

	veil_frame_decoder_init(&d, MAX);
	while (off < size && !res.err) {
		chunk = step && size - off > step ? step : size - off;
		while (chunk) {
			r = veil_frame_feed(&d, data + off, chunk, &used, &frame, &flen);
			ASSERT(used <= chunk);
			off += used;
			chunk -= used;
			if (r < 0) {
				res.err = r;
				break;
			}
			if (r == 1) {
				ASSERT(flen >= 1 && flen <= MAX);
				res.n_frames++;
				res.total += flen;
				if (unpack)
					check_message(frame, flen);
			} else {
				ASSERT(chunk == 0);
			}
		}
	}
	veil_frame_decoder_free(&d);
	return res;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result a, b;
	size_t step;

	if (size < 1)
		return 0;
	step = data[0] % 17;	/* 0: the whole stream at once */
	a = run(data + 1, size - 1, step, 1);
	b = run(data + 1, size - 1, 0, 0);
	ASSERT(a.err == b.err && a.n_frames == b.n_frames && a.total == b.total);
	return 0;
}
