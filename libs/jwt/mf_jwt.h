/*
 * mf_jwt: the only place that calls libjwt. HS256 access tokens only.
 *
 * libjwt 1.10 checks the format and the signature but none of the claims,
 * and takes the algorithm from the token's own header; this wrapper pins
 * the algorithm and checks exp, nbf, iat, iss and aud itself.
 */
#ifndef MF_JWT_H
#define MF_JWT_H

#include <stddef.h>
#include <stdint.h>

#define MF_JWT_MIN_KEY   32   /* bytes of HS256 secret at least */
#define MF_JWT_MAX_TOKEN 4096 /* longer tokens are refused unread */

struct mf_jwt_key;

enum mf_jwt_err {
    MF_JWT_OK = 0,
    MF_JWT_EINVAL = -1,    /* bad argument: short key, empty subject */
    MF_JWT_ENOMEM = -2,    /* allocation or encoding failed */
    MF_JWT_EFORMAT = -3,   /* too long, not a JWT, or bad signature */
    MF_JWT_EALG = -4,      /* signed with another algorithm than HS256 */
    MF_JWT_EEXPIRED = -5,  /* exp missing, not an integer, or past */
    MF_JWT_EEARLY = -6,    /* nbf or iat in the future */
    MF_JWT_EISSUER = -7,   /* iss is not the configured issuer */
    MF_JWT_EAUDIENCE = -8, /* aud does not name the configured audience */
    MF_JWT_ECLAIMS = -9,   /* sub, role or jti missing or of a wrong type */
};

/* The claims of a verified token. */
struct mf_jwt_claims {
    char sub[64];
    char role[16];
    char jti[64];
    int64_t iat, exp;
};

/*
 * Makes a signing key from secret (len bytes, at least MF_JWT_MIN_KEY),
 * with the issuer and audience written into and required of every token,
 * and the access-token lifetime ttl_s. Returns 0 and *out (free with
 * mf_jwt_key_free, which wipes the secret), or MF_JWT_EINVAL/ENOMEM with
 * *out unchanged. The secret is copied.
 */
int mf_jwt_key_new(const void *secret, size_t len, const char *iss,
                   const char *aud, int ttl_s, struct mf_jwt_key **out);

/* Wipes and frees the key. NULL is allowed. */
void mf_jwt_key_free(struct mf_jwt_key *k);

/* The lifetime of issued tokens in seconds. */
int mf_jwt_ttl(const struct mf_jwt_key *k);

/*
 * Signs a token for subject sub with role, iat = now (Unix seconds),
 * exp = now + ttl, a random jti, iss and aud. Returns 0 and a new string
 * in *token (free() it), or a negative mf_jwt_err with *token unchanged.
 */
int mf_jwt_issue(const struct mf_jwt_key *k, const char *sub, const char *role,
                 int64_t now, char **token);

/*
 * Verifies token at time now (Unix seconds): length, HS256 signature with
 * this key, exp in the future, nbf and iat not in the future (leeway_s
 * allowed for clock skew on both), iss and aud. Returns 0 and fills *out,
 * or a negative mf_jwt_err with *out zeroed. The last token verified with
 * success on the calling thread is remembered: the same token again (an
 * exact, constant-time match) only has its times checked again.
 */
int mf_jwt_verify(const struct mf_jwt_key *k, const char *token, int64_t now,
                  int leeway_s, struct mf_jwt_claims *out);

/* A short, fixed description of an error code (never token contents). */
const char *mf_jwt_strerror(int err);

#endif
