// SPDX-License-Identifier: GPL-2.0
/*
 * veil: the ip-style administration command for veil.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "print.h"

#ifndef VEIL_VERSION
#define VEIL_VERSION "0.1.0"
#endif

struct veil_cli_opts veil_opts;

static int do_help(int argc, char **argv);
int do_enroll(int argc, char **argv);	/* enroll.c */

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} objects[] = {
	{ "link", do_link },
	{ "peer", do_peer },
	{ "zone", do_zone },
	{ "cache", do_cache },
	{ "monitor", do_monitor },
	{ "enroll", do_enroll },
	{ "help", do_help },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: veil [ OPTIONS ] OBJECT { COMMAND | help }\n"
		"       veil [ OPTIONS ] -b[atch] FILE\n"
		"where  OBJECT := { link | peer | zone | cache | monitor | enroll | help }\n"
		"       OPTIONS := { -V[ersion] | -j[son] | -p[retty] | -n[etns] NAME |\n"
		"                    -f[orce] | -h[elp] }\n");
}

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

bool matches(const char *arg, const char *word)
{
	size_t len = strlen(arg);

	return len && len <= strlen(word) && !strncmp(arg, word, len);
}

bool veil_cli_ifname_ok(const char *name)
{
	if (*name && strlen(name) < IFNAMSIZ)
		return true;
	fprintf(stderr, "\"%s\" is not a valid device name (1 to %d characters).\n", name,
		IFNAMSIZ - 1);
	return false;
}

/* Enter the named network namespace, as "ip netns exec" would see it. */
static int enter_netns(const char *name)
{
	char path[4096];
	int fd;

	if (strchr(name, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "Cannot open network namespace \"%s\": %s\n", name,
			strerror(errno));
		return -1;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "Failed to enter network namespace \"%s\": %s\n", name,
			strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

struct veil_nl *veil_cli_nl_open(void)
{
	struct veil_nl *nl = veil_nl_open();

	if (nl)
		return nl;
	if (errno == ENOENT)
		fprintf(stderr, "Error: the veil kernel module is not loaded "
			"(load it with \"modprobe veil\" as root).\n");
	else
		fprintf(stderr, "Error: cannot open a netlink socket to veil: %s.\n",
			strerror(errno));
	return NULL;
}

void veil_cli_nl_error(struct veil_nl *nl, int err, const char *what)
{
	const char *msg = veil_nl_errmsg(nl);

	if (err == -EPERM && !msg)
		msg = "Operation not permitted: veil needs CAP_NET_ADMIN (run it as root)";
	if (msg)
		fprintf(stderr, "Error: %s.\n", msg);
	else
		fprintf(stderr, "Error: %s: %s.\n", what, strerror(-err));
}

/* Run one command: OBJECT COMMAND ARGS... */
static int run(int argc, char **argv)
{
	size_t i;
	int ret;

	for (i = 0; i < sizeof(objects) / sizeof(objects[0]); i++) {
		if (matches(argv[0], objects[i].name)) {
			veil_print_start(veil_opts.json, veil_opts.pretty);
			ret = objects[i].fn(argc - 1, argv + 1);
			if (ret)
				veil_print_discard();
			else
				veil_print_end();
			return ret;
		}
	}
	fprintf(stderr, "Object \"%s\" is unknown, try \"veil help\".\n", argv[0]);
	return 1;
}

#define BATCH_ARGS	256

/*
 * Split a batch line into words in place: blanks separate words, "..." and
 * '...' quote, '#' outside quotes starts a comment. Returns the word count
 * or -1 (with @why) for an unterminated quote or too many words.
 */
static int split_line(char *line, char **argv, const char **why)
{
	char *r = line, *w = line, quote;
	int argc = 0;

	for (;;) {
		while (*r == ' ' || *r == '\t' || *r == '\n' || *r == '\r')
			r++;
		if (!*r || *r == '#')
			return argc;
		if (argc == BATCH_ARGS - 1) {
			*why = "too many words";
			return -1;
		}
		argv[argc++] = w;
		while (*r && *r != ' ' && *r != '\t' && *r != '\n' && *r != '\r') {
			if (*r == '"' || *r == '\'') {
				quote = *r++;
				while (*r && *r != quote)
					*w++ = *r++;
				if (!*r) {
					*why = "unterminated quote";
					return -1;
				}
				r++;
				continue;
			}
			*w++ = *r++;
		}
		if (*r)
			r++;
		*w++ = '\0';
		argv[argc] = NULL;
	}
}

/*
 * Run every line of @path ("-" for standard input) as a command. Stops at
 * the first failing line unless -force; says which line failed.
 */
static int batch(const char *path, bool force)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *line = NULL, *argv[BATCH_ARGS];
	const char *why;
	unsigned int lineno = 0, failed = 0;
	size_t size = 0;
	int argc, ret = 0;

	if (!f) {
		fprintf(stderr, "Cannot open batch file \"%s\": %s\n", path, strerror(errno));
		return 1;
	}
	while (getline(&line, &size, f) >= 0) {
		lineno++;
		argc = split_line(line, argv, &why);
		if (argc < 0) {
			fprintf(stderr, "Batch file \"%s\", line %u: %s.\n", path, lineno, why);
			ret = 1;
		} else if (argc && (run(argc, argv) | fflush(stdout))) {
			fprintf(stderr, "Batch file \"%s\", line %u failed.\n", path, lineno);
			ret = 1;
		}
		if (ret && !force)
			break;
		failed += ret;
		ret = 0;
	}
	if (ferror(f)) {
		fprintf(stderr, "Cannot read batch file \"%s\": %s\n", path, strerror(errno));
		ret = 1;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return ret || failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *opt, *batch_file = NULL;
	bool force = false;

	while (argc > 1 && argv[1][0] == '-') {
		opt = argv[1] + 1;
		if (*opt == '-')	/* accept --json as well as -json */
			opt++;
		if (matches(opt, "json")) {
			veil_opts.json = true;
		} else if (matches(opt, "pretty")) {
			veil_opts.pretty = true;
		} else if (matches(opt, "netns")) {
			if (argc < 3) {
				fprintf(stderr, "Option \"%s\" needs a namespace name.\n", argv[1]);
				return 1;
			}
			veil_opts.netns = argv[2];
			argc--;
			argv++;
		} else if (matches(opt, "batch")) {
			if (argc < 3) {
				fprintf(stderr, "Option \"%s\" needs a file name (\"-\" for standard input).\n",
					argv[1]);
				return 1;
			}
			batch_file = argv[2];
			argc--;
			argv++;
		} else if (matches(opt, "force")) {
			force = true;
		} else if (matches(opt, "Version")) {
			printf("veil " VEIL_VERSION "\n");
			return 0;
		} else if (matches(opt, "help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "Option \"%s\" is unknown, try \"veil help\".\n", argv[1]);
			return 1;
		}
		argc--;
		argv++;
	}

	if (argc < 2 && !batch_file) {
		usage(stderr);
		return 1;
	}
	if (batch_file && argc > 1) {
		fprintf(stderr, "A batch file and a command on the command line: give one or the other.\n");
		return 1;
	}
	if (veil_opts.netns && enter_netns(veil_opts.netns) < 0)
		return 1;
	if (batch_file)
		return batch(batch_file, force);
	return run(argc - 1, argv + 1);
}
