/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Client side of the control protocol, shared by `veil enroll`, veild,
 * remote admin commands and the tests: TLS 1.3 to the controller, framed
 * protobuf messages (veil.proto).
 *
 * A device keeps its identity in a state directory (default /var/lib/veil,
 * or $VEIL_STATE_DIR): key.pem (0600), cert.pem, ca.pem, controller (the
 * controller's address, one line).
 */
#ifndef VEIL_CLIENT_H
#define VEIL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "frame.h"

#define VEIL_DEVICE_DIR		"/var/lib/veil"

/* The device state directory: $VEIL_STATE_DIR or VEIL_DEVICE_DIR. */
const char *veil_device_dir(void);

/*
 * Enroll this device with @token: generate the key here, send a CSR over TLS
 * pinned to the token's CA fingerprint, store key, certificate, CA and
 * controller address in @dir. Returns 0 or an exit status, with a message
 * on @err.
 */
int veil_client_enroll(const char *token, const char *dir, FILE *out, FILE *err);

/*
 * Run an admin command on a remote controller through an admin session
 * authenticated by the device identity in @dir (NULL: veil_device_dir()).
 * @addr NULL: the controller address stored in @dir. Prints what the
 * controller printed; returns its exit status.
 */
int veil_client_admin(const char *addr, const char *dir, int argc, char **argv, bool json,
		      FILE *out, FILE *err);

/* veil_client_enroll() that replaces an identity already in @dir when @force. */
int veil_client_enroll_force(const char *token, const char *dir, bool force, FILE *out, FILE *err);

/*
 * A session to the controller: TLS 1.3 plus framing over a non-blocking
 * socket. The functions below block (poll) up to the timeout they are
 * given; an event loop can instead watch veil_session_fd() and call them
 * with a timeout of 0 when the socket is ready.
 */
struct veil_session;

/*
 * Open a session with the device identity in @dir (key.pem, cert.pem,
 * ca.pem) to @addr (NULL: the address in DIR/controller). The controller's
 * certificate must chain to ca.pem and name the address's host. Returns 0,
 * or a negative errno with the reason printed on @err.
 */
int veil_session_open(const char *addr, const char *dir, int timeout_ms,
		      struct veil_session **out, FILE *err);
/*
 * Open a TLS session without a client certificate (enrollment) to @addr; the
 * controller's certificate must chain to a CA whose SHA-256 fingerprint is
 * @ca_fpr and name the address's host. *ca_pem gets that CA (malloc'd).
 */
int veil_session_open_pinned(const char *addr, const char *ca_fpr, int timeout_ms,
			     struct veil_session **out, char **ca_pem, FILE *err);
void veil_session_close(struct veil_session *s);
int veil_session_fd(const struct veil_session *s);
/* Largest frame body accepted from the controller (default VEIL_FRAME_MAX). */
void veil_session_set_max(struct veil_session *s, size_t max);

/* Frame and send @m, waiting up to @timeout_ms for the socket. */
int veil_session_send(struct veil_session *s, const Veil__Message *m, int timeout_ms, FILE *err);
/* Send bytes as they are (tests: malformed frames). */
int veil_session_send_raw(struct veil_session *s, const void *buf, size_t len, int timeout_ms,
			  FILE *err);
/*
 * Receive one message. Returns 0 with *m (free with veil_msg_free()),
 * -ETIMEDOUT, -ECONNRESET when the controller closed the session, or another
 * negative errno; errors other than the timeout are printed on @err.
 */
int veil_session_recv(struct veil_session *s, int timeout_ms, Veil__Message **m, FILE *err);

/* Send @m and wait for a reply of body @want, skipping PolicyUpdate and acks. */
int veil_session_request(struct veil_session *s, const Veil__Message *m, int want,
			 int timeout_ms, Veil__Message **reply, FILE *err);

/* Fill a Hello with this host's posture (uname); strings are static. */
void veil_hello_init(Veil__Hello *h);

#endif /* VEIL_CLIENT_H */
