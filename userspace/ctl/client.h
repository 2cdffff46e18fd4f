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
#include <stdio.h>

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

#endif /* VEIL_CLIENT_H */
