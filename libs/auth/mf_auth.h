/*
 * mf_auth: the only place that calls libsodium. Password hashes (Argon2id),
 * refresh tokens (32 random bytes, base64url, stored as BLAKE2b-256) and
 * constant-time comparisons.
 *
 * Argon2id at the INTERACTIVE level holds 64 MiB and a core for ~130 ms,
 * so the number of hashes running at once is capped (callers beyond the
 * cap wait their turn).
 */
#ifndef MF_AUTH_H
#define MF_AUTH_H

#include <stddef.h>

#define MF_AUTH_HASH_MAX     128 /* buffer for a stored password hash */
#define MF_AUTH_TOKEN_LEN    43  /* characters of a refresh token */
#define MF_AUTH_DIGEST_LEN   32  /* bytes of a refresh token's hash */
#define MF_AUTH_PASSWORD_MIN 10  /* characters (bytes) of a password */
#define MF_AUTH_PASSWORD_MAX 1024

/*
 * Initialises libsodium, the concurrency cap (max_hashes >= 1) and a dummy
 * hash that verification of an unknown user runs against, so that such a
 * login costs the same time. Returns 0 or -1. Call once, before threads.
 */
int mf_auth_init(int max_hashes);

/*
 * Hashes password (len bytes, MF_AUTH_PASSWORD_MIN..MAX) with Argon2id
 * into out (MF_AUTH_HASH_MAX bytes, NUL-terminated). Returns 0, -1 when
 * the length is out of range or hashing failed (out zeroed).
 */
int mf_auth_hash_password(const char *password, size_t len, char *out);

/*
 * Checks password against stored (a string from mf_auth_hash_password).
 * stored NULL means "no such user": the dummy hash is checked instead and
 * the answer is always -1, in about the same time. Returns 0 on a match.
 */
int mf_auth_verify_password(const char *stored, const char *password,
                            size_t len);

/*
 * Makes a new refresh token: token (MF_AUTH_TOKEN_LEN + 1 bytes) and its
 * digest (MF_AUTH_DIGEST_LEN bytes). Returns 0 or -1.
 */
int mf_auth_token_new(char *token, unsigned char *digest);

/*
 * Computes the digest of a presented token. Returns 0, or -1 when token is
 * not MF_AUTH_TOKEN_LEN base64url characters of 32 bytes (digest unset).
 */
int mf_auth_token_digest(const char *token, unsigned char *digest);

/* 1 when the two digests are equal, compared in constant time. */
int mf_auth_digest_equal(const unsigned char *a, const unsigned char *b);

/* Writes 2*n hex digits of n bytes plus a NUL into out (2*n+1 bytes). */
void mf_auth_hex(const unsigned char *bin, size_t n, char *out);

/* Overwrites n bytes at p with zeros in a way the compiler keeps. */
void mf_auth_wipe(void *p, size_t n);

#endif
