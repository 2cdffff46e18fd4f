/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VEIL_DNS_H
#define _VEIL_DNS_H

#include <linux/in6.h>
#include <linux/netfilter.h>
#include <linux/types.h>
#include <uapi/linux/veil.h>

#include "dnswire.h"

struct net;
struct sk_buff;
struct veil_dns_net;
struct genl_info;
struct netlink_callback;

/* Longest name in presentation form, without the final dot. */
#define VEIL_DNS_TEXT_NAME_MAX	253

/**
 * struct veil_dns_cached - what the cache holds for one name
 * @negative: the name does not exist (NXDOMAIN)
 * @ttl: seconds left, at least 1
 * @n4: number of @a4 in use
 * @n6: number of @a6 in use
 */
struct veil_dns_cached {
	bool negative;
	u32 ttl;
	u8 n4, n6;
	__be32 a4[VEIL_DNS_MAX_ADDRS];
	struct in6_addr a6[VEIL_DNS_MAX_ADDRS];
};

/* Where a query came from and went to, to address the answer back. */
struct veil_dns_flow {
	u16 family;
	union {
		__be32 v4;
		struct in6_addr v6;
	} src, dst;
	__be16 sport;
};

struct netlink_ext_ack;

int veil_dns_cache_put(struct net *net, const char *name, size_t len,
		       const struct veil_dns_cached *ans, u32 ttl, struct netlink_ext_ack *extack);
int veil_nl_dns_name(struct genl_info *info, int type, char *out);
int veil_nl_dns_parse_answer(struct genl_info *info, struct veil_dns_cached *ans, u32 *ttl);

/* Answer the query held in @skb (DNS message at @off) from the cache. */
void veil_dns_reply(struct net *net, struct sk_buff *skb, unsigned int off,
		    const struct veil_dns_flow *f, bool servfail);

/* Pending queries (dnspend.c). */
int veil_dns_pend_init(void);
void veil_dns_pend_uninit(void);
bool veil_dns_pend(struct net *net, struct sk_buff *skb, unsigned int off,
		   const struct veil_dns_flow *f, const char *name, size_t len, u16 qtype);
int veil_nl_dns_verdict_doit(struct sk_buff *skb, struct genl_info *info);

int veil_dns_init(void);
void veil_dns_uninit(void);

/*
 * The hooks (dnshook.c), registered while a namespace has zones: @ops is
 * room for VEIL_DNS_HOOKS of them, kept as long as they are registered,
 * and each hook is given @dn, its namespace's DNS state.
 */
#define VEIL_DNS_HOOKS	4
int veil_dns_hook_init(void);
void veil_dns_hook_uninit(void);
int veil_dns_hooks_register(struct net *net, struct nf_hook_ops *ops, struct veil_dns_net *dn);
void veil_dns_hooks_unregister(struct net *net, struct nf_hook_ops *ops);

/*
 * Lookups for the DNS hook, under RCU. veil_dns_question_in_zone() is its
 * first look at a query of @len bytes: is the question inside a zone?
 * Zones take names in wire form, in any letter case (see struct
 * veil_dns_name); the cache takes lowercase presentation form of @len
 * bytes.
 */
bool veil_dns_question_in_zone(const struct veil_dns_net *dn, const u8 *pkt, size_t len);
bool veil_dns_find_zone(struct net *net, const struct veil_dns_name *name,
			struct veil_dns_name *zone);
bool veil_dns_cache_get(struct net *net, const char *name, size_t len,
			struct veil_dns_cached *ans);

/* Netlink handlers (netlink.c holds the family and its operations). */
int veil_nl_zone_add_doit(struct sk_buff *skb, struct genl_info *info);
int veil_nl_zone_del_doit(struct sk_buff *skb, struct genl_info *info);
int veil_nl_zone_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb);
int veil_nl_cache_add_doit(struct sk_buff *skb, struct genl_info *info);
int veil_nl_cache_del_doit(struct sk_buff *skb, struct genl_info *info);
int veil_nl_cache_get_doit(struct sk_buff *skb, struct genl_info *info);
int veil_nl_cache_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb);

#endif /* _VEIL_DNS_H */
