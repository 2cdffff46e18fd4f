// SPDX-License-Identifier: GPL-2.0
/*
 * A stand-in for the node daemon's DNS decisions, for the selftests: it
 * listens for VEIL_CMD_EVENT_DNS_QUERY and answers each held query with a
 * verdict from its rules.
 *
 *   veil_dnsd SECONDS RULE...      serve for SECONDS, then exit
 *   veil_dnsd verdict ID           send one ANSWER verdict, print the result
 *
 * RULE := NAME=ADDR[,ADDR...] | NAME=nxdomain | NAME=servfail | NAME=ignore
 * Unknown names are ignored (they time out). Every event is printed as
 * "query ID NAME QTYPE QUERIER" and every verdict's result as
 * "verdict ID ok" or "verdict ID error ERRNO MESSAGE".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/veil.h>

#include "nl.h"

struct rules {
	int n;
	char **v;
	struct veil_nl *req;
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type <= VEIL_A_DNS_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

/* Send a verdict for @id: @rule is "nxdomain", "servfail" or addresses. */
static int verdict(struct veil_nl *nl, uint32_t id, const char *rule)
{
	struct nlmsghdr *nlh = veil_nl_msg(nl, VEIL_CMD_DNS_VERDICT, 0);
	char buf[512], *tok, *save = NULL;
	uint8_t addr[16];
	struct nlattr *nest;
	int err;

	mnl_attr_put_u32(nlh, VEIL_A_DNS_QUERY_ID, id);
	if (!strcmp(rule, "servfail")) {
		mnl_attr_put_u8(nlh, VEIL_A_DNS_VERDICT, VEIL_DNS_VERDICT_SERVFAIL);
	} else if (!strcmp(rule, "nxdomain")) {
		mnl_attr_put_u8(nlh, VEIL_A_DNS_VERDICT, VEIL_DNS_VERDICT_NXDOMAIN);
		mnl_attr_put(nlh, VEIL_A_DNS_NXDOMAIN, 0, NULL);
		mnl_attr_put_u32(nlh, VEIL_A_DNS_TTL, 30);
	} else {
		mnl_attr_put_u8(nlh, VEIL_A_DNS_VERDICT, VEIL_DNS_VERDICT_ANSWER);
		mnl_attr_put_u32(nlh, VEIL_A_DNS_TTL, 30);
		nest = mnl_attr_nest_start(nlh, VEIL_A_DNS_ADDRS);
		snprintf(buf, sizeof(buf), "%s", rule);
		for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (inet_pton(AF_INET, tok, addr) == 1)
				mnl_attr_put(nlh, 1, 4, addr);
			else if (inet_pton(AF_INET6, tok, addr) == 1)
				mnl_attr_put(nlh, 1, 16, addr);
		}
		mnl_attr_nest_end(nlh, nest);
	}
	err = veil_nl_run(nl, nlh, NULL, NULL);
	if (err)
		printf("verdict %u error %d %s\n", id, -err,
		       veil_nl_errmsg(nl) ? veil_nl_errmsg(nl) : strerror(-err));
	else
		printf("verdict %u ok\n", id);
	fflush(stdout);
	return err;
}

static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[VEIL_A_DNS_MAX + 1] = { 0 };
	struct rules *r = data;
	char who[INET6_ADDRSTRLEN] = "?";
	const char *name;
	uint32_t id;
	size_t len;
	int i;

	if (g->cmd != VEIL_CMD_EVENT_DNS_QUERY)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*g), attr_cb, tb);
	if (!tb[VEIL_A_DNS_QUERY_ID] || !tb[VEIL_A_DNS_NAME] || !tb[VEIL_A_DNS_QTYPE])
		return MNL_CB_OK;
	id = mnl_attr_get_u32(tb[VEIL_A_DNS_QUERY_ID]);
	name = mnl_attr_get_str(tb[VEIL_A_DNS_NAME]);
	if (tb[VEIL_A_DNS_QUERIER]) {
		const struct sockaddr *sa = mnl_attr_get_payload(tb[VEIL_A_DNS_QUERIER]);

		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, who,
				  sizeof(who));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, who,
				  sizeof(who));
	}
	printf("query %u %s %u %s\n", id, name, mnl_attr_get_u16(tb[VEIL_A_DNS_QTYPE]), who);
	fflush(stdout);
	len = strlen(name);
	for (i = 0; i < r->n; i++) {
		if (!strncmp(r->v[i], name, len) && r->v[i][len] == '=') {
			if (strcmp(r->v[i] + len + 1, "ignore"))
				verdict(r->req, id, r->v[i] + len + 1);
			break;
		}
	}
	return MNL_CB_OK;
}

int main(int argc, char **argv)
{
	struct veil_nl *ev, *req;
	struct rules r;
	int err;

	if (argc < 2) {
		fprintf(stderr, "usage: veil_dnsd SECONDS RULE... | veil_dnsd verdict ID\n");
		return 2;
	}
	req = veil_nl_open();
	if (!req) {
		perror("veil_dnsd: netlink");
		return 1;
	}
	if (!strcmp(argv[1], "verdict") && argc == 3)
		return verdict(req, (uint32_t)strtoul(argv[2], NULL, 0), "100.64.0.1") ? 1 : 0;

	ev = veil_nl_open();
	if (!ev || veil_nl_subscribe_events(ev)) {
		perror("veil_dnsd: events");
		return 1;
	}
	r.n = argc - 2;
	r.v = argv + 2;
	r.req = req;
	alarm((unsigned int)atoi(argv[1]));	/* bounded: SIGALRM ends it */
	printf("ready\n");
	fflush(stdout);
	err = veil_nl_listen(ev, event_cb, &r);
	fprintf(stderr, "veil_dnsd: %s\n", strerror(-err));
	return 1;
}
