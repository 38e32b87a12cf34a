/* The SQL files of sql/, compiled in (see cmake/embed_sql.cmake). */
#ifndef SQL_EMBED_H
#define SQL_EMBED_H

#include <stddef.h>

struct sql_file {
    const char *name; /* "0001_core.sql"; NULL ends a table */
    const char *text; /* NUL-terminated */
    size_t len;
};

extern const struct sql_file sql_migrations[];
extern const struct sql_file sql_procedures[];

#endif
