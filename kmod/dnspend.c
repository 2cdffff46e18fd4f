// SPDX-License-Identifier: GPL-2.0
/*
 * Queries for secure names with nothing cached: held in a bounded table,
 * announced to userspace (VEIL_CMD_EVENT_DNS_QUERY) and answered by its
 * verdict, or with SERVFAIL on a timeout, a full table or no listener.
 */
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "dns.h"
#include "netlink.h"

static unsigned int dns_pending_max = 256;
module_param(dns_pending_max, uint, 0644);
MODULE_PARM_DESC(dns_pending_max,
		 "queries held for a verdict per network namespace; past it SERVFAIL (default 256)");

static unsigned int dns_timeout_ms = 2000;
module_param(dns_timeout_ms, uint, 0644);
MODULE_PARM_DESC(dns_timeout_ms,
		 "how long a query waits for a verdict before SERVFAIL, ms (default 2000)");

struct veil_dns_pending {
	struct list_head node;
	u32 id;
	unsigned long expires;
	struct sk_buff *skb;
	unsigned int off;
	struct veil_dns_flow flow;
	u16 qtype;
	u8 len;
	char name[VEIL_DNS_TEXT_NAME_MAX + 1];
};

/**
 * struct veil_dns_pend_net - held queries of one network namespace
 * @lock: guards the rest (taken with BH off: the hook and the timer)
 * @list: held queries, oldest first
 * @n: how many
 * @next_id: id of the next query held
 * @timer: answers SERVFAIL to queries past their time
 * @net: the namespace
 * @dead: the namespace is going away: hold nothing more
 */
struct veil_dns_pend_net {
	spinlock_t lock;
	struct list_head list;
	unsigned int n;
	u32 next_id;
	struct timer_list timer;
	struct net *net;
	bool dead;
};

static unsigned int veil_dns_pend_net_id __read_mostly;

static struct veil_dns_pend_net *veil_pend_net(const struct net *net)
{
	return net_generic(net, veil_dns_pend_net_id);
}

static void veil_dns_event(struct net *net, const struct veil_dns_pending *p)
{
	union {
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
	} sa = {};
	struct sk_buff *skb;
	void *hdr;
	int salen;

	if (p->flow.family == AF_INET) {
		sa.sin.sin_family = AF_INET;
		sa.sin.sin_addr.s_addr = p->flow.src.v4;
		sa.sin.sin_port = p->flow.sport;
		salen = sizeof(sa.sin);
	} else {
		sa.sin6.sin6_family = AF_INET6;
		sa.sin6.sin6_addr = p->flow.src.v6;
		sa.sin6.sin6_port = p->flow.sport;
		salen = sizeof(sa.sin6);
	}
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_ATOMIC);
	if (!skb)
		return;
	hdr = veil_nl_msg_put(skb, 0, 0, 0, VEIL_CMD_EVENT_DNS_QUERY);
	if (!hdr || nla_put_u32(skb, VEIL_A_DNS_QUERY_ID, p->id) ||
	    nla_put_string(skb, VEIL_A_DNS_NAME, p->name) ||
	    nla_put_u16(skb, VEIL_A_DNS_QTYPE, p->qtype) ||
	    nla_put(skb, VEIL_A_DNS_QUERIER, salen, &sa) ||
	    nla_put_u64_64bit(skb, VEIL_A_DNS_NETNS_COOKIE, net->net_cookie, VEIL_A_DNS_PAD)) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_end(skb, hdr);
	veil_nl_multicast(net, skb);
}

/*
 * Hold the query in @skb for a verdict. False when it cannot be held (no
 * listener, table full, no memory): the caller answers SERVFAIL.
 */
bool veil_dns_pend(struct net *net, struct sk_buff *skb, unsigned int off,
		   const struct veil_dns_flow *f, const char *name, size_t len, u16 qtype)
{
	struct veil_dns_pend_net *pn = veil_pend_net(net);
	struct veil_dns_pending *p;

	if (!veil_nl_has_listeners(net) || len > VEIL_DNS_TEXT_NAME_MAX)
		return false;
	p = kzalloc(sizeof(*p), GFP_ATOMIC);
	if (!p)
		return false;
	p->skb = skb;
	p->off = off;
	p->flow = *f;
	p->qtype = qtype;
	p->len = len;
	memcpy(p->name, name, len);
	p->expires = jiffies + msecs_to_jiffies(READ_ONCE(dns_timeout_ms));

	spin_lock_bh(&pn->lock);
	if (pn->dead || pn->n >= READ_ONCE(dns_pending_max)) {
		spin_unlock_bh(&pn->lock);
		kfree(p);
		return false;
	}
	p->id = ++pn->next_id ?: ++pn->next_id;
	list_add_tail(&p->node, &pn->list);
	pn->n++;
	if (!timer_pending(&pn->timer))
		mod_timer(&pn->timer, p->expires);
	/* The event goes out before the lock drops: a verdict finds the query. */
	veil_dns_event(net, p);
	spin_unlock_bh(&pn->lock);
	return true;
}

/* Answer and free every query on @list. */
static void veil_dns_pend_answer(struct net *net, struct list_head *list, bool servfail)
{
	struct veil_dns_pending *p, *tmp;

	list_for_each_entry_safe(p, tmp, list, node) {
		list_del(&p->node);
		veil_dns_reply(net, p->skb, p->off, &p->flow, servfail);
		consume_skb(p->skb);
		kfree(p);
	}
}

static void veil_dns_pend_timeout(struct timer_list *t)
{
	struct veil_dns_pend_net *pn = from_timer(pn, t, timer);
	struct veil_dns_pending *p, *tmp;
	LIST_HEAD(expired);

	spin_lock_bh(&pn->lock);
	list_for_each_entry_safe(p, tmp, &pn->list, node) {
		if (time_before(jiffies, p->expires)) {
			mod_timer(&pn->timer, p->expires);	/* the oldest left */
			break;
		}
		list_move_tail(&p->node, &expired);
		pn->n--;
	}
	spin_unlock_bh(&pn->lock);
	veil_dns_pend_answer(pn->net, &expired, true);
}

int veil_nl_dns_verdict_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct veil_dns_pend_net *pn = veil_pend_net(net);
	struct veil_dns_pending *p, *tmp, *found = NULL;
	struct veil_dns_cached ans;
	LIST_HEAD(answer);
	u8 verdict;
	u32 id, ttl;
	int err;

	if (!info->attrs[VEIL_A_DNS_QUERY_ID] || !info->attrs[VEIL_A_DNS_VERDICT]) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "a verdict needs the query id and the verdict");
		return -EINVAL;
	}
	id = nla_get_u32(info->attrs[VEIL_A_DNS_QUERY_ID]);
	verdict = nla_get_u8(info->attrs[VEIL_A_DNS_VERDICT]);
	if (verdict != VEIL_DNS_VERDICT_SERVFAIL) {
		err = veil_nl_dns_parse_answer(info, &ans, &ttl);
		if (err)
			return err;
		if ((verdict == VEIL_DNS_VERDICT_NXDOMAIN) != ans.negative) {
			NL_SET_ERR_MSG_MOD(info->extack,
					   "an ANSWER verdict takes addresses, NXDOMAIN takes none");
			return -EINVAL;
		}
	}

	spin_lock_bh(&pn->lock);
	list_for_each_entry(p, &pn->list, node) {
		if (p->id == id) {
			found = p;
			break;
		}
	}
	if (!found) {
		spin_unlock_bh(&pn->lock);
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[VEIL_A_DNS_QUERY_ID],
				    "no query is held with this id (answered or timed out)");
		return -ENOENT;
	}
	/* Every query held for the same name gets the same answer. */
	list_for_each_entry_safe(p, tmp, &pn->list, node) {
		if (p->len == found->len && !memcmp(p->name, found->name, p->len)) {
			list_move_tail(&p->node, &answer);
			pn->n--;
		}
	}
	spin_unlock_bh(&pn->lock);

	err = 0;
	if (verdict != VEIL_DNS_VERDICT_SERVFAIL)
		err = veil_dns_cache_put(net, found->name, found->len, &ans, ttl, info->extack);
	/* Without a cache entry (zone gone meanwhile) the queries get SERVFAIL. */
	veil_dns_pend_answer(net, &answer, verdict == VEIL_DNS_VERDICT_SERVFAIL || err);
	return err;
}

static __net_init int veil_dns_pend_net_init(struct net *net)
{
	struct veil_dns_pend_net *pn = veil_pend_net(net);

	spin_lock_init(&pn->lock);
	INIT_LIST_HEAD(&pn->list);
	timer_setup(&pn->timer, veil_dns_pend_timeout, 0);
	pn->net = net;
	return 0;
}

static __net_exit void veil_dns_pend_net_exit(struct net *net)
{
	struct veil_dns_pend_net *pn = veil_pend_net(net);
	struct veil_dns_pending *p, *tmp;
	LIST_HEAD(dead);

	spin_lock_bh(&pn->lock);
	pn->dead = true;
	list_splice_init(&pn->list, &dead);
	pn->n = 0;
	spin_unlock_bh(&pn->lock);
	del_timer_sync(&pn->timer);
	/* Nobody is left to answer. */
	list_for_each_entry_safe(p, tmp, &dead, node) {
		kfree_skb(p->skb);
		kfree(p);
	}
}

static struct pernet_operations veil_dns_pend_net_ops = {
	.init	= veil_dns_pend_net_init,
	.exit	= veil_dns_pend_net_exit,
	.id	= &veil_dns_pend_net_id,
	.size	= sizeof(struct veil_dns_pend_net),
};

int __init veil_dns_pend_init(void)
{
	return register_pernet_subsys(&veil_dns_pend_net_ops);
}

void veil_dns_pend_uninit(void)
{
	unregister_pernet_subsys(&veil_dns_pend_net_ops);
}
