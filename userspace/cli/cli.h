/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VEIL_CLI_H
#define VEIL_CLI_H

#include <stdbool.h>

#include "nl.h"

struct veil_cli_opts {
	bool json;
	bool pretty;
	const char *netns;
};

extern struct veil_cli_opts veil_opts;

/* True when @arg is a non-empty prefix of @word (ip-style abbreviations). */
bool matches(const char *arg, const char *word);

/* Open the netlink client, or print why not and return NULL. */
struct veil_nl *veil_cli_nl_open(void);

/* Print "Error: ..." for a failed request, with the kernel's own reason. */
void veil_cli_nl_error(struct veil_nl *nl, int err, const char *what);

/* True when @name can name a network device; else print why not. */
bool veil_cli_ifname_ok(const char *name);

/* Objects. Each returns the process exit code. */
int do_link(int argc, char **argv);
int do_monitor(int argc, char **argv);
int do_peer(int argc, char **argv);
int do_zone(int argc, char **argv);
int do_cache(int argc, char **argv);

#endif /* VEIL_CLI_H */
