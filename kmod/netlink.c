// SPDX-License-Identifier: GPL-2.0
/*
 * The "veil" generic netlink family. The UAPI header documents every
 * command and attribute; this file validates requests and fills replies.
 */
#include <linux/net.h>
#include <linux/netdevice.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <net/sock.h>
#include <uapi/linux/veil.h>

#include "compat.h"
#include "device.h"
#include "netlink.h"
#include "dns.h"
#include "peer.h"
#include "socket.h"

static struct genl_family veil_genl_family;

static const struct nla_policy veil_prefix_policy[VEIL_A_PREFIX_MAX + 1] = {
	[VEIL_A_PREFIX_FAMILY]	= { .type = NLA_U16 },
	[VEIL_A_PREFIX_ADDR]	= NLA_POLICY_MIN_LEN(4),
	[VEIL_A_PREFIX_LEN]	= NLA_POLICY_MAX(NLA_U8, 128),
};

static const struct nla_policy veil_port_policy[VEIL_A_PORT_MAX_ATTR + 1] = {
	[VEIL_A_PORT_PROTO]	= { .type = NLA_U8 },
	[VEIL_A_PORT_MIN]	= { .type = NLA_U16 },
	[VEIL_A_PORT_MAX]	= { .type = NLA_U16 },
};

static const struct nla_policy veil_xlat_policy[VEIL_A_XLAT_MAX + 1] = {
	[VEIL_A_XLAT_SRC]	= NLA_POLICY_MIN_LEN(4),
	[VEIL_A_XLAT_SRC_TO]	= NLA_POLICY_MIN_LEN(4),
	[VEIL_A_XLAT_DST]	= NLA_POLICY_MIN_LEN(4),
	[VEIL_A_XLAT_DST_TO]	= NLA_POLICY_MIN_LEN(4),
};

static const struct nla_policy veil_peer_policy[VEIL_A_PEER_MAX + 1] = {
	[VEIL_A_PEER_ID]	= NLA_POLICY_MIN(NLA_U32, 1),
	[VEIL_A_PEER_REMOTE_ID]	= NLA_POLICY_MIN(NLA_U32, 1),
	[VEIL_A_PEER_ENDPOINT]	= NLA_POLICY_MIN_LEN(sizeof(struct sockaddr_in)),
	[VEIL_A_PEER_TX_KEY]	= NLA_POLICY_EXACT_LEN(VEIL_KEY_LEN),
	[VEIL_A_PEER_RX_KEY]	= NLA_POLICY_EXACT_LEN(VEIL_KEY_LEN),
	[VEIL_A_PEER_ALLOWED]	= NLA_POLICY_NESTED_ARRAY(veil_prefix_policy),
	[VEIL_A_PEER_PORTS]	= NLA_POLICY_NESTED_ARRAY(veil_port_policy),
	[VEIL_A_PEER_KEEPALIVE]	= { .type = NLA_U16 },
	[VEIL_A_PEER_ROLE]	= NLA_POLICY_MAX(NLA_U8, VEIL_ROLE_SERVER),
	[VEIL_A_PEER_NEXT_TX_KEY] = NLA_POLICY_EXACT_LEN(VEIL_KEY_LEN),
	[VEIL_A_PEER_NEXT_RX_KEY] = NLA_POLICY_EXACT_LEN(VEIL_KEY_LEN),
	[VEIL_A_PEER_XLAT]	= NLA_POLICY_NESTED(veil_xlat_policy),
};

static const struct nla_policy veil_dev_policy[VEIL_A_DEV_MAX + 1] = {
	[VEIL_A_DEV_IFINDEX]	= NLA_POLICY_MIN(NLA_U32, 1),
	[VEIL_A_DEV_IFNAME]	= { .type = NLA_NUL_STRING, .len = IFNAMSIZ - 1 },
	[VEIL_A_DEV_LISTEN_PORT] = { .type = NLA_U16 },
	[VEIL_A_DEV_SOCK_FD]	= { .type = NLA_U32 },
	[VEIL_A_DEV_PEER]	= NLA_POLICY_NESTED(veil_peer_policy),
	/* Reply only, refused in requests: MTU, STATS, PEER_COUNT, SOCK_ADOPTED. */
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
	struct veil_device *vd = netdev_priv(dev);
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &veil_genl_family, flags, VEIL_CMD_DEV_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (cb)
		genl_dump_check_consistent(cb, hdr);

	if (nla_put_u32(skb, VEIL_A_DEV_IFINDEX, dev->ifindex) ||
	    nla_put_string(skb, VEIL_A_DEV_IFNAME, dev->name) ||
	    nla_put_u32(skb, VEIL_A_DEV_MTU, READ_ONCE(dev->mtu)) ||
	    nla_put_u16(skb, VEIL_A_DEV_LISTEN_PORT, READ_ONCE(vd->port)) ||
	    nla_put_u32(skb, VEIL_A_DEV_PEER_COUNT, READ_ONCE(vd->npeers)) ||
	    nla_put_u8(skb, VEIL_A_DEV_SOCK_ADOPTED, !!READ_ONCE(vd->adopted)) ||
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

static int veil_nl_dev_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *fd_attr = info->attrs[VEIL_A_DEV_SOCK_FD];
	struct socket *sock = NULL;
	struct veil_device *vd;
	struct net_device *dev;
	int err = 0;

	if (fd_attr && info->attrs[VEIL_A_DEV_LISTEN_PORT]) {
		NL_SET_ERR_MSG_ATTR(info->extack, fd_attr,
				    "give a listen port or a socket to adopt, not both");
		return -EINVAL;
	}
	dev = veil_nl_get_dev(genl_info_net(info), info->attrs, info->extack);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	if (fd_attr) {
		/* The descriptor is the caller's: look it up in its context. */
		sock = sockfd_lookup((int)nla_get_u32(fd_attr), &err);
		if (!sock) {
			if (err == -ENOTSOCK)
				NL_SET_ERR_MSG_ATTR(info->extack, fd_attr,
						    "file descriptor is not a socket");
			else
				NL_SET_ERR_MSG_ATTR(info->extack, fd_attr,
						    "no such open file descriptor");
			dev_put(dev);
			return err;
		}
	}
	vd = netdev_priv(dev);
	mutex_lock(&vd->lock);
	if (sock) {
		err = veil_socket_adopt(vd, sock, info->extack);
	} else if (info->attrs[VEIL_A_DEV_LISTEN_PORT]) {
		u16 port = nla_get_u16(info->attrs[VEIL_A_DEV_LISTEN_PORT]);

		if (port)
			err = veil_socket_open(vd, port, info->extack);
		else
			veil_socket_close(vd);
	}
	mutex_unlock(&vd->lock);
	/* The device holds the struct sock, never the file: the daemon owns it. */
	if (sock)
		sockfd_put(sock);
	dev_put(dev);
	return err;
}

/*
 * Everything a PEER_NEW or PEER_SET request asks for, parsed and checked
 * before anything changes: a refused request changes nothing.
 */
struct veil_peer_cfg {
	struct veil_keys *keys;
	struct veil_keys *next;
	struct veil_ports *ports;
	bool set_ports;
	union veil_sockaddr ep;
	bool set_ep;
	struct veil_xlat *xlat;
	bool set_xlat;
	struct nlattr *allowed;
};

static void veil_peer_cfg_free(struct veil_peer_cfg *c)
{
	kfree_sensitive(c->keys);
	kfree_sensitive(c->next);
	kfree(c->ports);
	kfree(c->xlat);
}

static int veil_nl_parse_prefix(const struct nlattr *nest, u16 *family, struct in6_addr *addr,
				u8 *cidr, struct netlink_ext_ack *extack)
{
	struct nlattr *tb[VEIL_A_PREFIX_MAX + 1];
	int err, alen;

	err = nla_parse_nested(tb, VEIL_A_PREFIX_MAX, nest, veil_prefix_policy, extack);
	if (err)
		return err;
	if (!tb[VEIL_A_PREFIX_FAMILY] || !tb[VEIL_A_PREFIX_ADDR] || !tb[VEIL_A_PREFIX_LEN]) {
		NL_SET_ERR_MSG_ATTR(extack, nest, "allowed prefix needs family, address and length");
		return -EINVAL;
	}
	*family = nla_get_u16(tb[VEIL_A_PREFIX_FAMILY]);
	*cidr = nla_get_u8(tb[VEIL_A_PREFIX_LEN]);
	alen = *family == AF_INET ? 4 : *family == AF_INET6 ? 16 : 0;
	if (!alen) {
		NL_SET_ERR_MSG_ATTR(extack, tb[VEIL_A_PREFIX_FAMILY],
				    "prefix family must be AF_INET or AF_INET6");
		return -EAFNOSUPPORT;
	}
	if (nla_len(tb[VEIL_A_PREFIX_ADDR]) != alen || *cidr > alen * 8) {
		NL_SET_ERR_MSG_ATTR(extack, nest, "prefix address or length does not fit its family");
		return -EINVAL;
	}
	memset(addr, 0, sizeof(*addr));
	nla_memcpy(addr, tb[VEIL_A_PREFIX_ADDR], alen);
	return 0;
}

/* One address pair of a translation: both or neither, of one family. */
static int veil_nl_parse_xlat_pair(const struct nlattr *from, const struct nlattr *to,
				   u16 *family, union veil_inaddr *a, union veil_inaddr *b,
				   struct netlink_ext_ack *extack)
{
	int len;

	if (!from && !to)
		return 0;
	if (!from || !to) {
		NL_SET_ERR_MSG_ATTR(extack, from ?: to,
				    "translation addresses come in pairs: give both");
		return -EINVAL;
	}
	len = nla_len(from);
	if ((len != 4 && len != 16) || nla_len(to) != len) {
		NL_SET_ERR_MSG_ATTR(extack, from,
				    "translation pair must be two IPv4 (4 bytes) or two IPv6 (16 bytes) addresses");
		return -EINVAL;
	}
	*family = len == 4 ? AF_INET : AF_INET6;
	nla_memcpy(a, from, len);
	nla_memcpy(b, to, len);
	return 0;
}

static int veil_nl_parse_xlat(const struct nlattr *nest, struct veil_peer_cfg *c,
			      struct netlink_ext_ack *extack)
{
	struct nlattr *tb[VEIL_A_XLAT_MAX + 1];
	struct veil_xlat *x;
	int err;

	err = nla_parse_nested(tb, VEIL_A_XLAT_MAX, nest, veil_xlat_policy, extack);
	if (err)
		return err;
	c->set_xlat = true;
	x = kzalloc(sizeof(*x), GFP_KERNEL);
	if (!x)
		return -ENOMEM;
	c->xlat = x;
	err = veil_nl_parse_xlat_pair(tb[VEIL_A_XLAT_SRC], tb[VEIL_A_XLAT_SRC_TO],
				      &x->src_family, &x->src, &x->src_to, extack);
	if (!err)
		err = veil_nl_parse_xlat_pair(tb[VEIL_A_XLAT_DST], tb[VEIL_A_XLAT_DST_TO],
					      &x->dst_family, &x->dst, &x->dst_to, extack);
	if (err)
		return err;
	if (!x->src_family && !x->dst_family) {
		/* An empty nest removes the translation. */
		kfree(x);
		c->xlat = NULL;
	}
	return 0;
}

static int veil_nl_parse_peer(struct veil_device *vd, struct veil_peer *self, struct nlattr **pa,
			      struct veil_peer_cfg *c, struct netlink_ext_ack *extack)
{
	struct nlattr *tb[VEIL_A_PORT_MAX_ATTR + 1], *a;
	struct veil_port_range *r;
	int rem, n, err;

	memset(c, 0, sizeof(*c));
	if (!!pa[VEIL_A_PEER_TX_KEY] != !!pa[VEIL_A_PEER_RX_KEY]) {
		NL_SET_ERR_MSG_MOD(extack, "keys come in pairs: give both tx and rx key");
		return -EINVAL;
	}
	if (pa[VEIL_A_PEER_TX_KEY]) {
		c->keys = kzalloc(sizeof(*c->keys), GFP_KERNEL);
		if (!c->keys)
			return -ENOMEM;
		nla_memcpy(c->keys->tx, pa[VEIL_A_PEER_TX_KEY], VEIL_KEY_LEN);
		nla_memcpy(c->keys->rx, pa[VEIL_A_PEER_RX_KEY], VEIL_KEY_LEN);
	}

	if (!!pa[VEIL_A_PEER_NEXT_TX_KEY] != !!pa[VEIL_A_PEER_NEXT_RX_KEY]) {
		NL_SET_ERR_MSG_MOD(extack, "next keys come in pairs: give both next tx and rx key");
		err = -EINVAL;
		goto err;
	}
	if (pa[VEIL_A_PEER_NEXT_TX_KEY] && (pa[VEIL_A_PEER_TX_KEY] || !self)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "next keys go to an existing tunnel, without new current keys");
		err = -EINVAL;
		goto err;
	}
	if (pa[VEIL_A_PEER_NEXT_TX_KEY]) {
		c->next = kzalloc(sizeof(*c->next), GFP_KERNEL);
		if (!c->next) {
			err = -ENOMEM;
			goto err;
		}
		nla_memcpy(c->next->tx, pa[VEIL_A_PEER_NEXT_TX_KEY], VEIL_KEY_LEN);
		nla_memcpy(c->next->rx, pa[VEIL_A_PEER_NEXT_RX_KEY], VEIL_KEY_LEN);
	}

	if (pa[VEIL_A_PEER_ENDPOINT]) {
		const struct nlattr *e = pa[VEIL_A_PEER_ENDPOINT];
		const struct sockaddr *sa = nla_data(e);

		if (sa->sa_family == AF_INET && nla_len(e) == sizeof(struct sockaddr_in)) {
			memcpy(&c->ep.sin, sa, sizeof(c->ep.sin));
		} else if (sa->sa_family == AF_INET6 && nla_len(e) == sizeof(struct sockaddr_in6)) {
			memcpy(&c->ep.sin6, sa, sizeof(c->ep.sin6));
		} else {
			NL_SET_ERR_MSG_ATTR(extack, e,
					    "endpoint must be a struct sockaddr_in or sockaddr_in6");
			err = -EINVAL;
			goto err;
		}
		if (!c->ep.sin.sin_port) {
			NL_SET_ERR_MSG_ATTR(extack, e, "endpoint port must not be 0");
			err = -EINVAL;
			goto err;
		}
		if (!veil_socket_carries(vd, sa->sa_family)) {
			NL_SET_ERR_MSG_ATTR(extack, e,
					    "the device's socket cannot send to this address family");
			err = -EAFNOSUPPORT;
			goto err;
		}
		c->set_ep = true;
	}

	if (pa[VEIL_A_PEER_PORTS]) {
		n = 0;
		nla_for_each_nested(a, pa[VEIL_A_PEER_PORTS], rem)
			n++;
		c->ports = kzalloc(struct_size(c->ports, r, n), GFP_KERNEL);
		if (!c->ports) {
			err = -ENOMEM;
			goto err;
		}
		c->set_ports = true;
		nla_for_each_nested(a, pa[VEIL_A_PEER_PORTS], rem) {
			err = nla_parse_nested(tb, VEIL_A_PORT_MAX_ATTR, a, veil_port_policy, extack);
			if (err)
				goto err;
			r = &c->ports->r[c->ports->n];
			if (!tb[VEIL_A_PORT_PROTO]) {
				NL_SET_ERR_MSG_ATTR(extack, a, "port entry needs a protocol");
				err = -EINVAL;
				goto err;
			}
			r->proto = nla_get_u8(tb[VEIL_A_PORT_PROTO]);
			r->min = tb[VEIL_A_PORT_MIN] ? nla_get_u16(tb[VEIL_A_PORT_MIN]) : 0;
			r->max = tb[VEIL_A_PORT_MAX] ? nla_get_u16(tb[VEIL_A_PORT_MAX]) : r->min;
			if (r->proto != IPPROTO_TCP && r->proto != IPPROTO_UDP &&
			    r->proto != IPPROTO_ICMP) {
				NL_SET_ERR_MSG_ATTR(extack, a, "port protocol must be TCP, UDP or ICMP");
				err = -EINVAL;
				goto err;
			}
			if (r->proto != IPPROTO_ICMP && (!r->min || r->min > r->max)) {
				NL_SET_ERR_MSG_ATTR(extack, a,
						    "port range must satisfy 1 <= min <= max");
				err = -EINVAL;
				goto err;
			}
			c->ports->n++;
		}
	}

	if (pa[VEIL_A_PEER_XLAT]) {
		err = veil_nl_parse_xlat(pa[VEIL_A_PEER_XLAT], c, extack);
		if (err)
			goto err;
	}

	if (pa[VEIL_A_PEER_ALLOWED]) {
		struct veil_peer *owner;
		struct in6_addr addr;
		u16 family;
		u8 cidr;

		/* A prefix may belong to one tunnel only. */
		nla_for_each_nested(a, pa[VEIL_A_PEER_ALLOWED], rem) {
			err = veil_nl_parse_prefix(a, &family, &addr, &cidr, extack);
			if (err)
				goto err;
			owner = veil_prefix_owner(vd, family, &addr, cidr);
			if (owner && owner != self) {
				NL_SET_ERR_MSG_ATTR(extack, a,
						    "prefix already belongs to another tunnel");
				err = -EEXIST;
				goto err;
			}
		}
		c->allowed = pa[VEIL_A_PEER_ALLOWED];
	}
	return 0;
err:
	veil_peer_cfg_free(c);
	return err;
}

/* Apply a parsed configuration; under vd->lock. */
static int veil_peer_apply(struct veil_peer *peer, struct nlattr **pa, struct veil_peer_cfg *c,
			   struct netlink_ext_ack *extack)
{
	struct in6_addr addr;
	struct nlattr *a;
	u16 family;
	int rem, err;
	u8 cidr;

	if (pa[VEIL_A_PEER_REMOTE_ID])
		peer->remote_id = nla_get_u32(pa[VEIL_A_PEER_REMOTE_ID]);
	if (pa[VEIL_A_PEER_ROLE])
		WRITE_ONCE(peer->role, nla_get_u8(pa[VEIL_A_PEER_ROLE]));
	if (c->set_ep)
		veil_peer_set_endpoint(peer, &c->ep);
	if (c->keys) {
		veil_peer_set_keys(peer, c->keys);
		c->keys = NULL;
	}
	if (c->next) {
		veil_peer_set_next_keys(peer, c->next);
		c->next = NULL;
	}
	if (c->set_ports) {
		veil_peer_set_ports(peer, c->ports->n ? c->ports : NULL);
		if (c->ports->n)
			c->ports = NULL;
	}
	if (c->set_xlat) {
		veil_peer_set_xlat(peer, c->xlat);
		c->xlat = NULL;
	}
	if (c->allowed) {
		veil_peer_clear_allowed(peer);
		nla_for_each_nested(a, c->allowed, rem) {
			veil_nl_parse_prefix(a, &family, &addr, &cidr, extack);
			err = veil_peer_add_allowed(peer, family, &addr, cidr);
			if (err && err != -EEXIST) {
				NL_SET_ERR_MSG_MOD(extack, "out of memory adding allowed prefixes");
				return err;
			}
		}
	}
	if (pa[VEIL_A_PEER_KEEPALIVE])
		veil_peer_set_keepalive(peer, nla_get_u16(pa[VEIL_A_PEER_KEEPALIVE]));
	return 0;
}

static int veil_nl_peer_attrs(struct genl_info *info, struct nlattr **pa)
{
	if (!info->attrs[VEIL_A_DEV_PEER]) {
		NL_SET_ERR_MSG_MOD(info->extack, "missing the peer (VEIL_A_DEV_PEER)");
		return -EINVAL;
	}
	return nla_parse_nested(pa, VEIL_A_PEER_MAX, info->attrs[VEIL_A_DEV_PEER],
				veil_peer_policy, info->extack);
}

static int veil_nl_peer_change(struct sk_buff *skb, struct genl_info *info, u8 cmd)
{
	struct nlattr *pa[VEIL_A_PEER_MAX + 1];
	struct veil_peer_cfg cfg;
	struct veil_device *vd;
	struct net_device *dev;
	struct veil_peer *peer;
	u32 id;
	int err;

	err = veil_nl_peer_attrs(info, pa);
	if (err)
		return err;
	if (!pa[VEIL_A_PEER_ID]) {
		NL_SET_ERR_MSG_MOD(info->extack, "missing the tunnel id (VEIL_A_PEER_ID)");
		return -EINVAL;
	}
	id = nla_get_u32(pa[VEIL_A_PEER_ID]);
	dev = veil_nl_get_dev(genl_info_net(info), info->attrs, info->extack);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	vd = netdev_priv(dev);

	mutex_lock(&vd->lock);
	peer = veil_peer_by_id(vd, id);
	/* Every command but NEW acts on an existing tunnel. */
	if (!peer && cmd != VEIL_CMD_PEER_NEW) {
		NL_SET_ERR_MSG_ATTR(info->extack, pa[VEIL_A_PEER_ID], "no tunnel with this id");
		err = -ENOENT;
		goto out;
	}
	switch (cmd) {
	case VEIL_CMD_KEY_SWAP:
		err = veil_peer_swap_keys(peer);
		if (err)
			NL_SET_ERR_MSG_MOD(info->extack,
					   "no next keys to swap to: install them with next tx and rx keys first");
		break;
	case VEIL_CMD_PEER_DEL:
		veil_peer_remove(peer);
		break;
	case VEIL_CMD_PEER_NEW:
		if (peer) {
			NL_SET_ERR_MSG_ATTR(info->extack, pa[VEIL_A_PEER_ID],
					    "a tunnel with this id exists already");
			err = -EEXIST;
			break;
		}
		if (!pa[VEIL_A_PEER_REMOTE_ID] || !pa[VEIL_A_PEER_TX_KEY]) {
			NL_SET_ERR_MSG_MOD(info->extack,
					   "a new tunnel needs remote id, tx key and rx key");
			err = -EINVAL;
			break;
		}
		if (!vd->port) {
			NL_SET_ERR_MSG_MOD(info->extack,
					   "the device has no UDP socket: set a port first");
			err = -ENOTCONN;
			break;
		}
		err = veil_nl_parse_peer(vd, NULL, pa, &cfg, info->extack);
		if (err)
			break;
		peer = veil_peer_create(vd, id);
		if (IS_ERR(peer)) {
			err = PTR_ERR(peer);
			veil_peer_cfg_free(&cfg);
			break;
		}
		err = veil_peer_apply(peer, pa, &cfg, info->extack);
		veil_peer_cfg_free(&cfg);
		if (err)
			veil_peer_remove(peer);
		break;
	case VEIL_CMD_PEER_SET:
		err = veil_nl_parse_peer(vd, peer, pa, &cfg, info->extack);
		if (err)
			break;
		err = veil_peer_apply(peer, pa, &cfg, info->extack);
		veil_peer_cfg_free(&cfg);
		break;
	}
out:
	mutex_unlock(&vd->lock);
	dev_put(dev);
	return err;
}

static int veil_nl_peer_new_doit(struct sk_buff *skb, struct genl_info *info)
{
	return veil_nl_peer_change(skb, info, VEIL_CMD_PEER_NEW);
}

static int veil_nl_peer_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	return veil_nl_peer_change(skb, info, VEIL_CMD_PEER_SET);
}

static int veil_nl_peer_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	return veil_nl_peer_change(skb, info, VEIL_CMD_PEER_DEL);
}

static int veil_nl_key_swap_doit(struct sk_buff *skb, struct genl_info *info)
{
	return veil_nl_peer_change(skb, info, VEIL_CMD_KEY_SWAP);
}

static int veil_nl_put_peer(struct sk_buff *skb, struct veil_peer *peer)
{
	struct veil_xlat *xlat;
	struct veil_pstats_total st;
	struct veil_keys *keys;
	struct veil_ports *ports;
	struct veil_allowed *a;
	union veil_sockaddr ep;
	struct nlattr *nest, *list, *item;
	unsigned long last_rx;
	unsigned int i;
	int k;

	nest = nla_nest_start(skb, VEIL_A_DEV_PEER);
	if (!nest)
		return -EMSGSIZE;
	spin_lock_bh(&peer->endpoint_lock);
	ep = peer->endpoint;
	spin_unlock_bh(&peer->endpoint_lock);
	if (nla_put_u32(skb, VEIL_A_PEER_ID, peer->id) ||
	    nla_put_u32(skb, VEIL_A_PEER_REMOTE_ID, peer->remote_id) ||
	    nla_put_u16(skb, VEIL_A_PEER_KEEPALIVE, READ_ONCE(peer->keepalive)) ||
	    nla_put_u8(skb, VEIL_A_PEER_ROLE, READ_ONCE(peer->role)))
		goto err;
	if (ep.sa.sa_family == AF_INET &&
	    nla_put(skb, VEIL_A_PEER_ENDPOINT, sizeof(ep.sin), &ep.sin))
		goto err;
	if (ep.sa.sa_family == AF_INET6 &&
	    nla_put(skb, VEIL_A_PEER_ENDPOINT, sizeof(ep.sin6), &ep.sin6))
		goto err;
	keys = rcu_dereference_protected(peer->keys, lockdep_is_held(&peer->vd->lock));
	if (keys && (nla_put_u8(skb, VEIL_A_PEER_KEY_PHASE, keys->phase) ||
		     nla_put_u64_64bit(skb, VEIL_A_PEER_TX_COUNTER,
				       atomic64_read(&keys->tx_counter), VEIL_A_PEER_PAD)))
		goto err;
	last_rx = READ_ONCE(peer->last_rx);
	if (last_rx && nla_put_u64_64bit(skb, VEIL_A_PEER_LAST_RX,
					 jiffies_to_msecs(jiffies - last_rx), VEIL_A_PEER_PAD))
		goto err;

	list = nla_nest_start(skb, VEIL_A_PEER_ALLOWED);
	if (!list)
		goto err;
	list_for_each_entry(a, &peer->allowed, peer_list) {
		item = nla_nest_start(skb, 1);
		if (!item || nla_put_u16(skb, VEIL_A_PREFIX_FAMILY, a->family) ||
		    nla_put(skb, VEIL_A_PREFIX_ADDR, a->family == AF_INET ? 4 : 16, &a->addr) ||
		    nla_put_u8(skb, VEIL_A_PREFIX_LEN, a->cidr))
			goto err;
		nla_nest_end(skb, item);
	}
	nla_nest_end(skb, list);

	xlat = rcu_dereference_protected(peer->xlat, lockdep_is_held(&peer->vd->lock));
	if (xlat) {
		int sl = xlat->src_family == AF_INET ? 4 : 16;
		int dl = xlat->dst_family == AF_INET ? 4 : 16;

		list = nla_nest_start(skb, VEIL_A_PEER_XLAT);
		if (!list ||
		    (xlat->src_family &&
		     (nla_put(skb, VEIL_A_XLAT_SRC, sl, &xlat->src) ||
		      nla_put(skb, VEIL_A_XLAT_SRC_TO, sl, &xlat->src_to))) ||
		    (xlat->dst_family &&
		     (nla_put(skb, VEIL_A_XLAT_DST, dl, &xlat->dst) ||
		      nla_put(skb, VEIL_A_XLAT_DST_TO, dl, &xlat->dst_to))))
			goto err;
		nla_nest_end(skb, list);
	}

	ports = rcu_dereference_protected(peer->ports, lockdep_is_held(&peer->vd->lock));
	list = nla_nest_start(skb, VEIL_A_PEER_PORTS);
	if (!list)
		goto err;
	for (i = 0; ports && i < ports->n; i++) {
		item = nla_nest_start(skb, 1);
		if (!item || nla_put_u8(skb, VEIL_A_PORT_PROTO, ports->r[i].proto) ||
		    nla_put_u16(skb, VEIL_A_PORT_MIN, ports->r[i].min) ||
		    nla_put_u16(skb, VEIL_A_PORT_MAX, ports->r[i].max))
			goto err;
		nla_nest_end(skb, item);
	}
	nla_nest_end(skb, list);

	veil_peer_get_stats(peer, &st);
	list = nla_nest_start(skb, VEIL_A_PEER_STATS);
	if (!list ||
	    nla_put_u64_64bit(skb, VEIL_A_PSTATS_RX_PACKETS, st.rx_packets, VEIL_A_PSTATS_PAD) ||
	    nla_put_u64_64bit(skb, VEIL_A_PSTATS_RX_BYTES, st.rx_bytes, VEIL_A_PSTATS_PAD) ||
	    nla_put_u64_64bit(skb, VEIL_A_PSTATS_TX_PACKETS, st.tx_packets, VEIL_A_PSTATS_PAD) ||
	    nla_put_u64_64bit(skb, VEIL_A_PSTATS_TX_BYTES, st.tx_bytes, VEIL_A_PSTATS_PAD))
		goto err;
	for (k = 0; k < ARRAY_SIZE(st.drop); k++)
		if (nla_put_u64_64bit(skb, VEIL_A_PSTATS_DROP_AUTH + k, st.drop[k],
				      VEIL_A_PSTATS_PAD))
			goto err;
	nla_nest_end(skb, list);
	nla_nest_end(skb, nest);
	return 0;
err:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

static int veil_nl_fill_peer(struct sk_buff *skb, struct veil_peer *peer, u32 portid, u32 seq,
			     int flags)
{
	struct net_device *dev = peer->vd->dev;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &veil_genl_family, flags, VEIL_CMD_PEER_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, VEIL_A_DEV_IFINDEX, dev->ifindex) ||
	    nla_put_string(skb, VEIL_A_DEV_IFNAME, dev->name) ||
	    veil_nl_put_peer(skb, peer)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int veil_nl_peer_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *pa[VEIL_A_PEER_MAX + 1];
	struct veil_device *vd;
	struct net_device *dev;
	struct veil_peer *peer;
	struct sk_buff *msg;
	int err;

	err = veil_nl_peer_attrs(info, pa);
	if (err)
		return err;
	if (!pa[VEIL_A_PEER_ID]) {
		NL_SET_ERR_MSG_MOD(info->extack, "missing the tunnel id (VEIL_A_PEER_ID)");
		return -EINVAL;
	}
	dev = veil_nl_get_dev(genl_info_net(info), info->attrs, info->extack);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	vd = netdev_priv(dev);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		dev_put(dev);
		return -ENOMEM;
	}
	mutex_lock(&vd->lock);
	peer = veil_peer_by_id(vd, nla_get_u32(pa[VEIL_A_PEER_ID]));
	if (!peer) {
		NL_SET_ERR_MSG_ATTR(info->extack, pa[VEIL_A_PEER_ID], "no tunnel with this id");
		err = -ENOENT;
	} else {
		err = veil_nl_fill_peer(msg, peer, info->snd_portid, info->snd_seq, 0);
	}
	mutex_unlock(&vd->lock);
	dev_put(dev);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

/* cb->args[0]: device ifindex, cb->args[1]: peers already sent. */
static int veil_nl_peer_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct veil_device *vd;
	struct net_device *dev;
	struct veil_peer *peer;
	long idx = 0;
	int bkt, err = 0;

	if (!cb->args[0]) {
		dev = veil_nl_get_dev(sock_net(skb->sk), veil_compat_dump_attrs(cb), cb->extack);
		if (IS_ERR(dev))
			return PTR_ERR(dev);
		cb->args[0] = dev->ifindex;
	} else {
		dev = dev_get_by_index(sock_net(skb->sk), cb->args[0]);
		if (!dev)
			return 0;	/* gone meanwhile: the dump ends */
		if (!veil_dev_is_veil(dev)) {
			/* Replaced by another device with the same index. */
			dev_put(dev);
			return 0;
		}
	}
	vd = netdev_priv(dev);
	mutex_lock(&vd->lock);
	hash_for_each(vd->peers, bkt, peer, id_node) {
		if (idx++ < cb->args[1])
			continue;
		err = veil_nl_fill_peer(skb, peer, NETLINK_CB(cb->skb).portid,
					cb->nlh->nlmsg_seq, NLM_F_MULTI);
		if (err) {
			idx--;
			break;
		}
	}
	mutex_unlock(&vd->lock);
	dev_put(dev);
	cb->args[1] = idx;
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
	{
		.cmd	= VEIL_CMD_DEV_SET,
		.doit	= veil_nl_dev_set_doit,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= VEIL_CMD_PEER_NEW,
		.doit	= veil_nl_peer_new_doit,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= VEIL_CMD_PEER_SET,
		.doit	= veil_nl_peer_set_doit,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= VEIL_CMD_PEER_DEL,
		.doit	= veil_nl_peer_del_doit,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= VEIL_CMD_KEY_SWAP,
		.doit	= veil_nl_key_swap_doit,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= VEIL_CMD_PEER_GET,
		.doit	= veil_nl_peer_get_doit,
		.dumpit	= veil_nl_peer_get_dumpit,
		.flags	= GENL_ADMIN_PERM,
	},
};

static const struct nla_policy veil_dns_policy[VEIL_A_DNS_MAX + 1] = {
	/* The final dot is allowed: one more than the longest name. */
	[VEIL_A_DNS_ZONE]	= { .type = NLA_NUL_STRING, .len = VEIL_DNS_TEXT_NAME_MAX + 1 },
	[VEIL_A_DNS_NAME]	= { .type = NLA_NUL_STRING, .len = VEIL_DNS_TEXT_NAME_MAX + 1 },
	[VEIL_A_DNS_ADDRS]	= { .type = NLA_NESTED },
	[VEIL_A_DNS_NXDOMAIN]	= { .type = NLA_FLAG },
	[VEIL_A_DNS_TTL]	= { .type = NLA_U32 },
	[VEIL_A_DNS_QUERY_ID]	= NLA_POLICY_MIN(NLA_U32, 1),
	[VEIL_A_DNS_VERDICT]	= NLA_POLICY_MAX(NLA_U8, VEIL_DNS_VERDICT_SERVFAIL),
};

/* DNS commands take their own attribute set. */
static const struct genl_ops veil_genl_dns_ops[] = {
	{
		.cmd	= VEIL_CMD_ZONE_ADD,
		.doit	= veil_nl_zone_add_doit,
		.policy	= veil_dns_policy,
		.maxattr = VEIL_A_DNS_MAX,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= VEIL_CMD_ZONE_DEL,
		.doit	= veil_nl_zone_del_doit,
		.policy	= veil_dns_policy,
		.maxattr = VEIL_A_DNS_MAX,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= VEIL_CMD_ZONE_GET,
		.dumpit	= veil_nl_zone_get_dumpit,
		.policy	= veil_dns_policy,
		.maxattr = VEIL_A_DNS_MAX,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= VEIL_CMD_CACHE_ADD,
		.doit	= veil_nl_cache_add_doit,
		.policy	= veil_dns_policy,
		.maxattr = VEIL_A_DNS_MAX,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= VEIL_CMD_CACHE_DEL,
		.doit	= veil_nl_cache_del_doit,
		.policy	= veil_dns_policy,
		.maxattr = VEIL_A_DNS_MAX,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= VEIL_CMD_CACHE_GET,
		.doit	= veil_nl_cache_get_doit,
		.dumpit	= veil_nl_cache_get_dumpit,
		.policy	= veil_dns_policy,
		.maxattr = VEIL_A_DNS_MAX,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= VEIL_CMD_DNS_VERDICT,
		.doit	= veil_nl_dns_verdict_doit,
		.policy	= veil_dns_policy,
		.maxattr = VEIL_A_DNS_MAX,
		.flags	= GENL_ADMIN_PERM,
	},
};

static const struct genl_multicast_group veil_genl_mcgrps[] = {
	{ .name = VEIL_GENL_MCGRP_EVENTS },
};

/*
 * Events are built in the data path (softirq): atomic allocation, and only
 * when someone listens.
 */
static void veil_nl_notify(struct veil_peer *peer, u8 cmd, u64 counter)
{
	struct net_device *dev = peer->vd->dev;
	struct net *net = dev_net(dev);
	union veil_sockaddr ep;
	struct sk_buff *skb;
	struct nlattr *nest;
	void *hdr;

	if (!genl_has_listeners(&veil_genl_family, net, 0))
		return;
	skb = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_ATOMIC);
	if (!skb)
		return;
	hdr = genlmsg_put(skb, 0, 0, &veil_genl_family, 0, cmd);
	if (!hdr)
		goto err;
	if (nla_put_u32(skb, VEIL_A_DEV_IFINDEX, dev->ifindex) ||
	    nla_put_string(skb, VEIL_A_DEV_IFNAME, dev->name))
		goto err;
	nest = nla_nest_start(skb, VEIL_A_DEV_PEER);
	if (!nest || nla_put_u32(skb, VEIL_A_PEER_ID, peer->id))
		goto err;
	if (cmd == VEIL_CMD_EVENT_ENDPOINT) {
		spin_lock_bh(&peer->endpoint_lock);
		ep = peer->endpoint;
		spin_unlock_bh(&peer->endpoint_lock);
		if (nla_put(skb, VEIL_A_PEER_ENDPOINT, ep.sa.sa_family == AF_INET ?
			    sizeof(ep.sin) : sizeof(ep.sin6), &ep))
			goto err;
	} else if (nla_put_u64_64bit(skb, VEIL_A_PEER_TX_COUNTER, counter, VEIL_A_PEER_PAD)) {
		goto err;
	}
	nla_nest_end(skb, nest);
	genlmsg_end(skb, hdr);
	genlmsg_multicast_netns(&veil_genl_family, net, skb, 0, 0, GFP_ATOMIC);
	return;
err:
	nlmsg_free(skb);
}

void veil_nl_notify_endpoint(struct veil_peer *peer)
{
	veil_nl_notify(peer, VEIL_CMD_EVENT_ENDPOINT, 0);
}

void veil_nl_notify_rekey(struct veil_peer *peer, u64 counter)
{
	veil_nl_notify(peer, VEIL_CMD_EVENT_REKEY, counter);
}

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
	.ops		= veil_genl_dns_ops,
	.n_ops		= ARRAY_SIZE(veil_genl_dns_ops),
	.mcgrps		= veil_genl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(veil_genl_mcgrps),
};

void *veil_nl_msg_put(struct sk_buff *skb, u32 portid, u32 seq, int flags, u8 cmd)
{
	return genlmsg_put(skb, portid, seq, &veil_genl_family, flags, cmd);
}

bool veil_nl_has_listeners(struct net *net)
{
	return genl_has_listeners(&veil_genl_family, net, 0);
}

void veil_nl_multicast(struct net *net, struct sk_buff *skb)
{
	genlmsg_multicast_netns(&veil_genl_family, net, skb, 0, 0, GFP_ATOMIC);
}

int __init veil_genl_init(void)
{
	return genl_register_family(&veil_genl_family);
}

void veil_genl_uninit(void)
{
	genl_unregister_family(&veil_genl_family);
}
