/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The controller's server: one sd-event loop holding every node's mTLS
 * session, the enrollment exchange, brokering and admin sessions.
 */
#ifndef VEIL_SERVER_H
#define VEIL_SERVER_H

#include <stdbool.h>
#include <stdio.h>

struct veil_server_config {
	const char *state_dir;		/* CA, server certificate, controller.db */
	const char *listen;		/* "host:port", "[v6]:port"; default "[::]:4443" */
	unsigned int heartbeat_s;	/* default 15 */
	unsigned int idle_s;		/* no message for this long: cut (default 45) */
	unsigned int handshake_s;	/* TLS handshake must finish in (default 10) */
	size_t max_message;		/* bytes; larger closes the session (default 64 KiB) */
	unsigned int max_sessions;	/* default 20000 */
};

/* Serve until SIGTERM/SIGINT. Returns an exit status. */
int veil_server_run(const struct veil_server_config *cfg);

/*
 * Tell a running controller (its datagram socket STATE_DIR/control.sock)
 * that the store changed: it reloads policy and revocations at once.
 * Returns 0, or -ENOENT/-ECONNREFUSED when no controller runs (not an error
 * for the caller: the next start reads the store).
 */
int veil_server_notify(const char *state_dir);

/* Print the running controller's sessions (for local "session list"). */
int veil_server_query_sessions(const char *state_dir, bool json, FILE *out, FILE *err);

#endif /* VEIL_SERVER_H */
