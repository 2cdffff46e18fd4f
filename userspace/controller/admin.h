/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Admin commands, shared by the local command line (on the store) and by
 * admin sessions over mTLS (the server runs the same function on its own
 * store and returns what it printed).
 */
#ifndef VEIL_ADMIN_H
#define VEIL_ADMIN_H

#include <stdbool.h>
#include <stdio.h>
#include "store.h"

struct veil_admin_ctx {
	struct veil_store *store;
	const char *state_dir;
	bool json;		/* -j: JSON output */
	bool remote;		/* run for an admin session: no local-only commands */
	const char *actor;	/* who asked (admin device name, or "local") */
	bool changed;		/* set when state changed: the server reloads */
	/*
	 * For remote "policy check|load FILE": the file's content, sent by
	 * the admin's client; FILE then only names it in messages.
	 */
	const char *input;
	size_t input_len;
};

/*
 * Run one admin command: "device list|show NAME|revoke NAME", "app list",
 * "policy show|check FILE|load FILE", "audit show [--since T] [--device D]",
 * "enroll add NAME --owner U --role R [--groups a,b] [--expires 24h]",
 * "session list" (answered by the server; locally it asks the running
 * controller). Output to @out, errors to @err. Returns an exit status.
 */
int veil_admin_exec(struct veil_admin_ctx *ctx, int argc, char **argv, FILE *out, FILE *err);

#endif /* VEIL_ADMIN_H */
