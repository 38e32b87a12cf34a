/* mf_auth: password hashing and refresh tokens through libsodium. */
#include "mf_auth.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

static pthread_mutex_t cap_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cap_cond = PTHREAD_COND_INITIALIZER;
static int cap_free;
static char dummy_hash[crypto_pwhash_STRBYTES];

/* Waits for one of the hashing slots. */
static void
slot_take(void)
{
    pthread_mutex_lock(&cap_lock);
    while (cap_free <= 0)
        pthread_cond_wait(&cap_cond, &cap_lock);
    cap_free--;
    pthread_mutex_unlock(&cap_lock);
}

static void
slot_give(void)
{
    pthread_mutex_lock(&cap_lock);
    cap_free++;
    pthread_cond_signal(&cap_cond);
    pthread_mutex_unlock(&cap_lock);
}

int
mf_auth_init(int max_hashes)
{
    if (max_hashes < 1 || sodium_init() < 0)
        return -1;
    cap_free = max_hashes;

    /* A hash of a random password, never matched by anything a client
     * sends, with the same parameters as real ones. */
    unsigned char pw[32];
    randombytes_buf(pw, sizeof(pw));
    int rc = crypto_pwhash_str(dummy_hash, (const char *)pw, sizeof(pw),
                               crypto_pwhash_OPSLIMIT_INTERACTIVE,
                               crypto_pwhash_MEMLIMIT_INTERACTIVE);
    sodium_memzero(pw, sizeof(pw));
    return rc == 0 ? 0 : -1;
}

int
mf_auth_hash_password(const char *password, size_t len, char *out)
{
    char buf[crypto_pwhash_STRBYTES];
    memset(out, 0, MF_AUTH_HASH_MAX);
    if (len < MF_AUTH_PASSWORD_MIN || len > MF_AUTH_PASSWORD_MAX)
        return -1;
    slot_take();
    int rc = crypto_pwhash_str(buf, password, len,
                               crypto_pwhash_OPSLIMIT_INTERACTIVE,
                               crypto_pwhash_MEMLIMIT_INTERACTIVE);
    slot_give();
    if (rc != 0)
        return -1;
    memcpy(out, buf,
           sizeof(buf) < MF_AUTH_HASH_MAX ? sizeof(buf) : MF_AUTH_HASH_MAX);
    out[MF_AUTH_HASH_MAX - 1] = '\0';
    return 0;
}

int
mf_auth_verify_password(const char *stored, const char *password, size_t len)
{
    /* The prototype wants a full-size buffer: copy into a zeroed one. */
    char buf[crypto_pwhash_STRBYTES];
    memset(buf, 0, sizeof(buf));
    const char *src = stored != NULL ? stored : dummy_hash;
    size_t n = strnlen(src, sizeof(buf) - 1);
    memcpy(buf, src, n);
    if (len > MF_AUTH_PASSWORD_MAX)
        len = MF_AUTH_PASSWORD_MAX; /* still spend the time */

    slot_take();
    int rc = crypto_pwhash_str_verify(buf, password, len);
    slot_give();
    if (stored == NULL)
        return -1;
    return rc == 0 ? 0 : -1;
}

int
mf_auth_token_new(char *token, unsigned char *digest)
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(token, MF_AUTH_TOKEN_LEN + 1, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    int rc = crypto_generichash(digest, MF_AUTH_DIGEST_LEN, raw, sizeof(raw),
                                NULL, 0);
    sodium_memzero(raw, sizeof(raw));
    return rc == 0 ? 0 : -1;
}

int
mf_auth_token_digest(const char *token, unsigned char *digest)
{
    unsigned char raw[32];
    size_t n = 0;
    if (token == NULL ||
        strnlen(token, MF_AUTH_TOKEN_LEN + 1) != MF_AUTH_TOKEN_LEN)
        return -1;
    if (sodium_base642bin(raw, sizeof(raw), token, MF_AUTH_TOKEN_LEN, NULL, &n,
                          NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        n != sizeof(raw))
        return -1;
    int rc = crypto_generichash(digest, MF_AUTH_DIGEST_LEN, raw, sizeof(raw),
                                NULL, 0);
    sodium_memzero(raw, sizeof(raw));
    return rc == 0 ? 0 : -1;
}

int
mf_auth_digest_equal(const unsigned char *a, const unsigned char *b)
{
    return crypto_verify_32(a, b) == 0;
}

void
mf_auth_hex(const unsigned char *bin, size_t n, char *out)
{
    sodium_bin2hex(out, 2 * n + 1, bin, n);
}

void
mf_auth_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}
