// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/veil.h>

#include "nl.h"

struct veil_nl {
	struct mnl_socket *sk;
	uint32_t portid;
	uint32_t seq;
	uint16_t family;
	uint32_t events_group;		/* multicast group id, 0 if unknown */
	char *buf;			/* request and receive buffer */
	size_t bufsz;
	char errmsg[256];		/* extended ACK of the last error */
};

struct veil_nl_ctx {
	struct veil_nl *nl;
	veil_nl_reply_cb cb;
	void *data;
};

static int veil_nl_grp_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type <= CTRL_ATTR_MCAST_GRP_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

/* Find the "events" group among the family's multicast groups. */
static void veil_nl_parse_groups(struct veil_nl *nl, const struct nlattr *groups)
{
	const struct nlattr *grp;

	mnl_attr_for_each_nested(grp, groups) {
		const struct nlattr *tb[CTRL_ATTR_MCAST_GRP_MAX + 1] = { 0 };

		mnl_attr_parse_nested(grp, veil_nl_grp_attr_cb, tb);
		if (tb[CTRL_ATTR_MCAST_GRP_NAME] && tb[CTRL_ATTR_MCAST_GRP_ID] &&
		    mnl_attr_validate(tb[CTRL_ATTR_MCAST_GRP_ID], MNL_TYPE_U32) == 0 &&
		    !strcmp(mnl_attr_get_str(tb[CTRL_ATTR_MCAST_GRP_NAME]), VEIL_GENL_MCGRP_EVENTS))
			nl->events_group = mnl_attr_get_u32(tb[CTRL_ATTR_MCAST_GRP_ID]);
	}
}

static int veil_nl_family_attr_cb(const struct nlattr *attr, void *data)
{
	struct veil_nl *nl = data;

	if (mnl_attr_get_type(attr) == CTRL_ATTR_FAMILY_ID &&
	    mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
		nl->family = mnl_attr_get_u16(attr);
	if (mnl_attr_get_type(attr) == CTRL_ATTR_MCAST_GROUPS &&
	    mnl_attr_validate(attr, MNL_TYPE_NESTED) == 0)
		veil_nl_parse_groups(nl, attr);
	return MNL_CB_OK;
}

static int veil_nl_family_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), veil_nl_family_attr_cb, data);
}

static int veil_nl_ext_ack_cb(const struct nlattr *attr, void *data)
{
	struct veil_nl *nl = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
		strncpy(nl->errmsg, mnl_attr_get_str(attr), sizeof(nl->errmsg) - 1);
		nl->errmsg[sizeof(nl->errmsg) - 1] = '\0';
	}
	return MNL_CB_OK;
}

/* Parse the extended ACK attributes that follow an error or DONE payload. */
static void veil_nl_ext_ack(struct veil_nl *nl, const struct nlmsghdr *nlh, size_t off)
{
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (mnl_nlmsg_get_payload_len(nlh) < off)
		return;
	mnl_attr_parse(nlh, off, veil_nl_ext_ack_cb, nl);
}

static int veil_nl_error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct veil_nl_ctx *ctx = data;
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*err);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*err)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	/* Without NLM_F_CAPPED the whole request is echoed before the TLVs. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
	veil_nl_ext_ack(ctx->nl, nlh, off);
	if (err->error == 0)
		return MNL_CB_STOP;
	errno = -err->error;
	return MNL_CB_ERROR;
}

static int veil_nl_done_cb(const struct nlmsghdr *nlh, void *data)
{
	struct veil_nl_ctx *ctx = data;
	int error = 0;

	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int))
		memcpy(&error, mnl_nlmsg_get_payload(nlh), sizeof(int));
	veil_nl_ext_ack(ctx->nl, nlh, sizeof(int));
	if (error < 0) {
		errno = -error;
		return MNL_CB_ERROR;
	}
	return MNL_CB_STOP;
}

static int veil_nl_data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct veil_nl_ctx *ctx = data;

	return ctx->cb ? ctx->cb(nlh, ctx->data) : MNL_CB_OK;
}

static int veil_nl_exchange(struct veil_nl *nl, struct nlmsghdr *nlh, veil_nl_reply_cb cb,
			    void *data)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = veil_nl_error_cb,
		[NLMSG_DONE] = veil_nl_done_cb,
	};
	struct veil_nl_ctx ctx = { .nl = nl, .cb = cb, .data = data };
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t n;
	int ret;

	nl->errmsg[0] = '\0';
	if (mnl_socket_sendto(nl->sk, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(nl->sk, nl->buf, nl->bufsz);
		if (n < 0)
			return -errno;
		ret = mnl_cb_run2(nl->buf, n, seq, nl->portid, veil_nl_data_cb, &ctx,
				  ctl, MNL_ARRAY_SIZE(ctl));
		if (ret < 0)
			return errno ? -errno : -EIO;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

static struct nlmsghdr *veil_nl_put_hdr(struct veil_nl *nl, uint16_t type, uint8_t cmd,
					uint8_t version, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);
	struct genlmsghdr *genl;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++nl->seq;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = version;
	return nlh;
}

struct veil_nl *veil_nl_open(void)
{
	struct veil_nl *nl;
	struct nlmsghdr *nlh;
	int one = 1, err;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return NULL;
	nl->bufsz = 32768;		/* a dump part: one page or more */
	nl->buf = malloc(nl->bufsz);
	if (!nl->buf)
		goto err;
	nl->sk = mnl_socket_open(NETLINK_GENERIC);
	if (!nl->sk)
		goto err;
	/* Ask for the kernel's human-readable reasons, and no echoed requests. */
	mnl_socket_setsockopt(nl->sk, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sk, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0)
		goto err;
	nl->portid = mnl_socket_get_portid(nl->sk);
	nl->seq = (uint32_t)getpid() << 8;

	nlh = veil_nl_put_hdr(nl, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, NLM_F_ACK);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, VEIL_GENL_NAME);
	err = veil_nl_exchange(nl, nlh, veil_nl_family_cb, nl);
	if (err) {
		errno = -err;
		goto err;
	}
	if (!nl->family) {
		errno = ENOENT;
		goto err;
	}
	return nl;
err:
	err = errno;
	veil_nl_close(nl);
	errno = err;
	return NULL;
}

void veil_nl_close(struct veil_nl *nl)
{
	if (!nl)
		return;
	if (nl->sk)
		mnl_socket_close(nl->sk);
	free(nl->buf);
	free(nl);
}

struct nlmsghdr *veil_nl_msg(struct veil_nl *nl, uint8_t cmd, uint16_t flags)
{
	return veil_nl_put_hdr(nl, nl->family, cmd, VEIL_GENL_VERSION, flags);
}

int veil_nl_run(struct veil_nl *nl, struct nlmsghdr *nlh, veil_nl_reply_cb cb, void *data)
{
	if (!(nlh->nlmsg_flags & NLM_F_DUMP))
		nlh->nlmsg_flags |= NLM_F_ACK;
	return veil_nl_exchange(nl, nlh, cb, data);
}

int veil_nl_subscribe_events(struct veil_nl *nl)
{
	int grp = (int)nl->events_group;

	if (!grp)
		return -ENOENT;
	if (mnl_socket_setsockopt(nl->sk, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)) < 0)
		return -errno;
	return 0;
}

int veil_nl_listen(struct veil_nl *nl, veil_nl_reply_cb cb, void *data)
{
	ssize_t n;
	int ret;

	for (;;) {
		n = mnl_socket_recvfrom(nl->sk, nl->buf, nl->bufsz);
		if (n < 0) {
			if (errno == ENOBUFS)	/* events were lost; keep going */
				continue;
			return -errno;
		}
		ret = mnl_cb_run(nl->buf, n, 0, 0, cb, data);
		if (ret <= MNL_CB_STOP)
			return ret == MNL_CB_STOP ? 0 : -errno;
	}
}

const char *veil_nl_errmsg(const struct veil_nl *nl)
{
	return nl->errmsg[0] ? nl->errmsg : NULL;
}
