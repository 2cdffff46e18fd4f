// SPDX-License-Identifier: GPL-2.0
/*
 * dns_send ADDR COUNT: send COUNT copies of one DNS query for
 * n1.example.org to ADDR port 53 from a connected UDP socket, as fast as
 * send() returns, and print the wall-clock nanoseconds per send. With ADDR
 * routed into a dummy device nothing answers: this times the sending
 * path alone, the place where the DNS query hook runs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const unsigned char query[] = {
	0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	2, 'n', '1', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0,
	0x00, 0x01, 0x00, 0x01,
};

int main(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(53) };
	struct timespec t0, t1;
	long count, i;
	char *end;
	int fd;

	if (argc != 3 || inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
		fprintf(stderr, "usage: dns_send IPV4-ADDRESS COUNT\n");
		return 2;
	}
	count = strtol(argv[2], &end, 10);
	if (*end || count <= 0) {
		fprintf(stderr, "dns_send: COUNT must be a positive number, not '%s'\n", argv[2]);
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof(to))) {
		fprintf(stderr, "dns_send: socket to %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < count; i++) {
		if (send(fd, query, sizeof(query), 0) < 0) {
			fprintf(stderr, "dns_send: send: %s\n", strerror(errno));
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.0f\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / count);
	close(fd);
	return 0;
}
