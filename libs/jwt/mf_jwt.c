/* mf_jwt: HS256 tokens through libjwt, with the claim checks it lacks. */
#include "mf_jwt.h"

#include <errno.h>
#include <jansson.h>
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct mf_jwt_key {
    unsigned char *secret;
    size_t len;
    char iss[128];
    char aud[128];
    int ttl_s;
};

/*
 * The last token this thread verified with success, with what its checks
 * depend on. A client sends the same token for many requests: an exact
 * match (compared in constant time) skips the signature and the JSON, and
 * only the time checks run again.
 */
static _Thread_local struct {
    const struct mf_jwt_key *key;
    size_t len;
    char token[MF_JWT_MAX_TOKEN + 1];
    struct mf_jwt_claims claims;
    int64_t nbf; /* INT64_MIN when absent */
} last;

int
mf_jwt_key_new(const void *secret, size_t len, const char *iss, const char *aud,
               int ttl_s, struct mf_jwt_key **out)
{
    if (secret == NULL || len < MF_JWT_MIN_KEY || len > 4096 || iss == NULL ||
        aud == NULL || strlen(iss) >= 128 || strlen(aud) >= 128 || ttl_s <= 0)
        return MF_JWT_EINVAL;
    struct mf_jwt_key *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return MF_JWT_ENOMEM;
    k->secret = malloc(len);
    if (k->secret == NULL) {
        free(k);
        return MF_JWT_ENOMEM;
    }
    memcpy(k->secret, secret, len);
    k->len = len;
    snprintf(k->iss, sizeof(k->iss), "%s", iss);
    snprintf(k->aud, sizeof(k->aud), "%s", aud);
    k->ttl_s = ttl_s;
    *out = k;
    return MF_JWT_OK;
}

void
mf_jwt_key_free(struct mf_jwt_key *k)
{
    if (k == NULL)
        return;
    if (last.key == k)
        explicit_bzero(&last, sizeof(last));
    explicit_bzero(k->secret, k->len);
    free(k->secret);
    free(k);
}

int
mf_jwt_ttl(const struct mf_jwt_key *k)
{
    return k->ttl_s;
}

/* Writes 16 random bytes as 32 hex digits into out (>= 33 bytes). */
static int
random_jti(char *out)
{
    unsigned char b[16];
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        return -1;
    for (size_t i = 0; i < sizeof(b); i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

int
mf_jwt_issue(const struct mf_jwt_key *k, const char *sub, const char *role,
             int64_t now, char **token)
{
    if (sub == NULL || *sub == '\0' || role == NULL || strlen(sub) >= 64 ||
        strlen(role) >= 16)
        return MF_JWT_EINVAL;
    char jti[33];
    if (random_jti(jti) != 0)
        return MF_JWT_ENOMEM;

    jwt_t *j = NULL;
    int rc = MF_JWT_ENOMEM;
    if (jwt_new(&j) != 0)
        return MF_JWT_ENOMEM;
    if (jwt_add_grant(j, "sub", sub) != 0 ||
        jwt_add_grant(j, "role", role) != 0 ||
        jwt_add_grant(j, "iss", k->iss) != 0 ||
        jwt_add_grant(j, "aud", k->aud) != 0 ||
        jwt_add_grant(j, "jti", jti) != 0 ||
        jwt_add_grant_int(j, "iat", (long)now) != 0 ||
        jwt_add_grant_int(j, "exp", (long)(now + k->ttl_s)) != 0)
        goto out;
    if (jwt_set_alg(j, JWT_ALG_HS256, k->secret, (int)k->len) != 0)
        goto out;
    char *s = jwt_encode_str(j);
    if (s == NULL)
        goto out;
    *token = s;
    rc = MF_JWT_OK;
out:
    jwt_free(j);
    return rc;
}

/* Copies the string claim name into buf; -1 when absent, not a string,
 * empty or too long. */
static int
claim_str(json_t *claims, const char *name, char *buf, size_t n)
{
    json_t *v = json_object_get(claims, name);
    if (!json_is_string(v))
        return -1;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0 || len >= n || strlen(s) != len)
        return -1;
    memcpy(buf, s, len + 1);
    return 0;
}

/* Reads an optional integer time claim: 0 absent, 1 present, -1 wrong type. */
static int
claim_time(json_t *claims, const char *name, int64_t *out)
{
    json_t *v = json_object_get(claims, name);
    if (v == NULL)
        return 0;
    if (!json_is_integer(v))
        return -1;
    *out = (int64_t)json_integer_value(v);
    return 1;
}

/* 1 when aud (a string or an array of strings) names want. */
static int
aud_matches(json_t *aud, const char *want)
{
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    if (!json_is_array(aud))
        return 0;
    size_t i;
    json_t *v;
    json_array_foreach(aud, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
            return 1;
    }
    return 0;
}

/* The claim checks, in the order of the safe pattern. */
static int
check_claims(const struct mf_jwt_key *k, json_t *c, int64_t now, int leeway,
             struct mf_jwt_claims *out)
{
    int64_t exp = 0, nbf = 0, iat = 0;
    if (claim_time(c, "exp", &exp) != 1 || exp <= now - leeway)
        return MF_JWT_EEXPIRED;
    int r = claim_time(c, "nbf", &nbf);
    if (r < 0 || (r == 1 && nbf > now + leeway))
        return MF_JWT_EEARLY;
    r = claim_time(c, "iat", &iat);
    if (r < 0 || (r == 1 && iat > now + leeway))
        return MF_JWT_EEARLY;
    json_t *iss = json_object_get(c, "iss");
    if (!json_is_string(iss) || strcmp(json_string_value(iss), k->iss) != 0)
        return MF_JWT_EISSUER;
    if (!aud_matches(json_object_get(c, "aud"), k->aud))
        return MF_JWT_EAUDIENCE;
    if (claim_str(c, "sub", out->sub, sizeof(out->sub)) != 0 ||
        claim_str(c, "role", out->role, sizeof(out->role)) != 0 ||
        claim_str(c, "jti", out->jti, sizeof(out->jti)) != 0)
        return MF_JWT_ECLAIMS;
    out->exp = exp;
    out->iat = iat;
    return MF_JWT_OK;
}

/* 1 when token (len bytes) is the thread's last verified token for k. */
static int
same_as_last(const struct mf_jwt_key *k, const char *token, size_t len)
{
    if (last.key != k || last.len != len)
        return 0;
    unsigned char diff = 0;
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)(last.token[i] ^ token[i]);
    return diff == 0;
}

int
mf_jwt_verify(const struct mf_jwt_key *k, const char *token, int64_t now,
              int leeway_s, struct mf_jwt_claims *out)
{
    memset(out, 0, sizeof(*out));
    size_t len = token ? strnlen(token, MF_JWT_MAX_TOKEN + 1) : 0;
    if (token == NULL || len > MF_JWT_MAX_TOKEN)
        return MF_JWT_EFORMAT;
    if (same_as_last(k, token, len)) {
        if (last.claims.exp <= now - leeway_s)
            return MF_JWT_EEXPIRED;
        if (last.nbf > now + leeway_s || last.claims.iat > now + leeway_s)
            return MF_JWT_EEARLY;
        *out = last.claims;
        return MF_JWT_OK;
    }

    /* A real key of positive length keeps libjwt from skipping the
     * signature; the algorithm it accepted is then pinned to HS256. */
    jwt_t *j = NULL;
    if (jwt_decode(&j, token, k->secret, (int)k->len) != 0 || j == NULL)
        return MF_JWT_EFORMAT;
    int rc = MF_JWT_EALG;
    char *grants = NULL;
    json_t *claims = NULL;
    if (jwt_get_alg(j) != JWT_ALG_HS256)
        goto out;

    rc = MF_JWT_ECLAIMS;
    grants = jwt_get_grants_json(j, NULL);
    if (grants == NULL)
        goto out;
    claims = json_loads(grants, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(claims))
        goto out;
    rc = check_claims(k, claims, now, leeway_s, out);
    if (rc == MF_JWT_OK) {
        int64_t nbf = INT64_MIN;
        claim_time(claims, "nbf", &nbf);
        last.key = k;
        last.len = len;
        memcpy(last.token, token, len + 1);
        last.claims = *out;
        last.nbf = nbf;
    }
out:
    if (rc != MF_JWT_OK)
        memset(out, 0, sizeof(*out));
    json_decref(claims);
    free(grants);
    jwt_free(j);
    return rc;
}

const char *
mf_jwt_strerror(int err)
{
    switch (err) {
    case MF_JWT_OK:
        return "ok";
    case MF_JWT_EINVAL:
        return "invalid argument";
    case MF_JWT_ENOMEM:
        return "out of memory";
    case MF_JWT_EFORMAT:
        return "malformed token or bad signature";
    case MF_JWT_EALG:
        return "algorithm not accepted";
    case MF_JWT_EEXPIRED:
        return "token expired";
    case MF_JWT_EEARLY:
        return "token not yet valid";
    case MF_JWT_EISSUER:
        return "wrong issuer";
    case MF_JWT_EAUDIENCE:
        return "wrong audience";
    case MF_JWT_ECLAIMS:
        return "missing or invalid claims";
    default:
        return "unknown error";
    }
}
