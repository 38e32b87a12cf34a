#include "mf_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char log_component[32] = "metriflow";
static enum mf_log_level log_min = MF_LOG_INFO;
static _Thread_local char log_ctx[128];

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void
mf_log_init(const char *component, enum mf_log_level level)
{
    snprintf(log_component, sizeof(log_component), "%s", component);
    log_min = level;
}

int
mf_log_parse_level(const char *s, enum mf_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (s != NULL && strcmp(s, level_names[i]) == 0) {
            *out = (enum mf_log_level)i;
            return 0;
        }
    }
    return -1;
}

void
mf_log_set_context(const char *ctx)
{
    if (ctx == NULL)
        log_ctx[0] = '\0';
    else
        snprintf(log_ctx, sizeof(log_ctx), "%s", ctx);
}

int
mf_log_enabled(enum mf_log_level level)
{
    return level >= log_min;
}

void
mf_log_event(enum mf_log_level level, const char *msg, const char *fields_fmt,
             ...)
{
    char line[2048];
    struct timespec now;
    struct tm tm;
    size_t len;
    int n;

    if (level < log_min)
        return;

    /* Prefix: time, level, component, thread context, message. */
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    n = snprintf(line, sizeof(line),
                 "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s "
                 "component=%s%s%s msg=\"%s\"",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000,
                 level_names[level], log_component, log_ctx[0] ? " " : "",
                 log_ctx, msg);
    len = n < 0 ? 0 : (size_t)n;
    if (len >= sizeof(line) - 2)
        len = sizeof(line) - 2;

    /* The caller's fields, truncated to what fits on the line. */
    if (fields_fmt != NULL && fields_fmt[0] != '\0') {
        va_list ap;
        line[len++] = ' ';
        va_start(ap, fields_fmt);
        n = vsnprintf(line + len, sizeof(line) - len - 1, fields_fmt, ap);
        va_end(ap);
        if (n > 0)
            len += (size_t)n < sizeof(line) - len - 1 ? (size_t)n
                                                      : sizeof(line) - len - 2;
    }
    line[len++] = '\n';

    /* One write per event so lines of concurrent threads never mix. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

const char *
mf_log_q(char *buf, size_t n, const char *s)
{
    size_t o = 0, i = 0;

    if (s == NULL)
        s = "";
    buf[o++] = '"';
    for (; s[i] != '\0' && i < 120 && o + 6 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    if (s[i] != '\0' && o + 4 < n) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}
