// SPDX-License-Identifier: GPL-2.0
/*
 * veil enroll: give this device its identity from a one-time token.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"

int do_enroll(int argc, char **argv);

static void enroll_usage(FILE *f)
{
	fprintf(f,
		"Usage: veil enroll [ -d DIR ] [ --force ] TOKEN\n"
		"       veil enroll help\n"
		"where  TOKEN := the one-time token from \"veil-controller enroll add\" (veil1-...)\n"
		"       DIR := where the device keeps key.pem, cert.pem, ca.pem and controller\n"
		"              (default $VEIL_STATE_DIR or %s)\n"
		"--force replaces an identity already in DIR.\n", VEIL_DEVICE_DIR);
}

int do_enroll(int argc, char **argv)
{
	const char *dir = NULL, *token = NULL;
	bool force = false;

	for (; argc > 0; argc--, argv++) {
		if (!strcmp(argv[0], "-d") || !strcmp(argv[0], "--dir") || !strcmp(argv[0], "dir")) {
			if (argc < 2) {
				fprintf(stderr, "Option \"%s\" needs a directory.\n", argv[0]);
				return 1;
			}
			dir = argv[1];
			argc--;
			argv++;
		} else if (!strcmp(argv[0], "--force") || !strcmp(argv[0], "-f") ||
			   !strcmp(argv[0], "force")) {
			force = true;
		} else if (!strcmp(argv[0], "help") || !strcmp(argv[0], "-h") ||
			   !strcmp(argv[0], "--help")) {
			enroll_usage(stdout);
			return 0;
		} else if (!token && argv[0][0] != '-') {
			token = argv[0];
		} else {
			fprintf(stderr, "Argument \"%s\" is unknown, try \"veil enroll help\".\n",
				argv[0]);
			return 1;
		}
	}
	if (!token) {
		enroll_usage(stderr);
		return 1;
	}
	return veil_client_enroll_force(token, dir ? dir : veil_device_dir(), force, stdout,
					stderr);
}
