/* The /auth routes: register, login, refresh (rotation with reuse
 * detection) and logout. */
#include "api.h"

#include "mf_auth.h"
#include "mf_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
unauthorized(struct mf_http_resp *resp, const char *detail)
{
    mf_http_resp_problem(resp, 401, "Unauthorized", detail, NULL);
    mf_http_resp_header(resp, "WWW-Authenticate", "Bearer realm=\"metriflow\"");
}

void
api_register(struct mf_http_req *req, const struct api_caller *who,
             struct mf_http_resp *resp)
{
    int is_admin = who->authenticated && strcmp(who->claims.role, "admin") == 0;
    if (!api_g.registration_open && !is_admin) {
        if (!who->authenticated)
            unauthorized(resp, "Registration needs an admin's token.");
        else
            mf_http_resp_problem(resp, 403, "Forbidden",
                                 "Only an admin may register users.", NULL);
        return;
    }
    struct api_credentials c;
    struct api_err err = {0};
    size_t len;
    const char *body = mf_http_req_body(req, &len);
    char hash[MF_AUTH_HASH_MAX];
    if (api_parse_credentials(body, len, 1, 1, &c, &err) != 0) {
        mf_auth_wipe(&c, sizeof(c));
        api_bad_request(resp, &err);
        return;
    }
    if (c.role[0] != '\0' && !is_admin && strcmp(c.role, "viewer") != 0) {
        mf_auth_wipe(&c, sizeof(c));
        mf_http_resp_problem(resp, 403, "Forbidden",
                             "Only an admin may choose the role.", "role");
        return;
    }
    int rc = mf_auth_hash_password(c.password, c.password_len, hash);
    mf_auth_wipe(c.password, sizeof(c.password));
    if (rc != 0) {
        mf_http_resp_problem(resp, 500, "Internal error",
                             "The password could not be hashed.", NULL);
        return;
    }
    const char *params[] = {c.email, hash, c.role[0] ? c.role : "viewer"};
    struct mf_pg_res *r = NULL;
    rc = api_db("INSERT INTO app_user (email, password_hash, role)"
                " VALUES ($1, $2, $3) ON CONFLICT (email) DO NOTHING"
                " RETURNING id, role",
                3, params, &r, NULL);
    mf_auth_wipe(hash, sizeof(hash));
    if (rc != MF_PG_OK) {
        api_db_unavailable(resp);
        return;
    }
    if (mf_pg_res_rows(r) != 1) {
        mf_pg_res_free(r);
        mf_http_resp_problem(resp, 409, "Conflict",
                             "A user with this email exists.", "email");
        return;
    }
    json_t *o = json_object();
    json_object_set_new(
        o, "id", json_integer(strtoll(mf_pg_res_value(r, 0, 0), NULL, 10)));
    json_object_set_new(o, "email", json_string(c.email));
    json_object_set_new(o, "role", json_string(mf_pg_res_value(r, 0, 1)));
    mf_info("user registered", "user=%s role=%s", mf_pg_res_value(r, 0, 0),
            mf_pg_res_value(r, 0, 1));
    mf_pg_res_free(r);
    mf_http_resp_json(resp, 201, o);
}

/*
 * Answers a token pair: a new access token for user id with role, and
 * refresh, the refresh token the caller already stored (as a hash).
 */
static void
answer_pair(struct mf_http_resp *resp, const char *id, const char *role,
            const char *refresh)
{
    char *access = NULL;
    if (mf_jwt_issue(api_g.jwt, id, role, (int64_t)time(NULL), &access) !=
        MF_JWT_OK) {
        mf_http_resp_problem(resp, 500, "Internal error",
                             "The access token could not be signed.", NULL);
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "access_token", json_string(access));
    json_object_set_new(o, "token_type", json_string("Bearer"));
    json_object_set_new(o, "expires_in", json_integer(mf_jwt_ttl(api_g.jwt)));
    json_object_set_new(o, "refresh_token", json_string(refresh));
    mf_auth_wipe(access, strlen(access));
    free(access);
    mf_http_resp_json(resp, 200, o);
}

void
api_login(struct mf_http_req *req, const struct api_caller *who,
          struct mf_http_resp *resp)
{
    struct api_credentials c;
    struct api_err err = {0};
    size_t len;
    const char *body = mf_http_req_body(req, &len);
    if (api_parse_credentials(body, len, 0, 0, &c, &err) != 0) {
        mf_auth_wipe(&c, sizeof(c));
        api_bad_request(resp, &err);
        return;
    }
    const char *params[] = {c.email};
    struct mf_pg_res *r = NULL;
    if (api_db("SELECT id, password_hash, role FROM app_user WHERE email = $1",
               1, params, &r, NULL) != MF_PG_OK) {
        mf_auth_wipe(&c, sizeof(c));
        api_db_unavailable(resp);
        return;
    }
    /* An unknown email is checked against a dummy hash: the same answer
     * in the same time as a wrong password. */
    int found = mf_pg_res_rows(r) == 1;
    int ok = mf_auth_verify_password(found ? mf_pg_res_value(r, 0, 1) : NULL,
                                     c.password, c.password_len) == 0;
    mf_auth_wipe(&c, sizeof(c));
    if (!ok) {
        mf_pg_res_free(r);
        unauthorized(resp, "The email or the password is wrong.");
        return;
    }
    char id[24], role[16], token[MF_AUTH_TOKEN_LEN + 1], hex[65], ttl[24];
    unsigned char digest[MF_AUTH_DIGEST_LEN];
    snprintf(id, sizeof(id), "%s", mf_pg_res_value(r, 0, 0));
    snprintf(role, sizeof(role), "%s", mf_pg_res_value(r, 0, 2));
    mf_pg_res_free(r);

    if (mf_auth_token_new(token, digest) != 0) {
        mf_http_resp_problem(resp, 500, "Internal error",
                             "No refresh token could be made.", NULL);
        return;
    }
    mf_auth_hex(digest, sizeof(digest), hex);
    snprintf(ttl, sizeof(ttl), "%lld", api_g.refresh_ttl_s);
    const char *ins[] = {hex, id, ttl};
    if (api_db("INSERT INTO refresh_token"
               " (token_hash, user_id, family_id, expires_at)"
               " VALUES (decode($1, 'hex'), $2::int8, gen_random_uuid(),"
               " now() + make_interval(secs => $3::float8))",
               3, ins, NULL, NULL) != MF_PG_OK) {
        mf_auth_wipe(token, sizeof(token));
        api_db_unavailable(resp);
        return;
    }
    mf_info("login", "user=%s", id);
    answer_pair(resp, id, role, token);
    mf_auth_wipe(token, sizeof(token));
}

/* After a failed rotation: a token that was already rotated is being
 * replayed, so the whole family is revoked. */
static void
revoke_on_reuse(const char *hex)
{
    const char *params[] = {hex};
    struct mf_pg_res *r = NULL;
    if (api_db("WITH t AS (SELECT family_id, user_id FROM refresh_token"
               " WHERE token_hash = decode($1, 'hex') AND used_at IS NOT NULL)"
               " UPDATE refresh_token SET revoked_at = now()"
               " WHERE family_id IN (SELECT family_id FROM t)"
               " AND revoked_at IS NULL"
               " RETURNING (SELECT user_id FROM t LIMIT 1)",
               1, params, &r, NULL) != MF_PG_OK)
        return;
    if (mf_pg_res_rows(r) > 0)
        mf_warn("refresh token reused; its family is revoked",
                "user=%s revoked=%d", mf_pg_res_value(r, 0, 0),
                mf_pg_res_rows(r));
    mf_pg_res_free(r);
}

void
api_refresh(struct mf_http_req *req, const struct api_caller *who,
            struct mf_http_resp *resp)
{
    char old[128], token[MF_AUTH_TOKEN_LEN + 1], old_hex[65], new_hex[65];
    char ttl[24], id[24], role[16];
    unsigned char old_d[MF_AUTH_DIGEST_LEN], new_d[MF_AUTH_DIGEST_LEN];
    struct api_err err = {0};
    size_t len;
    const char *body = mf_http_req_body(req, &len);
    if (api_parse_refresh(body, len, old, sizeof(old), &err) != 0) {
        api_bad_request(resp, &err);
        return;
    }
    int valid = mf_auth_token_digest(old, old_d) == 0;
    mf_auth_wipe(old, sizeof(old));
    if (!valid) {
        unauthorized(resp, "The refresh token is not valid.");
        return;
    }
    mf_auth_hex(old_d, sizeof(old_d), old_hex);
    if (mf_auth_token_new(token, new_d) != 0) {
        mf_http_resp_problem(resp, 500, "Internal error",
                             "No refresh token could be made.", NULL);
        return;
    }
    mf_auth_hex(new_d, sizeof(new_d), new_hex);
    snprintf(ttl, sizeof(ttl), "%lld", api_g.refresh_ttl_s);

    /* One statement: mark the old token used (only if it was live) and
     * insert its successor in the same family. */
    const char *params[] = {old_hex, new_hex, ttl};
    struct mf_pg_res *r = NULL;
    if (api_db("WITH used AS (UPDATE refresh_token SET used_at = now()"
               " WHERE token_hash = decode($1, 'hex') AND used_at IS NULL"
               " AND revoked_at IS NULL AND expires_at > now()"
               " RETURNING user_id, family_id, token_hash),"
               " ins AS (INSERT INTO refresh_token (token_hash, user_id,"
               " family_id, parent_hash, expires_at)"
               " SELECT decode($2, 'hex'), user_id, family_id, token_hash,"
               " now() + make_interval(secs => $3::float8) FROM used"
               " RETURNING user_id)"
               " SELECT u.id, u.role FROM ins JOIN app_user u"
               " ON u.id = ins.user_id",
               3, params, &r, NULL) != MF_PG_OK) {
        mf_auth_wipe(token, sizeof(token));
        api_db_unavailable(resp);
        return;
    }
    if (mf_pg_res_rows(r) != 1) {
        mf_pg_res_free(r);
        mf_auth_wipe(token, sizeof(token));
        revoke_on_reuse(old_hex);
        unauthorized(resp, "The refresh token is not valid.");
        return;
    }
    snprintf(id, sizeof(id), "%s", mf_pg_res_value(r, 0, 0));
    snprintf(role, sizeof(role), "%s", mf_pg_res_value(r, 0, 1));
    mf_pg_res_free(r);
    answer_pair(resp, id, role, token);
    mf_auth_wipe(token, sizeof(token));
}

void
api_logout(struct mf_http_req *req, const struct api_caller *who,
           struct mf_http_resp *resp)
{
    char tok[128], hex[65];
    unsigned char d[MF_AUTH_DIGEST_LEN];
    struct api_err err = {0};
    size_t len;
    const char *body = mf_http_req_body(req, &len);
    if (api_parse_refresh(body, len, tok, sizeof(tok), &err) != 0) {
        api_bad_request(resp, &err);
        return;
    }
    int valid = mf_auth_token_digest(tok, d) == 0;
    mf_auth_wipe(tok, sizeof(tok));
    if (valid) {
        mf_auth_hex(d, sizeof(d), hex);
        const char *params[] = {hex, who->claims.sub};
        if (api_db("UPDATE refresh_token SET revoked_at = now()"
                   " WHERE token_hash = decode($1, 'hex')"
                   " AND user_id::text = $2 AND revoked_at IS NULL",
                   2, params, NULL, NULL) != MF_PG_OK) {
            api_db_unavailable(resp);
            return;
        }
    }
    mf_http_resp_empty(resp, 204);
}
