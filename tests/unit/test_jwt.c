/* mf_jwt: issued tokens verify; forged, expired and foreign ones do not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mf_jwt.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char key32[] = "0123456789abcdef0123456789abcdef";
#define NOW 1800000000

static struct mf_jwt_key *
key(const char *secret, const char *iss, const char *aud)
{
    struct mf_jwt_key *k = NULL;
    assert_int_equal(mf_jwt_key_new(secret, strlen(secret), iss, aud, 900, &k),
                     0);
    return k;
}

/* Signs header.claims with HMAC (256, 384 or 512 bits) or not at all
 * (bits 0), the way an attacker would, into out. */
static void
forge(const char *alg, int bits, const char *secret, const char *claims,
      char *out, size_t n)
{
    char head[64], h64[128], c64[1024], s64[128];
    unsigned char mac[64];
    snprintf(head, sizeof(head), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
    sodium_bin2base64(h64, sizeof(h64), (const unsigned char *)head,
                      strlen(head), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_bin2base64(c64, sizeof(c64), (const unsigned char *)claims,
                      strlen(claims), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char msg[1200];
    snprintf(msg, sizeof(msg), "%s.%s", h64, c64);
    s64[0] = '\0';
    if (bits == 256) {
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret,
                                    strlen(secret));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg,
                                      strlen(msg));
        crypto_auth_hmacsha256_final(&st, mac);
        sodium_bin2base64(s64, sizeof(s64), mac, 32,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    } else if (bits == 512) {
        crypto_auth_hmacsha512_state st;
        crypto_auth_hmacsha512_init(&st, (const unsigned char *)secret,
                                    strlen(secret));
        crypto_auth_hmacsha512_update(&st, (const unsigned char *)msg,
                                      strlen(msg));
        crypto_auth_hmacsha512_final(&st, mac);
        sodium_bin2base64(s64, sizeof(s64), mac, 64,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    }
    snprintf(out, n, "%s.%s", msg, s64);
}

static const char good_claims[] =
    "{\"sub\":\"7\",\"role\":\"viewer\",\"iss\":\"metriflow\","
    "\"aud\":\"metriflow-api\",\"iat\":1800000000,\"exp\":1800000600,"
    "\"jti\":\"x\"}";

static int
verify_forged(const char *alg, int bits, const char *secret, const char *claims)
{
    char tok[2048];
    struct mf_jwt_claims c;
    struct mf_jwt_key *k = key(key32, "metriflow", "metriflow-api");
    forge(alg, bits, secret, claims, tok, sizeof(tok));
    int rc = mf_jwt_verify(k, tok, NOW, 30, &c);
    mf_jwt_key_free(k);
    return rc;
}

static void
test_short_key_refused(void **state)
{
    struct mf_jwt_key *k = NULL;
    assert_int_equal(mf_jwt_key_new("31-bytes-of-secret-0123456789ab", 31, "i",
                                    "a", 900, &k),
                     MF_JWT_EINVAL);
    assert_null(k);
}

static void
test_issue_verify(void **state)
{
    struct mf_jwt_key *k = key(key32, "metriflow", "metriflow-api");
    char *tok = NULL;
    struct mf_jwt_claims c;
    assert_int_equal(mf_jwt_issue(k, "42", "admin", NOW, &tok), 0);
    assert_int_equal(mf_jwt_verify(k, tok, NOW + 10, 0, &c), 0);
    assert_string_equal(c.sub, "42");
    assert_string_equal(c.role, "admin");
    assert_int_equal(c.exp, NOW + 900);
    assert_int_equal(c.iat, NOW);
    assert_int_equal(strlen(c.jti), 32);
    /* Expired after the lifetime (and the leeway). */
    assert_int_equal(mf_jwt_verify(k, tok, NOW + 900 + 31, 30, &c),
                     MF_JWT_EEXPIRED);
    assert_string_equal(c.sub, "");
    /* Two tokens never share a jti. */
    char *tok2 = NULL;
    struct mf_jwt_claims c2;
    assert_int_equal(mf_jwt_issue(k, "42", "admin", NOW, &tok2), 0);
    assert_int_equal(mf_jwt_verify(k, tok2, NOW, 0, &c2), 0);
    assert_int_equal(mf_jwt_verify(k, tok, NOW, 0, &c), 0);
    assert_string_not_equal(c.jti, c2.jti);
    free(tok);
    free(tok2);
    mf_jwt_key_free(k);
}

static void
test_foreign_issuer_audience_key(void **state)
{
    struct mf_jwt_key *mine = key(key32, "metriflow", "metriflow-api");
    struct mf_jwt_key *iss = key(key32, "other", "metriflow-api");
    struct mf_jwt_key *aud = key(key32, "metriflow", "other");
    struct mf_jwt_key *kk =
        key("another-secret-of-32-bytes-....!", "metriflow", "metriflow-api");
    struct mf_jwt_claims c;
    char *t1, *t2, *t3;
    assert_int_equal(mf_jwt_issue(iss, "1", "viewer", NOW, &t1), 0);
    assert_int_equal(mf_jwt_issue(aud, "1", "viewer", NOW, &t2), 0);
    assert_int_equal(mf_jwt_issue(kk, "1", "viewer", NOW, &t3), 0);
    assert_int_equal(mf_jwt_verify(mine, t1, NOW, 0, &c), MF_JWT_EISSUER);
    assert_int_equal(mf_jwt_verify(mine, t2, NOW, 0, &c), MF_JWT_EAUDIENCE);
    assert_int_equal(mf_jwt_verify(mine, t3, NOW, 0, &c), MF_JWT_EFORMAT);
    free(t1);
    free(t2);
    free(t3);
    mf_jwt_key_free(mine);
    mf_jwt_key_free(iss);
    mf_jwt_key_free(aud);
    mf_jwt_key_free(kk);
}

static void
test_forged(void **state)
{
    assert_int_equal(verify_forged("HS256", 256, key32, good_claims), 0);
    assert_int_not_equal(verify_forged("none", 0, key32, good_claims), 0);
    assert_int_not_equal(verify_forged("HS512", 512, key32, good_claims), 0);
    assert_int_not_equal(verify_forged("HS256", 256,
                                       "wrong-key-wrong-key-wrong-key-wr",
                                       good_claims),
                         0);
    /* Types and presence of the claims. */
    assert_int_equal(
        verify_forged("HS256", 256, key32,
                      "{\"sub\":\"7\",\"role\":\"viewer\",\"iss\":"
                      "\"metriflow\",\"aud\":\"metriflow-api\",\"jti\":\"x\"}"),
        MF_JWT_EEXPIRED);
    assert_int_equal(
        verify_forged("HS256", 256, key32,
                      "{\"sub\":\"7\",\"role\":\"viewer\",\"iss\":"
                      "\"metriflow\",\"aud\":\"metriflow-api\",\"jti\":\"x\","
                      "\"exp\":\"1800000600\"}"),
        MF_JWT_EEXPIRED);
    assert_int_equal(
        verify_forged("HS256", 256, key32,
                      "{\"sub\":\"7\",\"role\":\"viewer\",\"iss\":"
                      "\"metriflow\",\"aud\":[\"a\",\"metriflow-api\"],"
                      "\"jti\":\"x\",\"exp\":1800000600}"),
        0);
    assert_int_equal(verify_forged("HS256", 256, key32,
                                   "{\"sub\":\"7\",\"role\":\"viewer\",\"iss\":"
                                   "\"metriflow\",\"aud\":[\"a\"],"
                                   "\"jti\":\"x\",\"exp\":1800000600}"),
                     MF_JWT_EAUDIENCE);
    assert_int_equal(
        verify_forged("HS256", 256, key32,
                      "{\"sub\":7,\"role\":\"viewer\",\"iss\":\"metriflow\","
                      "\"aud\":\"metriflow-api\",\"jti\":\"x\","
                      "\"exp\":1800000600}"),
        MF_JWT_ECLAIMS);
    assert_int_equal(
        verify_forged("HS256", 256, key32,
                      "{\"sub\":\"7\",\"role\":\"viewer\",\"iss\":"
                      "\"metriflow\",\"aud\":\"metriflow-api\",\"jti\":\"x\","
                      "\"exp\":1800000600,\"nbf\":1800009999}"),
        MF_JWT_EEARLY);
}

static void
test_remembered_token(void **state)
{
    struct mf_jwt_key *k = key(key32, "metriflow", "metriflow-api");
    struct mf_jwt_key *other =
        key("another-secret-of-32-bytes-....!", "metriflow", "metriflow-api");
    char *tok = NULL;
    struct mf_jwt_claims c;
    assert_int_equal(mf_jwt_issue(k, "9", "viewer", NOW, &tok), 0);
    assert_int_equal(mf_jwt_verify(k, tok, NOW, 0, &c), 0);
    /* Remembered: still checked for expiry, and only for the same key. */
    assert_int_equal(mf_jwt_verify(k, tok, NOW + 1, 0, &c), 0);
    assert_string_equal(c.sub, "9");
    assert_int_equal(mf_jwt_verify(k, tok, NOW + 901, 0, &c), MF_JWT_EEXPIRED);
    assert_int_equal(mf_jwt_verify(k, tok, NOW - 100, 0, &c), MF_JWT_EEARLY);
    assert_int_equal(mf_jwt_verify(other, tok, NOW, 0, &c), MF_JWT_EFORMAT);
    /* One byte changed is a different token, checked in full. */
    tok[strlen(tok) - 2] ^= 1;
    assert_int_not_equal(mf_jwt_verify(k, tok, NOW, 0, &c), 0);
    free(tok);
    mf_jwt_key_free(k);
    mf_jwt_key_free(other);
}

static void
test_too_long_and_garbage(void **state)
{
    struct mf_jwt_key *k = key(key32, "metriflow", "metriflow-api");
    struct mf_jwt_claims c;
    char *big = malloc(MF_JWT_MAX_TOKEN + 10);
    memset(big, 'a', MF_JWT_MAX_TOKEN + 9);
    big[MF_JWT_MAX_TOKEN + 9] = '\0';
    assert_int_equal(mf_jwt_verify(k, big, NOW, 0, &c), MF_JWT_EFORMAT);
    assert_int_equal(mf_jwt_verify(k, "", NOW, 0, &c), MF_JWT_EFORMAT);
    assert_int_equal(mf_jwt_verify(k, "a.b.c", NOW, 0, &c), MF_JWT_EFORMAT);
    assert_int_equal(mf_jwt_verify(k, NULL, NOW, 0, &c), MF_JWT_EFORMAT);
    free(big);
    mf_jwt_key_free(k);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_key_refused),
        cmocka_unit_test(test_issue_verify),
        cmocka_unit_test(test_foreign_issuer_audience_key),
        cmocka_unit_test(test_forged),
        cmocka_unit_test(test_remembered_token),
        cmocka_unit_test(test_too_long_and_garbage),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
