/*
 * brrctl.h: the operator's tool.  Each subcommand lives in its own file and
 * is called from main.c with the remaining arguments; the shared settings
 * (database, brokers, paths) come from the environment like the services'.
 */
#ifndef BRRCTL_H
#define BRRCTL_H

#include "pg.h"

typedef struct {
    char *pg_dsn;
    char *brokers;
    char *migrations_dir;
    char *topics_file;
} brrctl_conf_t;

extern brrctl_conf_t brrctl_conf;

int brrctl_migrate(int argc, char **argv);
int brrctl_topics(int argc, char **argv);
int brrctl_status(int argc, char **argv);
int brrctl_org(int argc, char **argv);
int brrctl_calc(int argc, char **argv);
int brrctl_dlq(int argc, char **argv);
int brrctl_arrangement(int argc, char **argv);
int brrctl_deliveries(int argc, char **argv);
int brrctl_replay(int argc, char **argv);

/* Prints "brrctl: <msg>" to stderr; returns 1 for use as an exit code. */
int brrctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Connects to BRR_PG_DSN; on failure says so and returns NULL. */
brr_pg_t *brrctl_connect(void);

#endif
