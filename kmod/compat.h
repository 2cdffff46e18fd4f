/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few places where the kernels veil supports (Debian 12's 6.1 and the
 * 6.12 series) differ. Everything else is written against one API.
 */
#ifndef _VEIL_COMPAT_H
#define _VEIL_COMPAT_H

#include <linux/version.h>
#include <linux/netdevice.h>

/* 6.12 moved LLTX and NETNS_LOCAL from feature bits to device flags. */
static inline void veil_compat_set_lltx(struct net_device *dev)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	dev->lltx = true;
#else
	dev->features |= NETIF_F_LLTX;
#endif
}

static inline void veil_compat_set_netns_local(struct net_device *dev)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	dev->netns_local = true;
#else
	dev->features |= NETIF_F_NETNS_LOCAL;
#endif
}

/* 6.6 turned the inet_sock bit fields into atomic flags. */
#include <net/inet_sock.h>
static inline void veil_compat_set_mc_loop(struct sock *sk)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
	inet_set_bit(MC_LOOP, sk);
#else
	inet_sk(sk)->mc_loop = 1;
#endif
}

/* 6.6 indexes devices in an xarray and dumps walk it by ifindex. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#define VEIL_HAVE_NETDEV_DUMP 1
#endif

/* 6.2 split genl ops; the parsed attributes of a dump moved with it. */
#include <net/genetlink.h>
static inline struct nlattr **veil_compat_dump_attrs(struct netlink_callback *cb)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	return genl_dumpit_info(cb)->info.attrs;
#else
	return genl_dumpit_info(cb)->attrs;
#endif
}

/* 6.4 moved the GSO helpers out of netdevice.h. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#include <net/gso.h>
#endif

#endif /* _VEIL_COMPAT_H */
