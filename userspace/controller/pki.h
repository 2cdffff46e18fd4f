/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The organization's CA (ECDSA P-256) and the certificates it issues.
 *
 * A veil certificate names its device in the subject's CN, the device's owner
 * in the subject's UID (userId) and its role (client, server, admin) in the
 * subject's OU. Files under the state directory:
 *
 *   ca.key ca.crt            the organization CA (key mode 0600)
 *   server.key server.crt    the controller's TLS certificate (key 0600)
 *   controller.db            the store (0600)
 *
 * Errors are returned as a negative errno with a message in @err (size
 * VEIL_ERR_MAX) that says what failed and what to do.
 */
#ifndef VEIL_PKI_H
#define VEIL_PKI_H

#include <stdint.h>
#include <openssl/types.h>
#include "store.h"

#define VEIL_ERR_MAX		256
#define VEIL_FPR_LEN		64	/* SHA-256 of the CA certificate (DER), hex */

struct veil_ca {
	EVP_PKEY *key;
	X509 *cert;
	char fingerprint[VEIL_FPR_LEN + 1];
};

/*
 * Create the CA and the controller's server certificate (with @hosts as
 * subjectAltNames: DNS names or IP addresses, comma-separated) in @dir.
 * -EEXIST if a CA is already there.
 */
int veil_pki_init(const char *dir, const char *org, const char *hosts, char *err);
int veil_ca_load(const char *dir, struct veil_ca *ca, char *err);
void veil_ca_free(struct veil_ca *ca);

/*
 * Verify @csr_pem (its self-signature, an EC P-256 key) and issue a
 * certificate for @tok's device, owner and role, valid for
 * tok->cert_lifetime seconds. *cert_pem is malloc'd; *serial is hex.
 */
int veil_ca_sign(const struct veil_ca *ca, const char *csr_pem, const struct veil_token *tok,
		 char **cert_pem, char serial[VEIL_SERIAL_MAX], int64_t *not_after, char *err);

/* Identity read from a peer certificate the TLS layer already verified. */
struct veil_cert_id {
	char device[VEIL_NAME_MAX];
	char owner[VEIL_NAME_MAX];
	enum veil_role role;
	char serial[VEIL_SERIAL_MAX];
	int64_t not_after;
};
int veil_cert_identity(X509 *cert, struct veil_cert_id *id, char *err);

/* SHA-256 fingerprint of a certificate's DER encoding, lower-case hex. */
void veil_cert_fingerprint(X509 *cert, char out[VEIL_FPR_LEN + 1]);

#endif /* VEIL_PKI_H */
