/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * veil: the generic netlink interface between veil.ko and userspace.
 *
 * This header is the single source of truth for the "veil" generic netlink
 * family. The kernel module, the veil CLI and the daemons all include it.
 *
 * Conventions
 *   - Commands are VEIL_CMD_<OBJECT>_<VERB>. Every command requires
 *     CAP_NET_ADMIN (GENL_ADMIN_PERM): changes obviously, and reads too,
 *     because tunnel and DNS state reveal who talks to whom.
 *   - Attributes are VEIL_A_<SET>_<NAME>. Each set is its own enum; nested
 *     sets are noted at the attribute that carries them. Policies are strict:
 *     an unknown attribute, a wrong type or a wrong length is refused with
 *     an extended ACK message naming the attribute.
 *   - Every object lives in the network namespace the request is sent from.
 *     A device is addressed by VEIL_A_DEV_IFINDEX or VEIL_A_DEV_IFNAME; when
 *     both are given they must name the same device.
 *   - Counters are u64 and padded with the set's *_PAD attribute.
 */
#ifndef _UAPI_LINUX_VEIL_H
#define _UAPI_LINUX_VEIL_H

#define VEIL_GENL_NAME		"veil"
#define VEIL_GENL_VERSION	1

/* rtnl link kind: ip link add veil0 type veil */
#define VEIL_LINK_KIND		"veil"

/* Default MTU of a veil device: leaves room for IPv6 + UDP + veil header. */
#define VEIL_DEFAULT_MTU	1420

/**
 * enum veil_cmd - commands of the veil family
 * @VEIL_CMD_DEV_GET: do: return one veil device, addressed by
 *	%VEIL_A_DEV_IFINDEX or %VEIL_A_DEV_IFNAME. dump: return every veil
 *	device of the caller's network namespace. Reply attributes: the
 *	&enum veil_a_dev set.
 */
enum veil_cmd {
	VEIL_CMD_UNSPEC,
	VEIL_CMD_DEV_GET,

	__VEIL_CMD_MAX
};
#define VEIL_CMD_MAX (__VEIL_CMD_MAX - 1)

/**
 * enum veil_a_dev - attributes of a veil device (top level)
 * @VEIL_A_DEV_IFINDEX: u32, interface index
 * @VEIL_A_DEV_IFNAME: string, interface name (at most IFNAMSIZ - 1 bytes)
 * @VEIL_A_DEV_MTU: u32, current MTU (reply only)
 * @VEIL_A_DEV_STATS: nested &enum veil_a_stats, device counters (reply only)
 * @VEIL_A_DEV_PAD: padding for 64-bit attributes
 */
enum veil_a_dev {
	VEIL_A_DEV_UNSPEC,
	VEIL_A_DEV_IFINDEX,
	VEIL_A_DEV_IFNAME,
	VEIL_A_DEV_MTU,
	VEIL_A_DEV_STATS,
	VEIL_A_DEV_PAD,

	__VEIL_A_DEV_MAX
};
#define VEIL_A_DEV_MAX (__VEIL_A_DEV_MAX - 1)

/**
 * enum veil_a_stats - device counters, all u64, same meaning as the
 *	fields of struct rtnl_link_stats64 of the same name
 */
enum veil_a_stats {
	VEIL_A_STATS_UNSPEC,
	VEIL_A_STATS_RX_PACKETS,
	VEIL_A_STATS_RX_BYTES,
	VEIL_A_STATS_RX_ERRORS,
	VEIL_A_STATS_RX_DROPPED,
	VEIL_A_STATS_TX_PACKETS,
	VEIL_A_STATS_TX_BYTES,
	VEIL_A_STATS_TX_ERRORS,
	VEIL_A_STATS_TX_DROPPED,
	VEIL_A_STATS_PAD,

	__VEIL_A_STATS_MAX
};
#define VEIL_A_STATS_MAX (__VEIL_A_STATS_MAX - 1)

#endif /* _UAPI_LINUX_VEIL_H */
