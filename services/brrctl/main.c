/*
 * brrctl: migrations, topics, queue lag, organisations and offline
 * calculations for operators.  Exit codes: 0 done, 1 failed, 2 usage.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "brrctl.h"
#include "config.h"
#include "log.h"

brrctl_conf_t brrctl_conf;

static const brr_config_entry_t config[] = {
    {"BRR_PG_DSN", BRR_CONF_STRING, &brrctl_conf.pg_dsn,
     "host=127.0.0.1 port=55432 dbname=brr user=brr", 0, 0, 1,
     "libpq connection string"},
    {"BRR_KAFKA_BROKERS", BRR_CONF_STRING, &brrctl_conf.brokers,
     "127.0.0.1:19092", 0, 0, 0, "Kafka bootstrap servers"},
    {"BRR_MIGRATIONS_DIR", BRR_CONF_STRING, &brrctl_conf.migrations_dir,
     "migrations", 0, 0, 0, "numbered SQL migrations"},
    {"BRR_TOPICS_FILE", BRR_CONF_STRING, &brrctl_conf.topics_file,
     "deploy/kafka/topics.conf", 0, 0, 0, "topic definitions"},
    {0}};

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"migrate", brrctl_migrate, "apply numbered migrations (advisory lock)"},
    {"topics", brrctl_topics,
     "create the topics, organisations included [--auto-create]"},
    {"status", brrctl_status, "lag per consumer group and partition"},
    {"org", brrctl_org,
     "organisations: add | update | disable | enable | list"},
    {"calc", brrctl_calc,
     "offline rules: calc capacity [--norm-set ID | --replay [ID]] | "
     "calc distribute"},
    {"dlq", brrctl_dlq, "dead letters: list | replay | discard"},
    {"arrangement", brrctl_arrangement,
     "one arrangement: history ID | end ID [--reason R]"},
    {"deliveries", brrctl_deliveries,
     "per organisation: backlog, parked, last success and error"},
    {"replay", brrctl_replay,
     "re-send parked (or delivered) events to an organisation"},
};

int brrctl_fail(const char *fmt, ...)
{
    va_list ap;
    fputs("brrctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

brr_pg_t *brrctl_connect(void)
{
    brr_pg_t *pg;
    if (brr_pg_connect(brrctl_conf.pg_dsn, "brrctl", &pg) != 0) {
        brr_pg_close(pg);
        brrctl_fail("could not connect to postgres");
        return NULL;
    }
    return pg;
}

static int usage(void)
{
    fprintf(stderr, "usage: brrctl <command> [args]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(stderr, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(stderr, "\nconfiguration (environment):\n");
    brr_config_usage(config);
    return 2;
}

int main(int argc, char **argv)
{
    char err[512];
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0)
        return usage();
    brr_log_init("brrctl", BRR_LOG_WARN, BRR_LOG_LOGFMT);
    if (brr_config_load(config, err, sizeof(err)) != 0)
        return brrctl_fail("%s", err);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 2, argv + 2);
    brrctl_fail("unknown command \"%s\"", argv[1]);
    return usage();
}
