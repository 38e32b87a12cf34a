/* mf_amqp_parse_url: "amqp://user:pass@host:port/vhost", percent-decoded. */
#include "mf_amqp.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Decodes the n bytes at s into out (size cap, NUL-terminated). Returns 0,
 * -1 for a bad or NUL escape, -2 when the result does not fit.
 */
static int
decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hex_value(s[i + 1]);
            int lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o + 1 >= cap)
            return -2;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

static int
decode_field(const char *what, const char *s, size_t n, char *out, size_t cap,
             char *err, size_t errlen)
{
    int rc = decode(s, n, out, cap);
    if (rc == -1)
        snprintf(err, errlen, "bad AMQP URL: invalid percent-escape in the %s",
                 what);
    else if (rc == -2)
        snprintf(err, errlen, "bad AMQP URL: the %s is longer than %zu bytes",
                 what, cap - 1);
    return rc == 0 ? 0 : -1;
}

static int
parse_port(const char *s, size_t n, int *port)
{
    long v = 0;

    if (n == 0) {
        *port = 5672;
        return 0;
    }
    if (n > 5)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535)
        return -1;
    *port = (int)v;
    return 0;
}

/* Splits "host[:port]" or "[v6][:port]" into out->host and out->port. */
static int
parse_hostport(const char *s, size_t n, struct mf_amqp_url *out, char *err,
               size_t errlen)
{
    const char *host = s, *port = NULL;
    size_t hlen = n, plen = 0;

    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (close == NULL) {
            snprintf(err, errlen, "bad AMQP URL: unterminated '[' in the host");
            return -1;
        }
        host = s + 1;
        hlen = (size_t)(close - host);
        const char *rest = close + 1;
        size_t rlen = n - (size_t)(rest - s);
        if (rlen > 0 && rest[0] != ':') {
            snprintf(err, errlen, "bad AMQP URL: text after ']' in the host");
            return -1;
        }
        if (rlen > 0) {
            port = rest + 1;
            plen = rlen - 1;
        }
    } else {
        const char *colon = memchr(s, ':', n);
        if (colon != NULL) {
            hlen = (size_t)(colon - s);
            port = colon + 1;
            plen = n - hlen - 1;
        }
    }
    if (port != NULL && plen == 0) {
        snprintf(err, errlen, "bad AMQP URL: empty port after ':'");
        return -1;
    }
    if (parse_port(port, plen, &out->port) != 0) {
        snprintf(err, errlen,
                 "bad AMQP URL: the port must be a number from 1 to 65535");
        return -1;
    }
    if (hlen == 0) {
        snprintf(out->host, sizeof(out->host), "localhost");
        return 0;
    }
    return decode_field("host", host, hlen, out->host, sizeof(out->host), err,
                        errlen);
}

/* Splits "user[:pass]" into out->user and out->pass. */
static int
parse_userinfo(const char *s, size_t n, struct mf_amqp_url *out, char *err,
               size_t errlen)
{
    const char *colon = memchr(s, ':', n);
    size_t ulen = colon ? (size_t)(colon - s) : n;

    if (decode_field("user name", s, ulen, out->user, sizeof(out->user), err,
                     errlen) != 0)
        return -1;
    if (colon == NULL) {
        out->pass[0] = '\0';
        return 0;
    }
    return decode_field("password", colon + 1, n - ulen - 1, out->pass,
                        sizeof(out->pass), err, errlen);
}

static int
parse_vhost(const char *path, struct mf_amqp_url *out, char *err, size_t errlen)
{
    size_t n = strlen(path);

    /* No path, "/" alone: the default vhost "/". */
    if (n <= 1) {
        snprintf(out->vhost, sizeof(out->vhost), "/");
        return 0;
    }
    if (memchr(path + 1, '/', n - 1) != NULL) {
        snprintf(err, errlen,
                 "bad AMQP URL: the vhost contains '/'; write it as %%2F");
        return -1;
    }
    return decode_field("vhost", path + 1, n - 1, out->vhost,
                        sizeof(out->vhost), err, errlen);
}

int
mf_amqp_parse_url(const char *url, struct mf_amqp_url *out, char *err,
                  size_t errlen)
{
    static const char scheme[] = "amqp://";

    memset(out, 0, sizeof(*out));
    if (url == NULL || strncasecmp(url, scheme, sizeof(scheme) - 1) != 0) {
        if (url != NULL && strncasecmp(url, "amqps://", 8) == 0)
            snprintf(err, errlen,
                     "bad AMQP URL: amqps (TLS) is not supported; use amqp://");
        else
            snprintf(err, errlen, "bad AMQP URL: it must start with amqp://");
        return -1;
    }
    const char *auth = url + sizeof(scheme) - 1;
    if (strpbrk(auth, "?#") != NULL) {
        snprintf(
            err, errlen,
            "bad AMQP URL: query parameters and fragments are not supported");
        return -1;
    }
    const char *path = strchr(auth, '/');
    size_t alen = path ? (size_t)(path - auth) : strlen(auth);

    /* The last '@' of the authority ends the user information. */
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (auth[i] == '@')
            at = auth + i;

    int rc = 0;
    if (at != NULL) {
        rc = parse_userinfo(auth, (size_t)(at - auth), out, err, errlen);
    } else {
        snprintf(out->user, sizeof(out->user), "guest");
        snprintf(out->pass, sizeof(out->pass), "guest");
    }
    const char *hp = at ? at + 1 : auth;
    if (rc == 0)
        rc = parse_hostport(hp, alen - (size_t)(hp - auth), out, err, errlen);
    if (rc == 0)
        rc = parse_vhost(path ? path : "", out, err, errlen);
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    return rc;
}
