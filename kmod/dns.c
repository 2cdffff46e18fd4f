// SPDX-License-Identifier: GPL-2.0
/*
 * Secure zones and the answer cache, per network namespace. Writers (the
 * netlink commands, the expiry work) hold the namespace's mutex; lookups
 * run under RCU.
 */
#include <linux/ctype.h>
#include <linux/hashtable.h>
#include <linux/jhash.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/sock.h>

#include "dns.h"
#include "netlink.h"

static unsigned int dns_cache_size = 4096;
module_param(dns_cache_size, uint, 0644);
MODULE_PARM_DESC(dns_cache_size,
		 "cached DNS answers per network namespace; the oldest goes first (default 4096)");

#define VEIL_ZONE_HASH_BITS	10
#define VEIL_CACHE_HASH_BITS	12
#define VEIL_DNS_GC_INTERVAL	(30 * HZ)
#define VEIL_DNS_MAX_LABELS	127

/**
 * struct veil_zone - one secure zone
 * @node: in dn->zones, hashed by veil_wire_hash() of @wire (RCU)
 * @rcu: for freeing after a grace period
 * @wire: the apex in wire form, lowercase: what packets are matched against
 * @len: length of @name
 * @name: the apex, lowercase presentation form
 */
struct veil_zone {
	struct hlist_node node;
	struct rcu_head rcu;
	struct veil_dns_name wire;
	u8 len;
	char name[];
};

/**
 * struct veil_dns_entry - one cached answer
 * @node: in dn->cache (RCU)
 * @age: in dn->age, oldest first (under dn->lock)
 * @rcu: for freeing after a grace period
 * @expires: jiffies when the answer dies
 * @ttl: the TTL it was given, seconds
 * @ans: addresses or the negative answer
 * @len: length of @name
 * @name: lowercase, presentation form
 */
struct veil_dns_entry {
	struct hlist_node node;
	struct list_head age;
	struct rcu_head rcu;
	unsigned long expires;
	u32 ttl;
	struct veil_dns_cached ans;
	u8 len;
	char name[];
};

/**
 * struct veil_dns_net - DNS state of one network namespace
 * @lock: serializes changes
 * @zones: secure zones by name (RCU)
 * @zone_labels: bit N set when some zone has N labels (lookups skip others)
 * @nzones: number of zones
 * @cache: answers by name (RCU)
 * @age: answers in insertion order, for eviction
 * @ncache: number of answers
 * @gc: drops expired answers
 * @net: the namespace
 * @hooked: the DNS hooks are registered (while there are zones)
 * @hook_ops: the hooks, given this struct: no lookup on the way in
 */
struct veil_dns_net {
	struct mutex lock;
	DECLARE_HASHTABLE(zones, VEIL_ZONE_HASH_BITS);
	DECLARE_BITMAP(zone_labels, VEIL_DNS_MAX_LABELS + 1);
	unsigned int nzones;
	DECLARE_HASHTABLE(cache, VEIL_CACHE_HASH_BITS);
	struct list_head age;
	unsigned int ncache;
	struct delayed_work gc;
	struct net *net;
	bool hooked;
	struct nf_hook_ops hook_ops[VEIL_DNS_HOOKS];
};

static unsigned int veil_dns_net_id __read_mostly;

static struct veil_dns_net *veil_dns_net(const struct net *net)
{
	return net_generic(net, veil_dns_net_id);
}

#define VEIL_MSG(m)	KBUILD_MODNAME ": " m

/* Like NL_SET_ERR_MSG_ATTR, for a message chosen at run time (a literal). */
static void veil_extack(struct netlink_ext_ack *extack, const struct nlattr *attr,
			const char *msg)
{
	if (extack) {
		extack->_msg = msg;
		extack->bad_attr = attr;
	}
}

static u32 veil_name_hash(const char *name, size_t len)
{
	return jhash(name, len, 0);
}

/*
 * Check a name given by an administrator and lowercase it into @out
 * (VEIL_DNS_TEXT_NAME_MAX + 1 bytes). Returns its label count, or a negative
 * errno with @why set.
 */
static int veil_dns_name_norm(const char *s, char *out, const char **why)
{
	size_t i, n = strlen(s), label = 0;
	int labels = 1;

	if (n && s[n - 1] == '.')
		n--;		/* "corp.example." is "corp.example" */
	if (!n) {
		*why = VEIL_MSG("the name is empty (the root cannot be a secure zone)");
		return -EINVAL;
	}
	if (n > VEIL_DNS_TEXT_NAME_MAX) {
		*why = VEIL_MSG("the name is longer than 253 characters");
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (!label) {
				*why = VEIL_MSG("empty label (two dots in a row, or a leading dot)");
				return -EINVAL;
			}
			label = 0;
			labels++;
			out[i] = '.';
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_') {
			*why = VEIL_MSG("labels may hold only letters, digits, '-' and '_'");
			return -EINVAL;
		}
		if (++label > 63) {
			*why = VEIL_MSG("a label is longer than 63 characters");
			return -EINVAL;
		}
		out[i] = tolower(c);
	}
	out[n] = '\0';
	return labels;
}

/*
 * A name veil_dns_name_norm() accepted, or one the hook wrote as text, in
 * wire form: @n <= VEIL_DNS_TEXT_NAME_MAX bytes fill at most 255.
 */
static void veil_dns_text_wire(const char *s, size_t n, struct veil_dns_name *w)
{
	size_t i, start = 0, pos = 0;

	w->labels = 0;
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		w->off[w->labels++] = pos;
		w->wire[pos++] = i - start;
		memcpy(w->wire + pos, s + start, i - start);
		pos += i - start;
		start = i + 1;
	}
	w->wire[pos++] = 0;
	w->len = pos;
}

/*
 * Eight bytes of a name with A-Z folded to a-z (RFC 4343), all at once:
 * a byte gets 0x20 when it is at least 'A' and not above 'Z'. No byte
 * carries into the next: each sum stays below 0x100.
 */
static u64 veil_fold8(u64 w)
{
	const u64 ones = 0x0101010101010101ULL;
	u64 low = w & (0x7f * ones);
	u64 ge_a = low + (0x80 - 'A') * ones;
	u64 gt_z = low + (0x80 - 'Z' - 1) * ones;

	return w | (((ge_a ^ gt_z) & ~w & (0x80 * ones)) >> 2);
}

/*
 * Hash of a wire-form name with its letters folded, so a name read from a
 * packet in any letter case hashes as its zone does; a word at a time,
 * since every query leaving a namespace with zones pays for it.
 */
static __always_inline u32 veil_wire_hash(const u8 *wire, unsigned int len)
{
	u64 h = len, w;

	for (; len >= 8; wire += 8, len -= 8) {
		memcpy(&w, wire, 8);
		h = (h ^ veil_fold8(w)) * 0x9e3779b97f4a7c15ULL;
	}
	if (len) {
		/* The tail byte by byte: a memcpy() of a variable length is a call. */
		for (w = 0; len; len--)
			w = w << 8 | wire[len - 1];
		h = (h ^ veil_fold8(w)) * 0x9e3779b97f4a7c15ULL;
	}
	return h ^ (h >> 32);
}

/* The zone whose apex is @wire (@len bytes, @labels labels, any case). */
static __always_inline struct veil_zone *veil_zone_find(const struct veil_dns_net *dn,
							const u8 *wire, unsigned int len,
							unsigned int labels)
{
	struct veil_zone *z;
	unsigned int i;

	hash_for_each_possible_rcu(dn->zones, z, node, veil_wire_hash(wire, len)) {
		if (z->wire.len != len || z->wire.labels != labels)
			continue;
		for (i = 0; i < len && z->wire.wire[i] == veil_dns_fold(wire[i]); i++)
			;
		if (i == len)
			return z;
	}
	return NULL;
}

/*
 * The zone a wire-form name is in, the longest match, or NULL: @wire holds
 * @len bytes (root included) of a name already checked to be well formed
 * (@labels labels, each inside @len), in any letter case. Nothing is
 * copied: the name may be the question of a packet, read in place. Caller
 * holds RCU or dn->lock. Inline: the query hook makes no call for it.
 */
static __always_inline struct veil_zone *veil_dns_net_zone(const struct veil_dns_net *dn,
							   const u8 *wire, unsigned int labels,
							   unsigned int len)
{
	unsigned int i, pos;
	struct veil_zone *z;

	if (!READ_ONCE(dn->nzones))
		return NULL;
	/* Each suffix that starts at a label and has a zone's depth, longest first. */
	for (i = 0, pos = 0; i < labels; i++, pos += 1 + wire[pos]) {
		if (labels - i > VEIL_DNS_MAX_LABELS || !test_bit(labels - i, dn->zone_labels))
			continue;
		z = veil_zone_find(dn, wire + pos, len - pos, labels - i);
		if (z)
			return z;
	}
	return NULL;
}

bool veil_dns_question_in_zone(const struct veil_dns_net *dn, const u8 *pkt, size_t len)
{
	unsigned int labels, name_len;

	return veil_dns_question_name(pkt, len, &labels, &name_len) == VEIL_DNS_OK &&
	       veil_dns_net_zone(dn, pkt + VEIL_DNS_HDR_LEN, labels, name_len);
}

/* Under RCU: the zone @name is in, its apex copied to @zone. */
bool veil_dns_find_zone(struct net *net, const struct veil_dns_name *name,
			struct veil_dns_name *zone)
{
	struct veil_zone *z = veil_dns_net_zone(veil_dns_net(net), name->wire, name->labels,
						name->len);

	if (!z)
		return false;
	zone->len = z->wire.len;
	zone->labels = z->wire.labels;
	memcpy(zone->off, z->wire.off, z->wire.labels);
	memcpy(zone->wire, z->wire.wire, z->wire.len);
	return true;
}

static struct veil_dns_entry *veil_cache_find(struct veil_dns_net *dn, const char *name,
					      size_t len)
{
	struct veil_dns_entry *e;

	hash_for_each_possible_rcu(dn->cache, e, node, veil_name_hash(name, len)) {
		if (e->len == len && !memcmp(e->name, name, len))
			return e;
	}
	return NULL;
}

/* Seconds an entry has left, 0 once expired. */
static u32 veil_cache_left(const struct veil_dns_entry *e)
{
	long left = (long)(e->expires - jiffies);

	return left > 0 ? DIV_ROUND_UP(left, HZ) : 0;
}

bool veil_dns_cache_get(struct net *net, const char *name, size_t len,
			struct veil_dns_cached *ans)
{
	struct veil_dns_entry *e = veil_cache_find(veil_dns_net(net), name, len);
	u32 left;

	if (!e)
		return false;
	left = veil_cache_left(e);
	if (!left)
		return false;
	*ans = e->ans;
	ans->ttl = left;
	return true;
}

static void veil_cache_unlink(struct veil_dns_net *dn, struct veil_dns_entry *e)
{
	hash_del_rcu(&e->node);
	list_del(&e->age);
	dn->ncache--;
	kfree_rcu(e, rcu);
}

/* Drop expired answers; with @need, also the oldest until one slot is free. */
static void veil_cache_prune(struct veil_dns_net *dn, bool need)
{
	struct veil_dns_entry *e, *tmp;
	unsigned int max = READ_ONCE(dns_cache_size);

	lockdep_assert_held(&dn->lock);
	list_for_each_entry_safe(e, tmp, &dn->age, age) {
		if (!veil_cache_left(e))
			veil_cache_unlink(dn, e);
	}
	while (need && dn->ncache && dn->ncache >= max) {
		e = list_first_entry(&dn->age, struct veil_dns_entry, age);
		veil_cache_unlink(dn, e);
	}
}

/* Forget every answer at or below @zone (all of them when NULL). */
static void veil_cache_flush(struct veil_dns_net *dn, const char *zone, size_t zlen)
{
	struct veil_dns_entry *e, *tmp;

	lockdep_assert_held(&dn->lock);
	list_for_each_entry_safe(e, tmp, &dn->age, age) {
		if (zone && !(e->len == zlen && !memcmp(e->name, zone, zlen)) &&
		    !(e->len > zlen && e->name[e->len - zlen - 1] == '.' &&
		      !memcmp(e->name + e->len - zlen, zone, zlen)))
			continue;
		veil_cache_unlink(dn, e);
	}
}

static void veil_dns_gc(struct work_struct *work)
{
	struct veil_dns_net *dn = container_of(to_delayed_work(work), struct veil_dns_net, gc);

	mutex_lock(&dn->lock);
	veil_cache_prune(dn, false);
	mutex_unlock(&dn->lock);
	schedule_delayed_work(&dn->gc, VEIL_DNS_GC_INTERVAL);
}

static __net_init int veil_dns_net_init(struct net *net)
{
	struct veil_dns_net *dn = veil_dns_net(net);

	mutex_init(&dn->lock);
	hash_init(dn->zones);
	hash_init(dn->cache);
	INIT_LIST_HEAD(&dn->age);
	INIT_DELAYED_WORK(&dn->gc, veil_dns_gc);
	dn->net = net;
	schedule_delayed_work(&dn->gc, VEIL_DNS_GC_INTERVAL);
	return 0;
}

static __net_exit void veil_dns_net_exit(struct net *net)
{
	struct veil_dns_net *dn = veil_dns_net(net);
	struct hlist_node *tmp;
	struct veil_zone *z;
	int bkt;

	cancel_delayed_work_sync(&dn->gc);
	mutex_lock(&dn->lock);
	if (dn->hooked)
		veil_dns_hooks_unregister(net, dn->hook_ops);
	dn->hooked = false;
	veil_cache_flush(dn, NULL, 0);
	hash_for_each_safe(dn->zones, bkt, tmp, z, node) {
		hash_del_rcu(&z->node);
		kfree_rcu(z, rcu);
	}
	dn->nzones = 0;
	mutex_unlock(&dn->lock);
}

static struct pernet_operations veil_dns_net_ops = {
	.init	= veil_dns_net_init,
	.exit	= veil_dns_net_exit,
	.id	= &veil_dns_net_id,
	.size	= sizeof(struct veil_dns_net),
};

int __init veil_dns_init(void)
{
	return register_pernet_subsys(&veil_dns_net_ops);
}

void veil_dns_uninit(void)
{
	unregister_pernet_subsys(&veil_dns_net_ops);
	rcu_barrier();	/* kfree_rcu of zones and answers */
}

/* ---- netlink ---- */

/* The normalized name in attribute @type; extack names what is wrong. */
int veil_nl_dns_name(struct genl_info *info, int type, char *out)
{
	const char *why;
	int labels;

	if (!info->attrs[type]) {
		veil_extack(info->extack, NULL, type == VEIL_A_DNS_ZONE ?
			    VEIL_MSG("missing the zone (VEIL_A_DNS_ZONE)") :
			    VEIL_MSG("missing the name (VEIL_A_DNS_NAME)"));
		return -EINVAL;
	}
	labels = veil_dns_name_norm(nla_data(info->attrs[type]), out, &why);
	if (labels < 0) {
		veil_extack(info->extack, info->attrs[type], why);
		return labels;
	}
	if (labels > VEIL_DNS_MAX_LABELS) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[type], "the name has too many labels");
		return -EINVAL;
	}
	return labels;
}

static void veil_zone_update_labels(struct veil_dns_net *dn)
{
	DECLARE_BITMAP(labels, VEIL_DNS_MAX_LABELS + 1);
	struct veil_zone *z;
	int bkt;

	bitmap_zero(labels, VEIL_DNS_MAX_LABELS + 1);
	hash_for_each(dn->zones, bkt, z, node)
		__set_bit(z->wire.labels, labels);
	/* A stale bit costs one lookup; a missing one is set before use. */
	bitmap_copy(dn->zone_labels, labels, VEIL_DNS_MAX_LABELS + 1);
}

int veil_nl_zone_add_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct veil_dns_net *dn = veil_dns_net(genl_info_net(info));
	char name[VEIL_DNS_TEXT_NAME_MAX + 1];
	struct veil_zone *z;
	int labels, err = 0;
	size_t len;

	labels = veil_nl_dns_name(info, VEIL_A_DNS_ZONE, name);
	if (labels < 0)
		return labels;
	len = strlen(name);
	z = kzalloc(struct_size(z, name, len + 1), GFP_KERNEL);
	if (!z)
		return -ENOMEM;
	veil_dns_text_wire(name, len, &z->wire);
	z->len = len;
	memcpy(z->name, name, len + 1);
	mutex_lock(&dn->lock);
	if (veil_zone_find(dn, z->wire.wire, z->wire.len, z->wire.labels)) {
		NL_SET_ERR_MSG_MOD(info->extack, "this zone exists already");
		err = -EEXIST;
		goto out;
	}
	if (dn->nzones >= VEIL_DNS_MAX_ZONES) {
		NL_SET_ERR_MSG_MOD(info->extack, "too many zones in this namespace (16384)");
		err = -ENOSPC;
		goto out;
	}
	if (!dn->hooked) {
		err = veil_dns_hooks_register(dn->net, dn->hook_ops, dn);
		if (err) {
			NL_SET_ERR_MSG_MOD(info->extack, "cannot register the DNS hooks");
			goto out;
		}
		dn->hooked = true;
	}
	__set_bit(labels, dn->zone_labels);
	hash_add_rcu(dn->zones, &z->node, veil_wire_hash(z->wire.wire, z->wire.len));
	WRITE_ONCE(dn->nzones, dn->nzones + 1);
	z = NULL;
out:
	mutex_unlock(&dn->lock);
	kfree(z);
	return err;
}

int veil_nl_zone_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct veil_dns_net *dn = veil_dns_net(genl_info_net(info));
	char name[VEIL_DNS_TEXT_NAME_MAX + 1];
	struct veil_dns_name wire;
	struct veil_zone *z;
	int labels, err = 0;
	size_t len;

	labels = veil_nl_dns_name(info, VEIL_A_DNS_ZONE, name);
	if (labels < 0)
		return labels;
	len = strlen(name);
	mutex_lock(&dn->lock);
	veil_dns_text_wire(name, len, &wire);
	z = veil_zone_find(dn, wire.wire, wire.len, wire.labels);
	if (!z) {
		NL_SET_ERR_MSG_MOD(info->extack, "no such zone");
		err = -ENOENT;
		goto out;
	}
	hash_del_rcu(&z->node);
	WRITE_ONCE(dn->nzones, dn->nzones - 1);
	veil_zone_update_labels(dn);
	/* Answers no other zone covers would never be used again. */
	veil_cache_flush(dn, name, len);
	kfree_rcu(z, rcu);
	if (!dn->nzones && dn->hooked) {
		/* No zone, no cost: every query goes by untouched again. */
		veil_dns_hooks_unregister(dn->net, dn->hook_ops);
		dn->hooked = false;
	}
out:
	mutex_unlock(&dn->lock);
	return err;
}

int veil_nl_zone_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct veil_dns_net *dn = veil_dns_net(sock_net(skb->sk));
	long idx = 0, start = cb->args[0];
	struct veil_zone *z;
	int bkt, err = 0;
	void *hdr;

	rcu_read_lock();
	hash_for_each_rcu(dn->zones, bkt, z, node) {
		if (idx++ < start)
			continue;
		hdr = veil_nl_msg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
				      NLM_F_MULTI, VEIL_CMD_ZONE_GET);
		if (!hdr || nla_put_string(skb, VEIL_A_DNS_ZONE, z->name)) {
			if (hdr)
				genlmsg_cancel(skb, hdr);
			err = -EMSGSIZE;
			idx--;
			break;
		}
		genlmsg_end(skb, hdr);
	}
	rcu_read_unlock();
	cb->args[0] = idx;
	if (err && skb->len)
		return skb->len;
	return err ?: skb->len;
}

/*
 * The answer a request carries: VEIL_A_DNS_TTL and VEIL_A_DNS_ADDRS or
 * VEIL_A_DNS_NXDOMAIN. Used by CACHE_ADD and by verdicts.
 */
int veil_nl_dns_parse_answer(struct genl_info *info, struct veil_dns_cached *ans, u32 *ttl)
{
	struct nlattr *a, *addrs = info->attrs[VEIL_A_DNS_ADDRS];
	bool neg = nla_get_flag(info->attrs[VEIL_A_DNS_NXDOMAIN]);
	int rem;

	memset(ans, 0, sizeof(*ans));
	if (!info->attrs[VEIL_A_DNS_TTL]) {
		NL_SET_ERR_MSG_MOD(info->extack, "missing the TTL (VEIL_A_DNS_TTL)");
		return -EINVAL;
	}
	*ttl = nla_get_u32(info->attrs[VEIL_A_DNS_TTL]);
	if (!*ttl || *ttl > VEIL_DNS_MAX_TTL) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[VEIL_A_DNS_TTL],
				    "the TTL must be 1 to 86400 seconds");
		return -ERANGE;
	}
	if (!!addrs == neg) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "give either addresses or NXDOMAIN for the name, not both or neither");
		return -EINVAL;
	}
	ans->negative = neg;
	if (!addrs)
		return 0;
	nla_for_each_nested(a, addrs, rem) {
		if (nla_len(a) == 4 && ans->n4 < VEIL_DNS_MAX_ADDRS) {
			ans->a4[ans->n4++] = nla_get_in_addr(a);
		} else if (nla_len(a) == 16 && ans->n6 < VEIL_DNS_MAX_ADDRS) {
			ans->a6[ans->n6++] = nla_get_in6_addr(a);
		} else {
			veil_extack(info->extack, a, nla_len(a) == 4 || nla_len(a) == 16 ?
				    VEIL_MSG("too many addresses of one family (at most 8)") :
				    VEIL_MSG("an address is 4 (IPv4) or 16 (IPv6) bytes"));
			return -EINVAL;
		}
	}
	if (!ans->n4 && !ans->n6) {
		NL_SET_ERR_MSG_ATTR(info->extack, addrs, "the address list is empty");
		return -EINVAL;
	}
	return 0;
}

/* Cache @ans for @name (lowercase, inside a zone) for @ttl seconds. */
int veil_dns_cache_put(struct net *net, const char *name, size_t len,
		       const struct veil_dns_cached *ans, u32 ttl, struct netlink_ext_ack *extack)
{
	struct veil_dns_net *dn = veil_dns_net(net);
	struct veil_dns_entry *e, *old;
	struct veil_dns_name wire;

	veil_dns_text_wire(name, len, &wire);
	e = kzalloc(struct_size(e, name, len + 1), GFP_KERNEL);
	if (!e)
		return -ENOMEM;
	e->ans = *ans;
	e->ttl = ttl;
	e->len = len;
	memcpy(e->name, name, len);
	mutex_lock(&dn->lock);
	if (!veil_dns_net_zone(dn, wire.wire, wire.labels, wire.len)) {
		mutex_unlock(&dn->lock);
		kfree(e);
		NL_SET_ERR_MSG_MOD(extack,
				   "the name is not inside any secure zone: add the zone first");
		return -ENOENT;
	}
	old = veil_cache_find(dn, name, len);
	if (old)
		veil_cache_unlink(dn, old);
	veil_cache_prune(dn, true);
	e->expires = jiffies + ttl * HZ;
	list_add_tail(&e->age, &dn->age);
	hash_add_rcu(dn->cache, &e->node, veil_name_hash(name, len));
	dn->ncache++;
	mutex_unlock(&dn->lock);
	return 0;
}

int veil_nl_cache_add_doit(struct sk_buff *skb, struct genl_info *info)
{
	char name[VEIL_DNS_TEXT_NAME_MAX + 1];
	struct veil_dns_cached ans;
	int labels, err;
	u32 ttl;

	labels = veil_nl_dns_name(info, VEIL_A_DNS_NAME, name);
	if (labels < 0)
		return labels;
	err = veil_nl_dns_parse_answer(info, &ans, &ttl);
	if (err)
		return err;
	return veil_dns_cache_put(genl_info_net(info), name, strlen(name), &ans, ttl,
				  info->extack);
}

int veil_nl_cache_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct veil_dns_net *dn = veil_dns_net(genl_info_net(info));
	char name[VEIL_DNS_TEXT_NAME_MAX + 1];
	struct veil_dns_entry *e;
	int labels, err = 0;

	if (!info->attrs[VEIL_A_DNS_NAME]) {
		mutex_lock(&dn->lock);
		veil_cache_flush(dn, NULL, 0);
		mutex_unlock(&dn->lock);
		return 0;
	}
	labels = veil_nl_dns_name(info, VEIL_A_DNS_NAME, name);
	if (labels < 0)
		return labels;
	mutex_lock(&dn->lock);
	e = veil_cache_find(dn, name, strlen(name));
	if (e) {
		veil_cache_unlink(dn, e);
	} else {
		NL_SET_ERR_MSG_MOD(info->extack, "nothing is cached for this name");
		err = -ENOENT;
	}
	mutex_unlock(&dn->lock);
	return err;
}

static int veil_nl_put_entry(struct sk_buff *skb, const struct veil_dns_entry *e, u32 left,
			     u32 portid, u32 seq, int flags)
{
	struct nlattr *nest;
	void *hdr;
	int i;

	hdr = veil_nl_msg_put(skb, portid, seq, flags, VEIL_CMD_CACHE_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_string(skb, VEIL_A_DNS_NAME, e->name) ||
	    nla_put_u32(skb, VEIL_A_DNS_TTL, e->ttl) ||
	    nla_put_u32(skb, VEIL_A_DNS_EXPIRES, left))
		goto err;
	if (e->ans.negative) {
		if (nla_put_flag(skb, VEIL_A_DNS_NXDOMAIN))
			goto err;
	} else {
		nest = nla_nest_start(skb, VEIL_A_DNS_ADDRS);
		if (!nest)
			goto err;
		for (i = 0; i < e->ans.n4; i++)
			if (nla_put_in_addr(skb, 1, e->ans.a4[i]))
				goto err;
		for (i = 0; i < e->ans.n6; i++)
			if (nla_put_in6_addr(skb, 1, &e->ans.a6[i]))
				goto err;
		nla_nest_end(skb, nest);
	}
	genlmsg_end(skb, hdr);
	return 0;
err:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

int veil_nl_cache_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct veil_dns_net *dn = veil_dns_net(genl_info_net(info));
	char name[VEIL_DNS_TEXT_NAME_MAX + 1];
	struct veil_dns_entry *e;
	struct sk_buff *msg;
	int labels, err;
	u32 left = 0;

	labels = veil_nl_dns_name(info, VEIL_A_DNS_NAME, name);
	if (labels < 0)
		return labels;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	mutex_lock(&dn->lock);
	e = veil_cache_find(dn, name, strlen(name));
	if (e)
		left = veil_cache_left(e);
	if (!left) {
		NL_SET_ERR_MSG_MOD(info->extack, "nothing is cached for this name");
		err = -ENOENT;
	} else {
		err = veil_nl_put_entry(msg, e, left, info->snd_portid, info->snd_seq, 0);
	}
	mutex_unlock(&dn->lock);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

int veil_nl_cache_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct veil_dns_net *dn = veil_dns_net(sock_net(skb->sk));
	long idx = 0, start = cb->args[0];
	struct veil_dns_entry *e;
	int bkt, err = 0;
	u32 left;

	rcu_read_lock();
	hash_for_each_rcu(dn->cache, bkt, e, node) {
		left = veil_cache_left(e);
		if (!left)
			continue;
		if (idx++ < start)
			continue;
		err = veil_nl_put_entry(skb, e, left, NETLINK_CB(cb->skb).portid,
					cb->nlh->nlmsg_seq, NLM_F_MULTI);
		if (err) {
			idx--;
			break;
		}
	}
	rcu_read_unlock();
	cb->args[0] = idx;
	if (err && skb->len)
		return skb->len;
	return err ?: skb->len;
}
