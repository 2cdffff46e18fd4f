/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VEIL_RECEIVE_H
#define _VEIL_RECEIVE_H

struct sock;
struct sk_buff;
struct veil_peer;

int veil_udp_encap_rcv(struct sock *sk, struct sk_buff *skb);
void veil_rx_finish(struct veil_peer *peer, struct sk_buff *skb);

#endif /* _VEIL_RECEIVE_H */
