/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Anti-replay window and data-packet header parsing. Plain C with no kernel
 * dependency: the module and the userspace unit tests build the same code.
 */
#ifndef _VEIL_REPLAY_H
#define _VEIL_REPLAY_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
typedef uint8_t u8;
typedef uint32_t u32;
typedef uint64_t u64;
#endif

/* Packets up to VEIL_REPLAY_WINDOW counters behind the newest are accepted. */
#define VEIL_REPLAY_BITS	8192
#define VEIL_REPLAY_WORDS	(VEIL_REPLAY_BITS / 64)
#define VEIL_REPLAY_WINDOW	(VEIL_REPLAY_BITS - 64)

/* No counter at or above this is ever sent or accepted (nonce reuse margin). */
#define VEIL_COUNTER_LIMIT	(1ULL << 60)

/**
 * struct veil_replay - sliding window of received counters
 * @max: the highest counter accepted so far
 * @bitmap: one bit per counter, words reused circularly
 */
struct veil_replay {
	u64 max;
	u64 bitmap[VEIL_REPLAY_WORDS];
};

void veil_replay_init(struct veil_replay *r);
/* Would @counter be accepted? Does not change the window. */
bool veil_replay_fresh(const struct veil_replay *r, u64 counter);
/* Accept @counter once: false if replayed, too old or over the limit. */
bool veil_replay_accept(struct veil_replay *r, u64 counter);

/**
 * struct veil_pkt_hdr - the parsed 16-byte data header
 */
struct veil_pkt_hdr {
	u8 type;
	u8 phase;
	u32 receiver;
	u64 counter;
};

/* Parse @len bytes at @p. Returns 0, or -1 if this is not a veil data packet. */
int veil_pkt_parse(const u8 *p, size_t len, struct veil_pkt_hdr *h);
/* Write the 16-byte header for @receiver, @counter and key @phase to @p. */
void veil_pkt_build(u8 *p, u32 receiver, u64 counter, u8 phase);

#endif /* _VEIL_REPLAY_H */
