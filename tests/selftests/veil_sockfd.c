// SPDX-License-Identifier: GPL-2.0
/*
 * A stand-in for the node daemon in sockfd.sh: it creates UDP (and other)
 * sockets in its network namespace, hands them to a veil device with
 * VEIL_CMD_DEV_SET + VEIL_A_DEV_SOCK_FD, and reads what reaches them.
 *
 * Commands come one per line on stdin; each gets one line on stdout:
 *
 *   udp4 ADDR PORT          socket(AF_INET, SOCK_DGRAM), bound unless
 *                           ADDR is "-"                     -> ok FD
 *   udp6 ADDR PORT V6ONLY   the same for AF_INET6, IPV6_V6ONLY 0 or 1
 *   udplite4 ADDR PORT      a bound UDP-Lite socket          -> ok FD
 *   tcp4                    a TCP socket                     -> ok FD
 *   espinudp FD             make FD an ESP-in-UDP socket     -> ok
 *   netns PATH              create later sockets in the namespace at PATH
 *                           ("-": the one it started in)    -> ok
 *   adopt DEV FD [port N] [adopted]
 *                           DEV_SET with SOCK_FD (and, to be refused,
 *                           LISTEN_PORT or SOCK_ADOPTED)    -> ok | err ENAME msg
 *   recv FD MS              wait up to MS ms for a datagram -> got FIRST_BYTE LEN | none
 *   pending FD              drain what is queued            -> count N veil M
 *                           (M: datagrams whose first byte is veil data)
 *   close FD                                                -> ok
 *   churn DEV N PORT        N times: bind 0.0.0.0:PORT, adopt, close
 *                                                           -> ok ADOPTED
 *
 * "veil_sockfd send ADDR PORT HEX" instead sends one datagram and exits.
 * Netlink requests go to the namespace the helper started in.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/udp.h>
#include <linux/veil.h>

#include "nl.h"

#ifndef UDP_ENCAP
#define UDP_ENCAP 100
#endif
#ifndef UDP_ENCAP_ESPINUDP
#define UDP_ENCAP_ESPINUDP 2
#endif

static struct veil_nl *nl;

static int parse_addr(int family, const char *addr, const char *port, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)atoi(port));
		*len = sizeof(*sin);
		return inet_pton(AF_INET, addr, &sin->sin_addr) == 1 ? 0 : -1;
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)atoi(port));
	*len = sizeof(*sin6);
	return inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1 ? 0 : -1;
}

static void reply_errno(const char *what)
{
	printf("err %s %s\n", strerrorname_np(errno) ?: "?", what);
}

/* Create a socket; bind it to ADDR:PORT unless ADDR is "-". */
static int open_sock(int family, int type, int proto, const char *addr, const char *port,
		     int v6only)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	fd = socket(family, type, proto);
	if (fd < 0)
		return -1;
	if (family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0)
		goto err;
	if (!addr || !strcmp(addr, "-"))
		return fd;
	if (parse_addr(family, addr, port, &ss, &len) < 0) {
		errno = EINVAL;
		goto err;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		goto err;
	return fd;
err:
	close(fd);
	return -1;
}

static int adopt(const char *dev, int fd, int port, int adopted, int quiet)
{
	struct nlmsghdr *nlh;
	const char *msg;
	int err;

	nlh = veil_nl_msg(nl, VEIL_CMD_DEV_SET, 0);
	mnl_attr_put_strz(nlh, VEIL_A_DEV_IFNAME, dev);
	mnl_attr_put_u32(nlh, VEIL_A_DEV_SOCK_FD, (uint32_t)fd);
	if (port >= 0)
		mnl_attr_put_u16(nlh, VEIL_A_DEV_LISTEN_PORT, (uint16_t)port);
	if (adopted)
		mnl_attr_put_u8(nlh, VEIL_A_DEV_SOCK_ADOPTED, 1);
	err = veil_nl_run(nl, nlh, NULL, NULL);
	if (quiet)
		return err;
	if (!err) {
		printf("ok\n");
		return 0;
	}
	msg = veil_nl_errmsg(nl);
	printf("err %s %s\n", strerrorname_np(-err) ?: "?", msg ? msg : "(no message)");
	return err;
}

static void do_recv(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	unsigned char buf[2048];
	ssize_t n;

	if (poll(&p, 1, ms) <= 0) {
		printf("none\n");
		return;
	}
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0)
		reply_errno("recv");
	else
		printf("got %u %zd\n", n ? buf[0] : 0, n);
}

static void do_pending(int fd)
{
	unsigned char buf[2048];
	int count = 0, veil = 0;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
		count++;
		if (n > 0 && buf[0] >= 128 && buf[0] <= 191)
			veil++;
	}
	printf("count %d veil %d\n", count, veil);
}

static void do_churn(const char *dev, int n, const char *port)
{
	int i, fd, ok = 0;

	for (i = 0; i < n; i++) {
		fd = open_sock(AF_INET, SOCK_DGRAM, 0, "0.0.0.0", port, 0);
		if (fd < 0)
			continue;
		if (!adopt(dev, fd, -1, 0, 1))
			ok++;
		close(fd);
	}
	printf("ok %d\n", ok);
}

static int send_one(const char *addr, const char *port, const char *hex)
{
	unsigned char buf[512];
	struct sockaddr_storage ss;
	int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	socklen_t len;
	size_t n = 0;
	int fd;

	while (hex[0] && hex[1] && n < sizeof(buf)) {
		sscanf(hex, "%2hhx", &buf[n++]);
		hex += 2;
	}
	if (parse_addr(family, addr, port, &ss, &len) < 0) {
		fprintf(stderr, "bad address %s\n", addr);
		return 1;
	}
	fd = socket(family, SOCK_DGRAM, 0);
	if (fd < 0 || sendto(fd, buf, n, 0, (struct sockaddr *)&ss, len) < 0) {
		perror("send");
		return 1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	char line[512], a[5][128];
	int home, fd, n;

	if (argc == 5 && !strcmp(argv[1], "send"))
		return send_one(argv[2], argv[3], argv[4]);
	if (argc != 1) {
		fprintf(stderr, "usage: %s  (commands on stdin)\n"
			"       %s send ADDR PORT HEX\n", argv[0], argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	nl = veil_nl_open();
	if (!nl || home < 0) {
		perror("veil_sockfd: cannot open the veil family");
		return 1;
	}
	printf("ready\n");

	while (fgets(line, sizeof(line), stdin)) {
		memset(a, 0, sizeof(a));
		n = sscanf(line, "%127s %127s %127s %127s %127s", a[0], a[1], a[2], a[3], a[4]);
		if (n <= 0)
			continue;
		fd = -1;
		if (!strcmp(a[0], "udp4") && n == 3) {
			fd = open_sock(AF_INET, SOCK_DGRAM, 0, a[1], a[2], 0);
		} else if (!strcmp(a[0], "udp6") && n == 4) {
			fd = open_sock(AF_INET6, SOCK_DGRAM, 0, a[1], a[2], atoi(a[3]));
		} else if (!strcmp(a[0], "udplite4") && n == 3) {
			fd = open_sock(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE, a[1], a[2], 0);
		} else if (!strcmp(a[0], "tcp4") && n == 1) {
			fd = open_sock(AF_INET, SOCK_STREAM, 0, NULL, NULL, 0);
		} else if (!strcmp(a[0], "espinudp") && n == 2) {
			int v = UDP_ENCAP_ESPINUDP;

			if (setsockopt(atoi(a[1]), IPPROTO_UDP, UDP_ENCAP, &v, sizeof(v)) < 0)
				reply_errno("setsockopt UDP_ENCAP");
			else
				printf("ok\n");
			continue;
		} else if (!strcmp(a[0], "netns") && n == 2) {
			int ns = strcmp(a[1], "-") ? open(a[1], O_RDONLY | O_CLOEXEC) : home;

			if (ns < 0 || setns(ns, CLONE_NEWNET) < 0)
				reply_errno("setns");
			else
				printf("ok\n");
			if (ns >= 0 && ns != home)
				close(ns);
			continue;
		} else if (!strcmp(a[0], "adopt") && n >= 3) {
			int port = -1, adopted = 0, i;

			for (i = 3; i < n; i++) {
				if (!strcmp(a[i], "port") && i + 1 < n)
					port = atoi(a[++i]);
				else if (!strcmp(a[i], "adopted"))
					adopted = 1;
			}
			adopt(a[1], atoi(a[2]), port, adopted, 0);
			continue;
		} else if (!strcmp(a[0], "recv") && n == 3) {
			do_recv(atoi(a[1]), atoi(a[2]));
			continue;
		} else if (!strcmp(a[0], "pending") && n == 2) {
			do_pending(atoi(a[1]));
			continue;
		} else if (!strcmp(a[0], "close") && n == 2) {
			if (close(atoi(a[1])) < 0)
				reply_errno("close");
			else
				printf("ok\n");
			continue;
		} else if (!strcmp(a[0], "churn") && n == 4) {
			do_churn(a[1], atoi(a[2]), a[3]);
			continue;
		} else if (!strcmp(a[0], "quit")) {
			break;
		} else {
			printf("err EINVAL unknown command\n");
			continue;
		}
		if (fd < 0)
			reply_errno("socket");
		else
			printf("ok %d\n", fd);
	}
	veil_nl_close(nl);
	return 0;
}
