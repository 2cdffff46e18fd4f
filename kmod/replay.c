// SPDX-License-Identifier: GPL-2.0
/*
 * Anti-replay window (the bitmap scheme of RFC 6479) and the veil data
 * header. The caller serializes updates to one window.
 */
#ifdef __KERNEL__
#include <linux/string.h>
#include <uapi/linux/veil.h>
#else
#include <string.h>
#include <linux/veil.h>
#endif

#include "replay.h"

void veil_replay_init(struct veil_replay *r)
{
	memset(r, 0, sizeof(*r));
}

bool veil_replay_fresh(const struct veil_replay *r, u64 counter)
{
	if (counter >= VEIL_COUNTER_LIMIT)
		return false;
	if (counter > r->max)
		return true;
	if (r->max - counter >= VEIL_REPLAY_WINDOW)
		return false;
	return !(r->bitmap[(counter / 64) % VEIL_REPLAY_WORDS] & (1ULL << (counter % 64)));
}

bool veil_replay_accept(struct veil_replay *r, u64 counter)
{
	u64 word, cur, i, n;

	if (!veil_replay_fresh(r, counter))
		return false;
	if (counter > r->max) {
		/* Clear the words the window slides over. */
		cur = r->max / 64;
		word = counter / 64;
		n = word - cur;
		if (n > VEIL_REPLAY_WORDS)
			n = VEIL_REPLAY_WORDS;
		for (i = 1; i <= n; i++)
			r->bitmap[(cur + i) % VEIL_REPLAY_WORDS] = 0;
		r->max = counter;
	}
	r->bitmap[(counter / 64) % VEIL_REPLAY_WORDS] |= 1ULL << (counter % 64);
	return true;
}

static u32 veil_get_be32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

int veil_pkt_parse(const u8 *p, size_t len, struct veil_pkt_hdr *h)
{
	if (len < VEIL_PKT_HDR_LEN + VEIL_PKT_TAG_LEN)
		return -1;
	/* Only type 0x80 and the phase flag are defined; the rest is reserved. */
	if (p[0] != VEIL_PKT_TYPE_DATA || (p[1] & ~VEIL_PKT_FLAG_PHASE) || p[2] || p[3])
		return -1;
	h->type = p[0];
	h->phase = p[1] & VEIL_PKT_FLAG_PHASE;
	h->receiver = veil_get_be32(p + 4);
	h->counter = (u64)veil_get_be32(p + 8) << 32 | veil_get_be32(p + 12);
	if (!h->receiver)
		return -1;
	return 0;
}

void veil_pkt_build(u8 *p, u32 receiver, u64 counter, u8 phase)
{
	int i;

	p[0] = VEIL_PKT_TYPE_DATA;
	p[1] = phase ? VEIL_PKT_FLAG_PHASE : 0;
	p[2] = p[3] = 0;
	for (i = 0; i < 4; i++)
		p[4 + i] = receiver >> (24 - 8 * i);
	for (i = 0; i < 8; i++)
		p[8 + i] = counter >> (56 - 8 * i);
}
