/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Framing of the control protocol: a 4-byte big-endian length, then that
 * many bytes of one protobuf Message (veil.proto). Plain C, no I/O: the
 * decoder is fed whatever bytes arrived and yields whole frames, so the same
 * code serves blocking clients, the controller's event loop and the fuzzer.
 */
#ifndef VEIL_FRAME_H
#define VEIL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "veil.pb-c.h"

#define VEIL_PROTOCOL_VERSION	1
#define VEIL_FRAME_HDR		4
#define VEIL_FRAME_MAX		(64 * 1024)	/* default limit of a frame's body */

struct veil_frame_decoder {
	size_t max;		/* largest body accepted */
	uint8_t hdr[VEIL_FRAME_HDR];
	size_t hdr_have;	/* header bytes seen of the frame in progress */
	uint32_t len;		/* its body length, once the header is whole */
	uint8_t *buf;		/* body being collected */
	size_t cap;
	size_t have;
};

void veil_frame_decoder_init(struct veil_frame_decoder *d, size_t max);
void veil_frame_decoder_free(struct veil_frame_decoder *d);
/* Bytes of a frame in progress (0: the decoder is between frames). */
size_t veil_frame_decoder_pending(const struct veil_frame_decoder *d);

/*
 * Feed @n bytes at @data. Consumes bytes up to the end of the first frame
 * that completes and stores how many in *used. Returns 1 with the frame's
 * body in *frame and *len (valid until the next call), 0 when every byte was
 * consumed without completing a frame, -EMSGSIZE for a length over the
 * limit, -EBADMSG for a zero length. After an error the stream is lost:
 * close the session.
 */
int veil_frame_feed(struct veil_frame_decoder *d, const uint8_t *data, size_t n, size_t *used,
		    const uint8_t **frame, size_t *len);

/* Write the header of a @len-byte body. */
void veil_frame_header(uint8_t hdr[VEIL_FRAME_HDR], uint32_t len);

/*
 * Pack @m into a new frame (header included; malloc'd into *out, *out_len).
 * @m must carry VEIL_PROTOCOL_VERSION and one body. Returns 0, -EINVAL (no
 * body, wrong version), -EMSGSIZE (body over @max), -ENOMEM.
 */
int veil_msg_pack(const Veil__Message *m, size_t max, uint8_t **out, size_t *out_len);

/*
 * Decode one frame's body. Returns 0 with *out to free with veil_msg_free(),
 * or -EBADMSG (does not decode), -EPROTONOSUPPORT (other version), -EINVAL
 * (no body); *why then says so in a few words.
 */
int veil_msg_unpack(const uint8_t *data, size_t len, Veil__Message **out, const char **why);
void veil_msg_free(Veil__Message *m);

/* The body's name as in veil.proto ("hello", "enroll_request"), for logs. */
const char *veil_msg_name(const Veil__Message *m);

#endif /* VEIL_FRAME_H */
