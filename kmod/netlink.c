// SPDX-License-Identifier: GPL-2.0
/*
 * The "veil" generic netlink family. The UAPI header documents every
 * command and attribute; this file validates requests and fills replies.
 */
#include <linux/netdevice.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <net/sock.h>
#include <uapi/linux/veil.h>

#include "compat.h"
#include "device.h"
#include "netlink.h"

static struct genl_family veil_genl_family;

static const struct nla_policy veil_dev_policy[VEIL_A_DEV_MAX + 1] = {
	[VEIL_A_DEV_IFINDEX]	= NLA_POLICY_MIN(NLA_U32, 1),
	[VEIL_A_DEV_IFNAME]	= { .type = NLA_NUL_STRING, .len = IFNAMSIZ - 1 },
};

/*
 * Resolve the device a request names, in the requester's namespace, and
 * hold it. Returns the device or an ERR_PTR with extack set.
 */
static struct net_device *veil_nl_get_dev(struct net *net, struct nlattr **attrs,
					  struct netlink_ext_ack *extack)
{
	struct net_device *dev = NULL, *named;

	if (!attrs[VEIL_A_DEV_IFINDEX] && !attrs[VEIL_A_DEV_IFNAME]) {
		NL_SET_ERR_MSG_MOD(extack,
				   "no device given: name one by interface index or name");
		return ERR_PTR(-EINVAL);
	}

	if (attrs[VEIL_A_DEV_IFINDEX]) {
		dev = dev_get_by_index(net, nla_get_u32(attrs[VEIL_A_DEV_IFINDEX]));
		if (!dev) {
			NL_SET_ERR_MSG_ATTR(extack, attrs[VEIL_A_DEV_IFINDEX],
					    "no device with this interface index in this namespace");
			return ERR_PTR(-ENODEV);
		}
	}

	if (attrs[VEIL_A_DEV_IFNAME]) {
		named = dev_get_by_name(net, nla_data(attrs[VEIL_A_DEV_IFNAME]));
		if (!named) {
			NL_SET_ERR_MSG_ATTR(extack, attrs[VEIL_A_DEV_IFNAME],
					    "no device with this name in this namespace");
			dev_put(dev);
			return ERR_PTR(-ENODEV);
		}
		if (dev && dev != named) {
			NL_SET_ERR_MSG_ATTR(extack, attrs[VEIL_A_DEV_IFNAME],
					    "interface index and name refer to different devices");
			dev_put(named);
			dev_put(dev);
			return ERR_PTR(-EINVAL);
		}
		dev_put(dev);
		dev = named;
	}

	if (!veil_dev_is_veil(dev)) {
		NL_SET_ERR_MSG_MOD(extack, "device is not a veil device");
		dev_put(dev);
		return ERR_PTR(-EOPNOTSUPP);
	}
	return dev;
}

static int veil_nl_put_stats(struct sk_buff *skb, struct net_device *dev)
{
	struct rtnl_link_stats64 st;
	struct nlattr *nest;

	dev_get_stats(dev, &st);
	nest = nla_nest_start(skb, VEIL_A_DEV_STATS);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, VEIL_A_STATS_RX_PACKETS, st.rx_packets, VEIL_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VEIL_A_STATS_RX_BYTES, st.rx_bytes, VEIL_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VEIL_A_STATS_RX_ERRORS, st.rx_errors, VEIL_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VEIL_A_STATS_RX_DROPPED, st.rx_dropped, VEIL_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VEIL_A_STATS_TX_PACKETS, st.tx_packets, VEIL_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VEIL_A_STATS_TX_BYTES, st.tx_bytes, VEIL_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VEIL_A_STATS_TX_ERRORS, st.tx_errors, VEIL_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VEIL_A_STATS_TX_DROPPED, st.tx_dropped, VEIL_A_STATS_PAD)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int veil_nl_fill_dev(struct sk_buff *skb, struct net_device *dev, u32 portid,
			    u32 seq, int flags, struct netlink_callback *cb)
{
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &veil_genl_family, flags, VEIL_CMD_DEV_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (cb)
		genl_dump_check_consistent(cb, hdr);

	if (nla_put_u32(skb, VEIL_A_DEV_IFINDEX, dev->ifindex) ||
	    nla_put_string(skb, VEIL_A_DEV_IFNAME, dev->name) ||
	    nla_put_u32(skb, VEIL_A_DEV_MTU, READ_ONCE(dev->mtu)) ||
	    veil_nl_put_stats(skb, dev)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int veil_nl_dev_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net_device *dev;
	struct sk_buff *msg;
	int err;

	dev = veil_nl_get_dev(genl_info_net(info), info->attrs, info->extack);
	if (IS_ERR(dev))
		return PTR_ERR(dev);

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg) {
		err = -ENOMEM;
		goto out;
	}
	err = veil_nl_fill_dev(msg, dev, info->snd_portid, info->snd_seq, 0, NULL);
	if (err) {
		nlmsg_free(msg);
		goto out;
	}
	err = genlmsg_reply(msg, info);
out:
	dev_put(dev);
	return err;
}

static int veil_nl_dev_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct net *net = sock_net(skb->sk);
	struct net_device *dev;
	int err = 0;

#ifdef VEIL_HAVE_NETDEV_DUMP
	/* cb->args[0]: the ifindex to resume from. */
	unsigned long ifindex = cb->args[0];

	rcu_read_lock();
	for_each_netdev_dump(net, dev, ifindex) {
		if (!veil_dev_is_veil(dev))
			continue;
		err = veil_nl_fill_dev(skb, dev, NETLINK_CB(cb->skb).portid,
				       cb->nlh->nlmsg_seq, NLM_F_MULTI, cb);
		if (err)
			break;
	}
	rcu_read_unlock();
	cb->args[0] = ifindex;
#else
	/* cb->args[0]: how many veil devices were sent already. */
	long idx = 0, start = cb->args[0];

	rcu_read_lock();
	cb->seq = net->dev_base_seq;
	for_each_netdev_rcu(net, dev) {
		if (!veil_dev_is_veil(dev))
			continue;
		if (idx >= start) {
			err = veil_nl_fill_dev(skb, dev, NETLINK_CB(cb->skb).portid,
					       cb->nlh->nlmsg_seq, NLM_F_MULTI, cb);
			if (err)
				break;
		}
		idx++;
	}
	rcu_read_unlock();
	cb->args[0] = idx;
#endif
	/* A full skb ends this round; the dump resumes at the cursor. */
	if (err == -EMSGSIZE && skb->len)
		return skb->len;
	return err ?: skb->len;
}

static const struct genl_small_ops veil_genl_ops[] = {
	{
		.cmd	= VEIL_CMD_DEV_GET,
		.doit	= veil_nl_dev_get_doit,
		.dumpit	= veil_nl_dev_get_dumpit,
		.flags	= GENL_ADMIN_PERM,
	},
};

static struct genl_family veil_genl_family __ro_after_init = {
	.name		= VEIL_GENL_NAME,
	.version	= VEIL_GENL_VERSION,
	.maxattr	= VEIL_A_DEV_MAX,
	.policy		= veil_dev_policy,
	.netnsok	= true,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.small_ops	= veil_genl_ops,
	.n_small_ops	= ARRAY_SIZE(veil_genl_ops),
};

int __init veil_genl_init(void)
{
	return genl_register_family(&veil_genl_family);
}

void veil_genl_uninit(void)
{
	genl_unregister_family(&veil_genl_family);
}
