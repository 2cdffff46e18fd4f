// SPDX-License-Identifier: GPL-2.0
/*
 * Control protocol framing and the checked envelope around protobuf-c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

/* A body buffer larger than this is released once its frame is delivered. */
#define KEEP_CAP	4096

void veil_frame_decoder_init(struct veil_frame_decoder *d, size_t max)
{
	memset(d, 0, sizeof(*d));
	d->max = max ? max : VEIL_FRAME_MAX;
	if (d->max > UINT32_MAX)
		d->max = UINT32_MAX;
}

void veil_frame_decoder_free(struct veil_frame_decoder *d)
{
	free(d->buf);
	d->buf = NULL;
	d->cap = 0;
	d->have = 0;
	d->hdr_have = 0;
}

size_t veil_frame_decoder_pending(const struct veil_frame_decoder *d)
{
	return d->hdr_have + d->have;
}

static void frame_done(struct veil_frame_decoder *d)
{
	d->hdr_have = 0;
	d->have = 0;
	d->len = 0;
}

int veil_frame_feed(struct veil_frame_decoder *d, const uint8_t *data, size_t n, size_t *used,
		    const uint8_t **frame, size_t *len)
{
	size_t off = 0, take;

	*used = 0;
	if (d->cap > KEEP_CAP && d->hdr_have == 0) {
		free(d->buf);
		d->buf = NULL;
		d->cap = 0;
	}

	while (d->hdr_have < VEIL_FRAME_HDR) {
		if (off == n) {
			*used = off;
			return 0;
		}
		d->hdr[d->hdr_have++] = data[off++];
	}
	if (d->len == 0) {
		d->len = (uint32_t)d->hdr[0] << 24 | (uint32_t)d->hdr[1] << 16 |
			 (uint32_t)d->hdr[2] << 8 | d->hdr[3];
		*used = off;
		if (d->len == 0)
			return -EBADMSG;
		if (d->len > d->max)
			return -EMSGSIZE;
		/* The whole body is already here: hand it out without a copy. */
		if (n - off >= d->len) {
			*frame = data + off;
			*len = d->len;
			*used = off + d->len;
			frame_done(d);
			return 1;
		}
		if (d->cap < d->len) {
			uint8_t *b = realloc(d->buf, d->len);

			if (!b)
				return -ENOMEM;
			d->buf = b;
			d->cap = d->len;
		}
	}

	take = n - off;
	if (take > d->len - d->have)
		take = d->len - d->have;
	memcpy(d->buf + d->have, data + off, take);
	d->have += take;
	off += take;
	*used = off;
	if (d->have < d->len)
		return 0;
	*frame = d->buf;
	*len = d->len;
	frame_done(d);	/* the buffer itself stays valid until the next call */
	return 1;
}

void veil_frame_header(uint8_t hdr[VEIL_FRAME_HDR], uint32_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}

int veil_msg_pack(const Veil__Message *m, size_t max, uint8_t **out, size_t *out_len)
{
	size_t len;
	uint8_t *buf;

	*out = NULL;
	*out_len = 0;
	if (m->version != VEIL_PROTOCOL_VERSION || m->body_case == VEIL__MESSAGE__BODY__NOT_SET ||
	    !m->hello)	/* every body is a message: the union's pointer must be set */
		return -EINVAL;
	len = veil__message__get_packed_size(m);
	if (!max)
		max = VEIL_FRAME_MAX;
	if (len == 0 || len > max || len > UINT32_MAX)
		return -EMSGSIZE;
	buf = malloc(VEIL_FRAME_HDR + len);
	if (!buf)
		return -ENOMEM;
	veil_frame_header(buf, (uint32_t)len);
	if (veil__message__pack(m, buf + VEIL_FRAME_HDR) != len) {
		free(buf);
		return -EINVAL;
	}
	*out = buf;
	*out_len = VEIL_FRAME_HDR + len;
	return 0;
}

int veil_msg_unpack(const uint8_t *data, size_t len, Veil__Message **out, const char **why)
{
	Veil__Message *m;

	*out = NULL;
	m = veil__message__unpack(NULL, len, data);
	if (!m) {
		*why = "message does not decode";
		return -EBADMSG;
	}
	if (m->version != VEIL_PROTOCOL_VERSION) {
		veil__message__free_unpacked(m, NULL);
		*why = "unsupported protocol version";
		return -EPROTONOSUPPORT;
	}
	if (m->body_case == VEIL__MESSAGE__BODY__NOT_SET || !m->hello) {
		veil__message__free_unpacked(m, NULL);
		*why = "message has no body";
		return -EINVAL;
	}
	*out = m;
	return 0;
}

void veil_msg_free(Veil__Message *m)
{
	if (m)
		veil__message__free_unpacked(m, NULL);
}

const char *veil_msg_name(const Veil__Message *m)
{
	const ProtobufCFieldDescriptor *f;

	if (!m || m->body_case == VEIL__MESSAGE__BODY__NOT_SET)
		return "none";
	f = protobuf_c_message_descriptor_get_field(&veil__message__descriptor,
						    (unsigned int)m->body_case);
	return f ? f->name : "unknown";
}
