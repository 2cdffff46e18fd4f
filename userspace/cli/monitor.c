// SPDX-License-Identifier: GPL-2.0
/*
 * veil monitor: print the kernel's veil events as they happen (tunnel
 * endpoint moved, key needs replacing), one line or one JSON object each.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <linux/genetlink.h>
#include <linux/veil.h>

#include "addr.h"
#include "cli.h"
#include "print.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: veil monitor\n"
		"       veil monitor help\n"
		"Prints events until interrupted:\n"
		"  endpoint dev NAME peer ID endpoint ADDR:PORT   a tunnel's peer moved\n"
		"  rekey dev NAME peer ID tx-counter N            a key needs replacing\n");
}

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_get_type(attr) <= VEIL_A_PEER_MAX)
		tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static int monitor_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *dev[VEIL_A_PEER_MAX + 1] = { 0 };
	const struct nlattr *peer[VEIL_A_PEER_MAX + 1] = { 0 };
	char ep[VEIL_ENDPOINT_STRLEN];
	const char *what;

	(void)data;
	if (g->cmd == VEIL_CMD_EVENT_ENDPOINT)
		what = "endpoint";
	else if (g->cmd == VEIL_CMD_EVENT_REKEY)
		what = "rekey";
	else
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*g), attr_cb, dev);
	if (!dev[VEIL_A_DEV_IFNAME] || !dev[VEIL_A_DEV_PEER])
		return MNL_CB_OK;
	mnl_attr_parse_nested(dev[VEIL_A_DEV_PEER], attr_cb, peer);
	if (!peer[VEIL_A_PEER_ID] || mnl_attr_validate(peer[VEIL_A_PEER_ID], MNL_TYPE_U32))
		return MNL_CB_OK;

	veil_print_start(veil_opts.json, false);
	veil_print_open_object(NULL);
	veil_print_string("event", "%s", what);
	veil_print_string("ifname", " dev %s", mnl_attr_get_str(dev[VEIL_A_DEV_IFNAME]));
	veil_print_uint("id", " peer %" PRIu64, mnl_attr_get_u32(peer[VEIL_A_PEER_ID]));
	if (peer[VEIL_A_PEER_ENDPOINT] &&
	    veil_format_endpoint(mnl_attr_get_payload(peer[VEIL_A_PEER_ENDPOINT]),
				 mnl_attr_get_payload_len(peer[VEIL_A_PEER_ENDPOINT]),
				 ep, sizeof(ep)) == 0)
		veil_print_string("endpoint", " endpoint %s", ep);
	if (peer[VEIL_A_PEER_TX_COUNTER] &&
	    !mnl_attr_validate(peer[VEIL_A_PEER_TX_COUNTER], MNL_TYPE_U64))
		veil_print_uint("tx_counter", " tx-counter %" PRIu64,
				mnl_attr_get_u64(peer[VEIL_A_PEER_TX_COUNTER]));
	veil_print_text("\n");
	veil_print_close_object();
	veil_print_end();
	return MNL_CB_OK;
}

int do_monitor(int argc, char **argv)
{
	struct veil_nl *nl;
	int err;

	if (argc > 0) {
		if (matches(*argv, "help")) {
			usage(stdout);
			return 0;
		}
		fprintf(stderr, "Command \"%s\" is unknown, try \"veil monitor help\".\n", *argv);
		return 1;
	}
	nl = veil_cli_nl_open();
	if (!nl)
		return 1;
	err = veil_nl_subscribe_events(nl);
	if (err) {
		fprintf(stderr, "Error: cannot subscribe to veil events: %s.\n", strerror(-err));
		veil_nl_close(nl);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	err = veil_nl_listen(nl, monitor_cb, NULL);
	veil_nl_close(nl);
	if (err) {
		fprintf(stderr, "Error: receiving veil events failed: %s.\n", strerror(-err));
		return 1;
	}
	return 0;
}
