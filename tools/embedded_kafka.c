/*
 * embedded_kafka.c: brr-embedded-kafka, a stand-in Kafka broker for machines
 * without Java, built on librdkafka's mock cluster (rdkafka_mock.h).
 *
 * scripts/kafka start --embedded-kafka runs it in the background instead of
 * the JVM broker.  It serves produce, fetch, metadata, idempotent producers
 * and consumer groups on loopback.  librdkafka 2.0.2's mock brokers bind
 * ephemeral ports (there is no way to choose one), so the program prints the
 * actual bootstrap address on stdout and writes it atomically to the file
 * named on the command line, which scripts/kafka points at
 * $BRR_VAR/run/kafka.bootstrap.  The data lives in memory only.
 *
 * The mock answers Metadata with auto-creation, but not CreateTopics, so
 * topics can be created up front with --topic or --topics-file.  It runs
 * until SIGTERM, SIGINT or SIGHUP, then removes the bootstrap file.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define EK_MAX_TOPICS 1024
#define EK_MAX_PARTITIONS 1024

typedef struct {
    char *name;
    int partitions;
} ek_topic_t;

static ek_topic_t ek_topics[EK_MAX_TOPICS];
static int ek_ntopics;

static void ek_usage(FILE *out)
{
    fprintf(out,
            "usage: brr-embedded-kafka [options] [BOOTSTRAP-FILE]\n"
            "\n"
            "Runs a single-broker librdkafka mock cluster on loopback until\n"
            "SIGTERM/SIGINT, prints its bootstrap address and writes it to\n"
            "BOOTSTRAP-FILE (removed again on exit).\n"
            "\n"
            "  -b, --brokers N         number of mock brokers (default 1)\n"
            "  -p, --partitions N      partitions for --topic entries without\n"
            "                          a count (default 4)\n"
            "  -t, --topic NAME[:N]    create topic NAME with N partitions\n"
            "                          (repeatable)\n"
            "  -T, --topics-file FILE  one topic per line, NAME[:N] or\n"
            "                          NAME N [config...]; '#' comments;\n"
            "                          names with '*' are skipped\n"
            "  -h, --help              this text\n");
}

/* Parses a decimal in [min, max]; returns 0 or -1. */
static int ek_parse_int(const char *s, int min, int max, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

/* Adds "NAME[:N]" (trimmed) to the topic list; returns 0 or -1. */
static int ek_topic_add(const char *spec, int default_partitions)
{
    char *copy, *colon, *name;
    size_t len;
    int partitions = default_partitions;

    while (*spec == ' ' || *spec == '\t')
        spec++;
    copy = strdup(spec);
    if (copy == NULL)
        abort();
    len = strlen(copy);
    while (len > 0 && strchr(" \t\r\n", copy[len - 1]) != NULL)
        copy[--len] = '\0';
    colon = strrchr(copy, ':');
    if (colon != NULL) {
        *colon = '\0';
        if (ek_parse_int(colon + 1, 1, EK_MAX_PARTITIONS, &partitions) < 0) {
            fprintf(stderr, "brr-embedded-kafka: bad partition count in '%s'\n",
                    spec);
            free(copy);
            return -1;
        }
    }
    name = copy;
    if (*name == '\0' || strlen(name) > 249 ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789._-") != strlen(name)) {
        fprintf(stderr, "brr-embedded-kafka: bad topic name in '%s'\n", spec);
        free(copy);
        return -1;
    }
    if (ek_ntopics == EK_MAX_TOPICS) {
        fprintf(stderr, "brr-embedded-kafka: more than %d topics\n",
                EK_MAX_TOPICS);
        free(copy);
        return -1;
    }
    ek_topics[ek_ntopics].name = name;
    ek_topics[ek_ntopics].partitions = partitions;
    ek_ntopics++;
    return 0;
}

static int ek_topics_file_read(const char *path, int default_partitions)
{
    FILE *fp = fopen(path, "r");
    char line[512];
    int rc = 0;

    if (fp == NULL) {
        fprintf(stderr, "brr-embedded-kafka: could not open %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    while (rc == 0 && fgets(line, sizeof(line), fp) != NULL) {
        char *p = line + strspn(line, " \t");
        char *hash = strchr(p, '#');
        char *name, *count, *save = NULL;
        char spec[512];

        if (hash != NULL)
            *hash = '\0';
        name = strtok_r(p, " \t\r\n", &save);
        if (name == NULL)
            continue;
        /* Patterns such as brr.organisations.*.v1 are brrctl's to expand;
         * the mock auto-creates those topics on first use. */
        if (strchr(name, '*') != NULL) {
            fprintf(stderr, "brr-embedded-kafka: skipping pattern %s\n", name);
            continue;
        }
        count = strtok_r(NULL, " \t\r\n", &save);
        if (count != NULL && strchr(name, ':') == NULL &&
            strchr(count, '=') == NULL)
            snprintf(spec, sizeof(spec), "%s:%s", name, count);
        else
            snprintf(spec, sizeof(spec), "%s", name);
        rc = ek_topic_add(spec, default_partitions);
    }
    fclose(fp);
    return rc;
}

/* Writes the address to path through a temporary file and rename(2), so
 * readers never see a partial line. */
static int ek_bootstrap_write(const char *path, const char *bootstraps)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    FILE *fp;

    if (tmp == NULL)
        abort();
    snprintf(tmp, n, "%s.tmp", path);
    fp = fopen(tmp, "w");
    if (fp == NULL || fprintf(fp, "%s\n", bootstraps) < 0 || fclose(fp) != 0) {
        fprintf(stderr, "brr-embedded-kafka: could not write %s: %s\n", tmp,
                strerror(errno));
        free(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "brr-embedded-kafka: could not rename %s: %s\n", tmp,
                strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"partitions", required_argument, NULL, 'p'},
        {"topic", required_argument, NULL, 't'},
        {"topics-file", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *topic_specs[EK_MAX_TOPICS];
    const char *topics_file = NULL;
    const char *bootstrap_file = NULL;
    int nspecs = 0, brokers = 1, partitions = 4, opt, sig, status = 0;
    char errstr[512];
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mcluster;
    const char *bootstraps;
    sigset_t sigs;

    while ((opt = getopt_long(argc, argv, "b:p:t:T:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'b':
            if (ek_parse_int(optarg, 1, 16, &brokers) < 0) {
                fprintf(stderr, "brr-embedded-kafka: bad --brokers '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'p':
            if (ek_parse_int(optarg, 1, EK_MAX_PARTITIONS, &partitions) < 0) {
                fprintf(stderr, "brr-embedded-kafka: bad --partitions '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 't':
            if (nspecs == EK_MAX_TOPICS) {
                fprintf(stderr, "brr-embedded-kafka: too many --topic\n");
                return 2;
            }
            topic_specs[nspecs++] = optarg;
            break;
        case 'T':
            topics_file = optarg;
            break;
        case 'h':
            ek_usage(stdout);
            return 0;
        default:
            ek_usage(stderr);
            return 2;
        }
    }
    if (optind < argc)
        bootstrap_file = argv[optind++];
    if (optind < argc) {
        ek_usage(stderr);
        return 2;
    }
    /* Partition counts for --topic are resolved after -p is known. */
    for (int i = 0; i < nspecs; i++)
        if (ek_topic_add(topic_specs[i], partitions) < 0)
            return 2;
    if (topics_file != NULL && ek_topics_file_read(topics_file, partitions) < 0)
        return 2;

    /* Block the stop signals before librdkafka starts its threads, so they
     * inherit the mask and only sigwait() below sees them. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    conf = rd_kafka_conf_new();
    /* log_level 4 hides the notice that the host handle has no brokers. */
    if (rd_kafka_conf_set(conf, "client.id", "brr-embedded-kafka", errstr,
                          sizeof(errstr)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK) {
        fprintf(stderr, "brr-embedded-kafka: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    /* The handle only hosts the mock cluster; it never connects anywhere. */
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, "brr-embedded-kafka: could not create handle: %s\n",
                errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    conf = NULL; /* owned by rk now */

    mcluster = rd_kafka_mock_cluster_new(rk, brokers);
    if (mcluster == NULL) {
        fprintf(stderr, "brr-embedded-kafka: could not create mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    for (int i = 0; i < ek_ntopics; i++) {
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(
            mcluster, ek_topics[i].name, ek_topics[i].partitions,
            brokers < 3 ? brokers : 3);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr,
                    "brr-embedded-kafka: could not create topic %s: "
                    "%s\n",
                    ek_topics[i].name, rd_kafka_err2str(err));
            status = 1;
            goto out;
        }
    }

    bootstraps = rd_kafka_mock_cluster_bootstraps(mcluster);
    if (bootstrap_file != NULL &&
        ek_bootstrap_write(bootstrap_file, bootstraps) < 0) {
        status = 1;
        goto out;
    }
    printf("%s\n", bootstraps);
    fflush(stdout);
    fprintf(stderr,
            "brr-embedded-kafka: %d broker(s) at %s, %d topic(s) created\n",
            brokers, bootstraps, ek_ntopics);

    do {
        if (sigwait(&sigs, &sig) != 0)
            sig = SIGTERM;
    } while (sig != SIGTERM && sig != SIGINT && sig != SIGHUP);
    fprintf(stderr, "brr-embedded-kafka: stopping on signal %d\n", sig);
    if (bootstrap_file != NULL)
        unlink(bootstrap_file);

out:
    rd_kafka_mock_cluster_destroy(mcluster);
    rd_kafka_destroy(rk);
    for (int i = 0; i < ek_ntopics; i++)
        free(ek_topics[i].name);
    return status;
}
