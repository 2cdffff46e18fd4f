// SPDX-License-Identifier: GPL-2.0
/*
 * The organization's CA and the certificates it issues (OpenSSL 3, EVP).
 *
 * Every key is ECDSA P-256. A device certificate carries only what the
 * controller decided (the token's device, owner and role, the CA's
 * organization): the CSR contributes its public key and nothing else.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki.h"

#define CA_DAYS		3650
#define SERVER_DAYS	730
#define BACKDATE_S	300
#define CSR_MAX		16384
#define HOSTS_MAX	16

static int set_err(char *err, int ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int set_err(char *err, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, VEIL_ERR_MAX, fmt, ap);
	va_end(ap);
	return ret;
}

/* "WHAT: OPENSSL REASON" for a failed OpenSSL call; clears its error queue. */
static int ssl_err(char *err, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[160] = "unknown error";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return set_err(err, -EIO, "%s failed: %s", what, buf);
}

static EVP_PKEY *new_key(char *err)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");

	if (!key)
		ssl_err(err, "generating an ECDSA P-256 key");
	return key;
}

static bool is_p256(EVP_PKEY *key)
{
	char group[64];
	size_t len;

	if (!EVP_PKEY_is_a(key, "EC"))
		return false;
	if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
					    sizeof(group), &len))
		return false;
	return !strcmp(group, "prime256v1") || !strcmp(group, "P-256");
}

static int random_serial(X509 *x, char *err)
{
	unsigned char b[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return ssl_err(err, "drawing a random serial");
	b[0] &= 0x7f;	/* positive, and 128 bits of DER at most */
	b[0] |= 0x40;	/* always 32 hex digits */
	bn = BN_bin2bn(b, sizeof(b), NULL);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	return ok ? 0 : ssl_err(err, "setting a certificate serial");
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value, char *err)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	char what[96];
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	ok = ext && X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (ok)
		return 0;
	snprintf(what, sizeof(what), "adding the extension %s = %s", OBJ_nid2sn(nid), value);
	return ssl_err(err, what);
}

static int add_name(X509_NAME *n, int nid, const char *value, char *err)
{
	if (X509_NAME_add_entry_by_NID(n, nid, MBSTRING_UTF8, (const unsigned char *)value,
				       -1, -1, 0))
		return 0;
	return ssl_err(err, "building a certificate subject");
}

/* A certificate for @pub with @subject, signed by @ca_key (self-signed: issuer NULL). */
static X509 *new_cert(EVP_PKEY *pub, X509_NAME *subject, X509 *issuer,
		      int64_t not_before, int64_t not_after, char *err)
{
	X509 *x = X509_new();

	if (!x) {
		ssl_err(err, "allocating a certificate");
		return NULL;
	}
	if (!X509_set_version(x, X509_VERSION_3) || random_serial(x, err) ||
	    !X509_set_subject_name(x, subject) ||
	    !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subject) ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)not_before) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)not_after) ||
	    !X509_set_pubkey(x, pub)) {
		if (!*err)
			ssl_err(err, "filling a certificate");
		X509_free(x);
		return NULL;
	}
	return x;
}

static int sign(X509 *x, EVP_PKEY *key, char *err)
{
	if (X509_sign(x, key, EVP_sha256()) > 0)
		return 0;
	return ssl_err(err, "signing a certificate");
}

/* Open @path for a new file with exactly @mode, whatever the umask. */
static int open_new(const char *path, mode_t mode, char *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);

	if (fd < 0)
		return set_err(err, -errno, "Cannot create %s: %s%s", path, strerror(errno),
			       errno == EEXIST ? " (move it away first)" :
			       " (check the state directory's permissions)");
	if (fchmod(fd, mode) < 0) {
		int e = errno;

		close(fd);
		unlink(path);
		return set_err(err, -e, "Cannot set mode %o on %s: %s", mode, path, strerror(e));
	}
	return fd;
}

/* Write a key or a certificate in PEM (0600: the state directory holds secrets only), fsync'd. */
static int write_pem(const char *path, EVP_PKEY *key, X509 *cert, char *err)
{
	BIO *bio;
	int fd, ok;

	fd = open_new(path, 0600, err);
	if (fd < 0)
		return fd;
	bio = BIO_new_fd(fd, BIO_NOCLOSE);
	ok = bio && (key ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) :
		     PEM_write_bio_X509(bio, cert)) && BIO_flush(bio) == 1;
	BIO_free(bio);
	if (!ok || fsync(fd) < 0) {
		char what[300];

		close(fd);
		unlink(path);
		snprintf(what, sizeof(what), "writing %s", path);
		return ssl_err(err, what);
	}
	if (close(fd) < 0) {
		unlink(path);
		return set_err(err, -errno, "Cannot write %s: %s", path, strerror(errno));
	}
	return 0;
}

static int path_in(char *buf, size_t size, const char *dir, const char *file, char *err)
{
	if ((size_t)snprintf(buf, size, "%s/%s", dir, file) >= size)
		return set_err(err, -ENAMETOOLONG, "The state directory path %s is too long", dir);
	return 0;
}

static bool dns_name_ok(const char *s)
{
	size_t i, len = strlen(s);

	if (!len || len > 253 || s[0] == '.' || s[0] == '-')
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || (c == '*' && i == 0)))
			return false;
	}
	return true;
}

/* "a,b,192.0.2.1" -> "DNS:a,DNS:b,IP:192.0.2.1". */
static int san_of(const char *hosts, char *san, size_t size, char *err)
{
	char list[1024], *save = NULL, *h;
	unsigned char addr[16];
	size_t used = 0;
	int count = 0, len;

	if (!hosts || !*hosts)
		hosts = "localhost";
	if (strlen(hosts) >= sizeof(list))
		return set_err(err, -EINVAL, "The host list is too long (at most %zu characters)",
			       sizeof(list) - 1);
	snprintf(list, sizeof(list), "%s", hosts);
	san[0] = '\0';
	for (h = strtok_r(list, ",", &save); h; h = strtok_r(NULL, ",", &save)) {
		if (++count > HOSTS_MAX)
			return set_err(err, -EINVAL, "Too many hosts (at most %d)", HOSTS_MAX);
		if (inet_pton(AF_INET, h, addr) == 1 || inet_pton(AF_INET6, h, addr) == 1)
			len = snprintf(san + used, size - used, "%sIP:%s", used ? "," : "", h);
		else if (dns_name_ok(h))
			len = snprintf(san + used, size - used, "%sDNS:%s", used ? "," : "", h);
		else
			return set_err(err, -EINVAL, "\"%s\" is neither a host name nor an IP "
				       "address (give --hosts as name,name,address)", h);
		if (len < 0 || (size_t)len >= size - used)
			return set_err(err, -EINVAL, "The host list is too long");
		used += (size_t)len;
	}
	if (!count)
		return set_err(err, -EINVAL, "The host list is empty (give --hosts NAME[,NAME...])");
	return 0;
}

int veil_pki_init(const char *dir, const char *org, const char *hosts, char *err)
{
	char ca_key[4096], ca_crt[4096], srv_key[4096], srv_crt[4096], san[2048], cn[128];
	EVP_PKEY *ckey = NULL, *skey = NULL;
	X509_NAME *name = NULL;
	X509 *ca = NULL, *srv = NULL;
	int64_t now = time(NULL);
	int ret, done = 0;

	err[0] = '\0';
	if (!org || !*org)
		org = "veil";
	if (strlen(org) > 64)
		return set_err(err, -EINVAL, "The organization name is too long (at most 64 characters)");
	if ((ret = path_in(ca_key, sizeof(ca_key), dir, "ca.key", err)) ||
	    (ret = path_in(ca_crt, sizeof(ca_crt), dir, "ca.crt", err)) ||
	    (ret = path_in(srv_key, sizeof(srv_key), dir, "server.key", err)) ||
	    (ret = path_in(srv_crt, sizeof(srv_crt), dir, "server.crt", err)))
		return ret;
	if (!access(ca_key, F_OK) || !access(ca_crt, F_OK))
		return set_err(err, -EEXIST, "A CA already exists in %s: nothing was changed", dir);
	ret = san_of(hosts, san, sizeof(san), err);
	if (ret)
		return ret;

	ret = -EIO;
	ckey = new_key(err);
	skey = ckey ? new_key(err) : NULL;
	if (!skey)
		goto out;

	name = X509_NAME_new();
	snprintf(cn, sizeof(cn), "%s veil CA", org);
	if (!name || add_name(name, NID_organizationName, org, err) ||
	    add_name(name, NID_commonName, cn, err))
		goto out;
	ca = new_cert(ckey, name, NULL, now - BACKDATE_S, now + CA_DAYS * 86400LL, err);
	if (!ca || add_ext(ca, ca, NID_basic_constraints, "critical,CA:TRUE", err) ||
	    add_ext(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign", err) ||
	    add_ext(ca, ca, NID_subject_key_identifier, "hash", err) || sign(ca, ckey, err))
		goto out;
	X509_NAME_free(name);

	name = X509_NAME_new();
	if (!name || add_name(name, NID_organizationName, org, err) ||
	    add_name(name, NID_commonName, "veil-controller", err))
		goto out;
	srv = new_cert(skey, name, ca, now - BACKDATE_S, now + SERVER_DAYS * 86400LL, err);
	if (!srv || add_ext(srv, ca, NID_basic_constraints, "critical,CA:FALSE", err) ||
	    add_ext(srv, ca, NID_key_usage, "critical,digitalSignature", err) ||
	    add_ext(srv, ca, NID_ext_key_usage, "serverAuth", err) ||
	    add_ext(srv, ca, NID_subject_alt_name, san, err) ||
	    add_ext(srv, ca, NID_subject_key_identifier, "hash", err) ||
	    add_ext(srv, ca, NID_authority_key_identifier, "keyid:always", err) ||
	    sign(srv, ckey, err))
		goto out;

	/* Keys first: a certificate without its key is of no use. */
	if ((ret = write_pem(ca_key, ckey, NULL, err)))
		goto out;
	done = 1;
	if ((ret = write_pem(ca_crt, NULL, ca, err)))
		goto out;
	done = 2;
	if ((ret = write_pem(srv_key, skey, NULL, err)))
		goto out;
	done = 3;
	if ((ret = write_pem(srv_crt, NULL, srv, err)))
		goto out;
	done = 4;
	ret = 0;
out:
	if (ret) {
		/* Leave nothing half made: a second init must find a clean slate. */
		if (done >= 3)
			unlink(srv_key);
		if (done >= 2)
			unlink(ca_crt);
		if (done >= 1)
			unlink(ca_key);
		if (!*err)
			set_err(err, ret, "Creating the CA failed");
	}
	X509_NAME_free(name);
	X509_free(ca);
	X509_free(srv);
	EVP_PKEY_free(ckey);
	EVP_PKEY_free(skey);
	return ret;
}

void veil_cert_fingerprint(X509 *cert, char out[VEIL_FPR_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	out[0] = '\0';
	if (!X509_digest(cert, EVP_sha256(), md, &len) || len != 32)
		return;
	for (i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int veil_ca_load(const char *dir, struct veil_ca *ca, char *err)
{
	char key_path[4096], crt_path[4096];
	struct stat sb;
	FILE *f;
	int ret;

	memset(ca, 0, sizeof(*ca));
	err[0] = '\0';
	if ((ret = path_in(key_path, sizeof(key_path), dir, "ca.key", err)) ||
	    (ret = path_in(crt_path, sizeof(crt_path), dir, "ca.crt", err)))
		return ret;

	f = fopen(crt_path, "re");
	if (!f)
		return set_err(err, -errno, "Cannot read the CA certificate %s: %s%s", crt_path,
			       strerror(errno), errno == ENOENT ?
			       " (run \"veil-controller init\" first)" : "");
	ca->cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!ca->cert) {
		ret = ssl_err(err, "reading the CA certificate");
		goto fail;
	}

	f = fopen(key_path, "re");
	if (!f) {
		ret = set_err(err, -errno, "Cannot read the CA key %s: %s%s", key_path,
			      strerror(errno), errno == EACCES ?
			      " (run as the controller's user or root)" : "");
		goto fail;
	}
	if (fstat(fileno(f), &sb) == 0 && (sb.st_mode & 077)) {
		fclose(f);
		ret = set_err(err, -EPERM, "The CA key %s is readable by others (mode %03o): "
			      "run \"chmod 600 %s\" and consider the CA compromised if others "
			      "could read it", key_path, sb.st_mode & 0777, key_path);
		goto fail;
	}
	ca->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!ca->key) {
		ret = ssl_err(err, "reading the CA key");
		goto fail;
	}
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		ERR_clear_error();
		ret = set_err(err, -EINVAL, "%s does not belong to %s: restore the pair from "
			      "a backup", key_path, crt_path);
		goto fail;
	}
	veil_cert_fingerprint(ca->cert, ca->fingerprint);
	return 0;
fail:
	veil_ca_free(ca);
	return ret;
}

void veil_ca_free(struct veil_ca *ca)
{
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	ca->key = NULL;
	ca->cert = NULL;
}

static int64_t asn1_time_unix(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

static bool name_ok(const char *s)
{
	size_t len = strnlen(s, VEIL_NAME_MAX);

	if (!len || len >= VEIL_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* The organization the CA names itself for. */
static void ca_org(X509 *ca, char *org, size_t size)
{
	X509_NAME *n = X509_get_subject_name(ca);
	int idx = X509_NAME_get_index_by_NID(n, NID_organizationName, -1);
	const ASN1_STRING *s = idx >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, idx)) :
			       NULL;

	snprintf(org, size, "%.*s", s ? ASN1_STRING_length(s) : 4,
		 s ? (const char *)ASN1_STRING_get0_data(s) : "veil");
}

static int serial_hex(const ASN1_INTEGER *ai, char out[VEIL_SERIAL_MAX], char *err)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(ai, NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	int ret = 0;

	if (!hex)
		ret = ssl_err(err, "reading a certificate serial");
	else if (strlen(hex) >= VEIL_SERIAL_MAX || hex[0] == '-')
		ret = set_err(err, -EINVAL, "The certificate serial %s is not one veil issues", hex);
	else
		for (size_t i = 0; (out[i] = (char)(hex[i] >= 'A' && hex[i] <= 'F' ?
						   hex[i] - 'A' + 'a' : hex[i])); i++)
			;
	OPENSSL_free(hex);
	BN_free(bn);
	return ret;
}

int veil_ca_sign(const struct veil_ca *ca, const char *csr_pem, const struct veil_token *tok,
		 char **cert_pem, char serial[VEIL_SERIAL_MAX], int64_t *not_after, char *err)
{
	X509_REQ *req = NULL;
	X509_NAME *name = NULL;
	EVP_PKEY *pub;
	X509 *x = NULL;
	BIO *bio = NULL;
	BUF_MEM *mem;
	char org[128];
	int64_t now = time(NULL), end, ca_end;
	size_t len;
	int ret = -EINVAL;

	*cert_pem = NULL;
	err[0] = '\0';
	if (!ca || !ca->key || !ca->cert)
		return set_err(err, -EINVAL, "The CA is not loaded");
	if (!name_ok(tok->device) || !name_ok(tok->owner) ||
	    tok->role > VEIL_ROLE_ADMIN || tok->cert_lifetime <= 0)
		return set_err(err, -EINVAL, "The enrollment token's device, owner, role or "
			       "lifetime is invalid: issue a new token");
	len = csr_pem ? strnlen(csr_pem, CSR_MAX + 1) : 0;
	if (!len || len > CSR_MAX)
		return set_err(err, -EINVAL, "The certificate request is empty or larger than "
			       "%d bytes", CSR_MAX);

	bio = BIO_new_mem_buf(csr_pem, (int)len);
	req = bio ? PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	bio = NULL;
	if (!req) {
		ERR_clear_error();
		return set_err(err, -EINVAL, "The certificate request is not a PEM CSR");
	}
	pub = X509_REQ_get0_pubkey(req);
	if (!pub || !is_p256(pub)) {
		ERR_clear_error();
		ret = set_err(err, -EINVAL, "The certificate request's key is not ECDSA P-256 "
			      "(veil devices use P-256 keys only)");
		goto out;
	}
	if (X509_REQ_verify(req, pub) != 1) {
		ERR_clear_error();
		ret = set_err(err, -EINVAL, "The certificate request's signature does not "
			      "verify (damaged or forged request)");
		goto out;
	}

	end = now + tok->cert_lifetime;
	ca_end = asn1_time_unix(X509_get0_notAfter(ca->cert));
	if (ca_end && end > ca_end)
		end = ca_end;	/* nothing outlives its CA */
	if (end <= now) {
		ret = set_err(err, -EINVAL, "The CA has expired: no certificate can be issued");
		goto out;
	}

	ca_org(ca->cert, org, sizeof(org));
	name = X509_NAME_new();
	if (!name || add_name(name, NID_organizationName, org, err) ||
	    add_name(name, NID_organizationalUnitName, veil_role_name(tok->role), err) ||
	    add_name(name, NID_userId, tok->owner, err) ||
	    add_name(name, NID_commonName, tok->device, err)) {
		ret = -EIO;
		goto out;
	}
	x = new_cert(pub, name, ca->cert, now - BACKDATE_S, end, err);
	if (!x || add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE", err) ||
	    add_ext(x, ca->cert, NID_key_usage, "critical,digitalSignature", err) ||
	    add_ext(x, ca->cert, NID_ext_key_usage, "clientAuth", err) ||
	    add_ext(x, ca->cert, NID_subject_key_identifier, "hash", err) ||
	    add_ext(x, ca->cert, NID_authority_key_identifier, "keyid:always", err) ||
	    sign(x, ca->key, err)) {
		ret = -EIO;
		goto out;
	}
	ret = serial_hex(X509_get0_serialNumber(x), serial, err);
	if (ret)
		goto out;

	bio = BIO_new(BIO_s_mem());
	if (!bio || !PEM_write_bio_X509(bio, x)) {
		ret = ssl_err(err, "encoding the certificate");
		goto out;
	}
	BIO_get_mem_ptr(bio, &mem);
	*cert_pem = malloc(mem->length + 1);
	if (!*cert_pem) {
		ret = set_err(err, -ENOMEM, "Out of memory while issuing a certificate");
		goto out;
	}
	memcpy(*cert_pem, mem->data, mem->length);
	(*cert_pem)[mem->length] = '\0';
	*not_after = asn1_time_unix(X509_get0_notAfter(x));
	ret = 0;
out:
	BIO_free(bio);
	X509_free(x);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return ret;
}

/* The one entry of @nid in @n, as a NUL-free string. */
static int name_entry(X509_NAME *n, int nid, char *out, size_t size, const char *what, char *err)
{
	int idx = X509_NAME_get_index_by_NID(n, nid, -1);
	const ASN1_STRING *s;
	unsigned char *utf8 = NULL;
	int len;

	if (idx < 0)
		return set_err(err, -EINVAL, "The certificate names no %s", what);
	if (X509_NAME_get_index_by_NID(n, nid, idx) >= 0)
		return set_err(err, -EINVAL, "The certificate names more than one %s", what);
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, idx));
	len = ASN1_STRING_to_UTF8(&utf8, s);
	if (len < 0) {
		ERR_clear_error();
		return set_err(err, -EINVAL, "The certificate's %s is not text", what);
	}
	if (!len || (size_t)len >= size || memchr(utf8, '\0', (size_t)len)) {
		OPENSSL_free(utf8);
		return set_err(err, -EINVAL, "The certificate's %s is empty or too long", what);
	}
	memcpy(out, utf8, (size_t)len);
	out[len] = '\0';
	OPENSSL_free(utf8);
	return 0;
}

int veil_cert_identity(X509 *cert, struct veil_cert_id *id, char *err)
{
	X509_NAME *n;
	char role[16];
	int ret;

	memset(id, 0, sizeof(*id));
	err[0] = '\0';
	if (!cert)
		return set_err(err, -EINVAL, "No certificate");
	n = X509_get_subject_name(cert);
	if ((ret = name_entry(n, NID_commonName, id->device, sizeof(id->device), "device (CN)", err)) ||
	    (ret = name_entry(n, NID_userId, id->owner, sizeof(id->owner), "owner (UID)", err)) ||
	    (ret = name_entry(n, NID_organizationalUnitName, role, sizeof(role), "role (OU)", err)))
		return ret;
	if (veil_role_parse(role, &id->role))
		return set_err(err, -EINVAL, "The certificate's role \"%s\" is not client, "
			       "server or admin", role);
	ret = serial_hex(X509_get0_serialNumber(cert), id->serial, err);
	if (ret)
		return ret;
	id->not_after = asn1_time_unix(X509_get0_notAfter(cert));
	return 0;
}
