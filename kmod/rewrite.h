/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VEIL_REWRITE_H
#define _VEIL_REWRITE_H

#include <linux/types.h>

struct sk_buff;
struct veil_peer;
struct veil_xlat;

int veil_xlat(const struct veil_xlat *x, struct sk_buff *skb, bool rx);
int veil_clamp_mss(struct sk_buff *skb, struct veil_peer *peer);

#endif /* _VEIL_REWRITE_H */
