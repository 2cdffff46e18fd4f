// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the CA (userspace/controller/pki.c) in a scratch directory:
 * the files and their modes, the CA and server certificates' extensions,
 * device certificates issued from CSRs (and refused for a wrong key type or a
 * forged signature), and the identity read back. KTAP output.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki.h"
#include "ktap.h"

#define PLAN 34

static char dir[64];

static mode_t mode_of(const char *file)
{
	char p[160];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	return stat(p, &sb) ? (mode_t)-1 : sb.st_mode & 0777;
}

static X509 *read_cert(const char *file)
{
	char p[160];
	FILE *f;
	X509 *x;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	f = fopen(p, "r");
	if (!f)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

static X509 *cert_of_pem(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return x;
}

/* A PEM CSR for @key, with subject CN=@cn, signed by @signer. */
static char *make_csr(EVP_PKEY *key, EVP_PKEY *signer, const char *cn)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	BIO *b = BIO_new(BIO_s_mem());
	BUF_MEM *mem;
	char *pem = NULL;

	X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_REQ_set_subject_name(req, name);
	X509_REQ_set_pubkey(req, key);
	if (X509_REQ_sign(req, signer, EVP_sha256()) > 0 && PEM_write_bio_X509_REQ(b, req)) {
		BIO_get_mem_ptr(b, &mem);
		pem = strndup(mem->data, mem->length);
	}
	BIO_free(b);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return pem;
}

static bool has_san(X509 *x, const char *want)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	bool found = false;
	int i;

	for (i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_STRING *s = NULL;

		if (g->type == GEN_DNS)
			s = g->d.dNSName;
		else if (g->type == GEN_IPADD && !strcmp(want, "192.0.2.7"))
			found |= g->d.iPAddress->length == 4 &&
				 !memcmp(g->d.iPAddress->data, "\xc0\x00\x02\x07", 4);
		if (s && (size_t)ASN1_STRING_length(s) == strlen(want) &&
		    !memcmp(ASN1_STRING_get0_data(s), want, strlen(want)))
			found = true;
	}
	GENERAL_NAMES_free(gens);
	return found;
}

/* Does @x chain to @ca for TLS client use? */
static bool verifies(X509 *x, X509 *ca, int purpose)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	bool ok;

	X509_STORE_add_cert(store, ca);
	X509_STORE_CTX_init(ctx, store, x, NULL);
	X509_STORE_CTX_set_purpose(ctx, purpose);
	ok = X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

static int64_t unix_of(const ASN1_TIME *t)
{
	struct tm tm;

	return ASN1_TIME_to_tm(t, &tm) ? (int64_t)timegm(&tm) : 0;
}

static void test_init(void)
{
	char err[VEIL_ERR_MAX], p[160];
	struct stat before, after;
	X509 *ca, *srv;
	int64_t now = time(NULL);

	umask(0);
	CHECK(veil_pki_init(dir, "example", "ctl.example.com,192.0.2.7", err) == 0,
	      "init creates the CA and the server certificate");
	CHECK(mode_of("ca.key") == 0600 && mode_of("server.key") == 0600,
	      "key files are 0600 even with umask 0");
	CHECK(mode_of("ca.crt") == 0600 && mode_of("server.crt") == 0600,
	      "certificate files are 0600 too");
	snprintf(p, sizeof(p), "%s/ca.key", dir);
	stat(p, &before);
	CHECK(veil_pki_init(dir, "other", "x", err) == -EEXIST && strstr(err, "already"),
	      "a second init is refused");
	CHECK(stat(p, &after) == 0 && before.st_ino == after.st_ino &&
	      before.st_mtime == after.st_mtime, "and the CA key is untouched");

	ca = read_cert("ca.crt");
	srv = read_cert("server.crt");
	CHECK(ca && X509_check_ca(ca) == 1 &&
	      X509_get_extension_flags(ca) & EXFLAG_CA &&
	      X509_get_key_usage(ca) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN),
	      "the CA has CA:TRUE and keyCertSign+cRLSign only");
	CHECK(ca && X509_get_ext_by_critical(ca, 1, -1) >= 0 &&
	      X509_EXTENSION_get_critical(X509_get_ext(ca, X509_get_ext_by_NID(ca, NID_basic_constraints, -1))),
	      "basicConstraints is critical");
	CHECK(ca && unix_of(X509_get0_notAfter(ca)) > now + 3649LL * 86400 &&
	      unix_of(X509_get0_notAfter(ca)) < now + 3651LL * 86400, "the CA lasts 10 years");
	CHECK(ca && EVP_PKEY_is_a(X509_get0_pubkey(ca), "EC") && X509_verify(ca, X509_get0_pubkey(ca)) == 1,
	      "the CA is a self-signed EC certificate");
	CHECK(srv && ca && verifies(srv, ca, X509_PURPOSE_SSL_SERVER) &&
	      X509_get_extended_key_usage(srv) == XKU_SSL_SERVER && X509_check_ca(srv) == 0,
	      "the server certificate chains to the CA for serverAuth only");
	CHECK(srv && has_san(srv, "ctl.example.com") && has_san(srv, "192.0.2.7") &&
	      X509_check_host(srv, "ctl.example.com", 0, 0, NULL) == 1,
	      "the server certificate names --hosts (DNS and IP)");
	CHECK(srv && unix_of(X509_get0_notAfter(srv)) < now + 731LL * 86400 &&
	      unix_of(X509_get0_notAfter(srv)) > now + 729LL * 86400, "it lasts 2 years");
	X509_free(ca);
	X509_free(srv);

	snprintf(p, sizeof(p), "%s/bad", dir);
	mkdir(p, 0700);
	CHECK(veil_pki_init(p, "x", "ok.example,bad host", err) == -EINVAL &&
	      strstr(err, "bad host") && access(strcat(p, "/ca.key"), F_OK) < 0,
	      "a bad host name is refused before anything is written");
}

static void test_sign(void)
{
	char err[VEIL_ERR_MAX], serial[VEIL_SERIAL_MAX], serial2[VEIL_SERIAL_MAX], p[160];
	struct veil_cert_id id;
	struct veil_token tok;
	struct veil_ca ca;
	EVP_PKEY *dev, *other, *rsa, *p384;
	char *csr, *pem = NULL, *pem2 = NULL;
	int64_t not_after = 0, not_after2, now = time(NULL);
	X509 *x = NULL;
	unsigned char md[32], *der = NULL;
	char hex[65];
	int len, i;

	CHECK(veil_ca_load(dir, &ca, err) == 0 && strlen(ca.fingerprint) == 64,
	      "the CA loads with its fingerprint");
	len = i2d_X509(ca.cert, &der);
	EVP_Digest(der, (size_t)len, md, NULL, EVP_sha256(), NULL);
	OPENSSL_free(der);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	CHECK(!strcmp(hex, ca.fingerprint), "the fingerprint is SHA-256 of the DER, lower-case hex");

	memset(&tok, 0, sizeof(tok));
	snprintf(tok.device, sizeof(tok.device), "laptop1");
	snprintf(tok.owner, sizeof(tok.owner), "alice");
	tok.role = VEIL_ROLE_ADMIN;
	tok.cert_lifetime = 90 * 86400;

	dev = EVP_EC_gen("P-256");
	other = EVP_EC_gen("P-256");
	csr = make_csr(dev, dev, "evil-name");
	CHECK(csr && veil_ca_sign(&ca, csr, &tok, &pem, serial, &not_after, err) == 0 && pem,
	      "a P-256 CSR is signed");
	x = pem ? cert_of_pem(pem) : NULL;
	CHECK(x && verifies(x, ca.cert, X509_PURPOSE_SSL_CLIENT) &&
	      X509_get_extended_key_usage(x) == XKU_SSL_CLIENT && X509_check_ca(x) == 0,
	      "the device certificate chains to the CA for clientAuth only");
	CHECK(x && veil_cert_identity(x, &id, err) == 0 && !strcmp(id.device, "laptop1") &&
	      !strcmp(id.owner, "alice") && id.role == VEIL_ROLE_ADMIN &&
	      !strcmp(id.serial, serial) && id.not_after == not_after,
	      "identity round trip: device, owner, role, serial, expiry");
	CHECK(x && X509_NAME_get_index_by_NID(X509_get_subject_name(x), NID_organizationName, -1) >= 0 &&
	      X509_check_host(x, "evil-name", 0, 0, NULL) != 1,
	      "the CSR's subject is ignored, the organization is the CA's");
	CHECK(strlen(serial) == 32 && strspn(serial, "0123456789abcdef") == 32,
	      "the serial is 128 bits in lower-case hex");
	CHECK(not_after >= now + 90 * 86400 - 5 && not_after <= now + 90 * 86400 + 5,
	      "the certificate lasts the token's lifetime");
	CHECK(x && unix_of(X509_get0_notBefore(x)) <= now - 299 &&
	      unix_of(X509_get0_notBefore(x)) >= now - 310, "notBefore is five minutes back");
	X509_free(x);
	x = NULL;

	tok.cert_lifetime = 100LL * 365 * 86400;
	CHECK(veil_ca_sign(&ca, csr, &tok, &pem2, serial2, &not_after2, err) == 0 &&
	      strcmp(serial, serial2) && not_after2 == unix_of(X509_get0_notAfter(ca.cert)),
	      "a second certificate has another serial; none outlives the CA");
	free(pem2);
	free(csr);
	tok.cert_lifetime = 86400;

	rsa = EVP_RSA_gen(2048);
	csr = make_csr(rsa, rsa, "r");
	pem2 = NULL;
	CHECK(csr && veil_ca_sign(&ca, csr, &tok, &pem2, serial2, &not_after2, err) == -EINVAL &&
	      !pem2 && strstr(err, "P-256"), "a CSR with an RSA key is refused");
	free(csr);
	p384 = EVP_EC_gen("P-384");
	csr = make_csr(p384, p384, "r");
	CHECK(csr && veil_ca_sign(&ca, csr, &tok, &pem2, serial2, &not_after2, err) == -EINVAL &&
	      strstr(err, "P-256"), "a CSR with a P-384 key is refused");
	free(csr);
	csr = make_csr(dev, other, "r");
	CHECK(csr && veil_ca_sign(&ca, csr, &tok, &pem2, serial2, &not_after2, err) == -EINVAL &&
	      strstr(err, "signature"), "a forged CSR (signed by another key) is refused");
	free(csr);
	CHECK(veil_ca_sign(&ca, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
			   &tok, &pem2, serial2, &not_after2, err) == -EINVAL && strstr(err, "not a PEM"),
	      "a damaged CSR is refused");
	CHECK(veil_ca_sign(&ca, "", &tok, &pem2, serial2, &not_after2, err) == -EINVAL,
	      "an empty CSR is refused");
	csr = make_csr(dev, dev, "r");
	snprintf(tok.device, sizeof(tok.device), "bad\nname");
	CHECK(veil_ca_sign(&ca, csr, &tok, &pem2, serial2, &not_after2, err) == -EINVAL,
	      "a control character in the device name is refused");
	free(csr);

	/* A certificate that is not veil's: no UID, or an unknown role. */
	x = X509_new();
	X509_NAME_add_entry_by_NID(X509_get_subject_name(x), NID_commonName, MBSTRING_UTF8,
				   (const unsigned char *)"web", -1, -1, 0);
	CHECK(veil_cert_identity(x, &id, err) == -EINVAL && strstr(err, "UID"),
	      "a certificate without an owner is refused");
	X509_NAME_add_entry_by_NID(X509_get_subject_name(x), NID_userId, MBSTRING_UTF8,
				   (const unsigned char *)"bob", -1, -1, 0);
	X509_NAME_add_entry_by_NID(X509_get_subject_name(x), NID_organizationalUnitName,
				   MBSTRING_UTF8, (const unsigned char *)"root", -1, -1, 0);
	CHECK(veil_cert_identity(x, &id, err) == -EINVAL && strstr(err, "root"),
	      "a certificate with an unknown role is refused");
	X509_NAME_add_entry_by_NID(X509_get_subject_name(x), NID_commonName, MBSTRING_UTF8,
				   (const unsigned char *)"web2", -1, -1, 0);
	CHECK(veil_cert_identity(x, &id, err) == -EINVAL && strstr(err, "more than one"),
	      "a certificate with two CNs is refused");
	X509_free(x);

	veil_ca_free(&ca);
	snprintf(p, sizeof(p), "%s/ca.key", dir);
	chmod(p, 0644);
	CHECK(veil_ca_load(dir, &ca, err) == -EPERM && strstr(err, "chmod 600") && !ca.key,
	      "a CA key readable by others is refused");
	chmod(p, 0600);
	snprintf(p, sizeof(p), "%s/none", dir);
	CHECK(veil_ca_load(p, &ca, err) == -ENOENT && strstr(err, "init"),
	      "a missing CA says to run init");

	free(pem);
	EVP_PKEY_free(dev);
	EVP_PKEY_free(other);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(p384);
}

int main(void)
{
	char cmd[128];

	ktap_plan(PLAN);
	snprintf(dir, sizeof(dir), "/tmp/veil-pki-test.XXXXXX");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_init();
	test_sign();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		printf("# could not remove %s\n", dir);
	return ktap_done_planned(PLAN);
}
