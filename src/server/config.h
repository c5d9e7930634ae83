/*
 * config.h: configuration (one table, server/config.def), the config file
 * and command-line parser (redis.conf syntax), CONFIG GET/SET/REWRITE.
 */
#ifndef LT_SERVER_CONFIG_H
#define LT_SERVER_CONFIG_H

#include "ds/str.h"

/* Sets every option to its default. */
void config_init_defaults(void);
/* Parses a config file (path may be NULL) followed by command-line options
 * ("--name value ..."). On error prints Redis's fatal config error block to
 * stderr and returns -1. */
int config_load(const char *path, int argc, char **argv);
/* Sets one option from strings, as CONFIG SET does. 0, or -1 with *err. */
int config_set_one(const char *name, str *vals, int nvals, const char **err);
/* Appends "name value" to out for CONFIG GET/REWRITE. */
str config_get_value(const char *name, int *found);
/* Parses a memory size as the config file does ("100", "1b", "10kb", "2gb";
 * k = 1000, kb = 1024...). 0, or -1 when it is not one. */
int config_parse_mem(const char *s, long long *out);
/* Rewrites the config file in place. 0, or -1 with *err. */
int config_rewrite(const char **err);

#endif
