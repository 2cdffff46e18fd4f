/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VEIL_RECEIVE_H
#define _VEIL_RECEIVE_H

struct sock;
struct sk_buff;
struct veil_device;
struct veil_peer;

int veil_udp_encap_rcv(struct sock *sk, struct sk_buff *skb);
int veil_rx_init(struct veil_device *vd);
void veil_rx_uninit(struct veil_device *vd);
int veil_rx_wq_init(void);
void veil_rx_wq_uninit(void);
void veil_rx_finish(struct veil_peer *peer, struct sk_buff *skb);

#endif /* _VEIL_RECEIVE_H */
