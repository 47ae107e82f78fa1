/*
 * brrctl topics: creates the topics of deploy/kafka/topics.conf through the
 * Kafka admin API.  A "*" in a name expands to every organisation in the
 * registry (connector.organisations), so a new organisation's topic is one
 * `brrctl topics` away.  Every topic gets a <topic>.dlq beside it.  Topics
 * that exist are left as they are, so running it twice is safe.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "brrctl.h"
#include "pg.h"

#define MAX_TOPICS 4096

typedef struct {
    char *name;
    int partitions;
    char *configs; /* "k=v k=v" */
} topic_def_t;

static topic_def_t defs[MAX_TOPICS];
static size_t ndefs;

static void add_def(const char *name, int partitions, const char *configs)
{
    if (ndefs == MAX_TOPICS)
        return;
    defs[ndefs].name = strdup(name);
    defs[ndefs].partitions = partitions;
    defs[ndefs].configs = strdup(configs);
    ndefs++;
}

/* The organisation codes in the registry, lower-cased for topic names. */
static char **org_codes(size_t *n)
{
    brr_pg_t *pg;
    PGresult *res;
    char **out = NULL;
    *n = 0;
    if (brr_pg_connect(brrctl_conf.pg_dsn, "brrctl", &pg) != 0 ||
        brr_pg_query(pg,
                     "SELECT code FROM connector.organisations ORDER BY code",
                     0, NULL, &res) != 0) {
        brr_pg_close(pg);
        return NULL;
    }
    out = calloc((size_t)PQntuples(res) + 1, sizeof(char *));
    for (int i = 0; i < PQntuples(res); i++)
        out[(*n)++] = strdup(PQgetvalue(res, i, 0));
    PQclear(res);
    brr_pg_close(pg);
    return out;
}

static int load_defs(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    size_t norgs = 0;
    char **orgs = NULL;
    int lineno = 0;

    if (f == NULL)
        return brrctl_fail("could not open topic definitions \"%s\"", path);
    while (fgets(line, sizeof(line), f) != NULL) {
        char name[256], rest[768] = "";
        int parts;
        char *star;
        lineno++;
        if (line[strspn(line, " \t")] == '#' ||
            line[strspn(line, " \t\r\n")] == '\0')
            continue;
        if (sscanf(line, "%255s %d %767[^\n]", name, &parts, rest) < 2 ||
            parts < 1 || parts > 1024) {
            fclose(f);
            return brrctl_fail("%s:%d: expected \"name partitions "
                               "[config=value ...]\"",
                               path, lineno);
        }
        if ((star = strchr(name, '*')) == NULL) {
            add_def(name, parts, rest);
            continue;
        }
        if (orgs == NULL && (orgs = org_codes(&norgs)) == NULL) {
            fclose(f);
            return brrctl_fail("could not read the organisation registry "
                               "(run brrctl migrate first)");
        }
        for (size_t i = 0; i < norgs; i++) {
            char t[512];
            /* topic names are lower case: brr.organisations.cjib.v1 */
            int n = snprintf(t, sizeof(t), "%.*s", (int)(star - name), name);
            for (const char *c = orgs[i]; *c && n < (int)sizeof(t) - 1; c++)
                t[n++] = (char)tolower((unsigned char)*c);
            snprintf(t + n, sizeof(t) - (size_t)n, "%s", star + 1);
            add_def(t, parts, rest);
        }
    }
    fclose(f);
    for (size_t i = 0; i < norgs; i++)
        free(orgs[i]);
    free(orgs);
    return 0;
}

/* For librdkafka's mock cluster (scripts/kafka --embedded-kafka), which
 * has no CreateTopics: a metadata request for a topic creates it. */
static int auto_create(rd_kafka_t *rk)
{
    int rc = 0;
    for (size_t i = 0; i < ndefs; i++) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, defs[i].name, NULL);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
            rc = brrctl_fail("topic %s: %s", defs[i].name,
                             rd_kafka_err2str(err));
        if (md != NULL)
            rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
    }
    if (rc == 0)
        printf("topics: %zu requested from the embedded broker\n", ndefs);
    return rc;
}

int brrctl_topics(int argc, char **argv)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    rd_kafka_NewTopic_t **nts;
    rd_kafka_queue_t *q;
    rd_kafka_event_t *ev;
    size_t n, created = 0, existed = 0, total;
    int rc = 0;

    int embedded = argc > 0 && strcmp(argv[0], "--auto-create") == 0;

    if ((rc = load_defs(brrctl_conf.topics_file)) != 0)
        return rc;
    total = ndefs;
    for (size_t i = 0; i < total; i++) {
        char dlq[600];
        snprintf(dlq, sizeof(dlq), "%s.dlq", defs[i].name);
        add_def(dlq, 1, "retention.ms=-1");
    }
    n = ndefs;
    rd_kafka_conf_set(conf, "bootstrap.servers", brrctl_conf.brokers, err,
                      sizeof(err));
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk == NULL)
        return brrctl_fail("could not create kafka client: %s", err);
    if (embedded) {
        rc = auto_create(rk);
        rd_kafka_destroy(rk);
        return rc;
    }
    nts = calloc(n, sizeof(*nts));
    for (size_t i = 0; i < n; i++) {
        char *cfg = defs[i].configs, *save = NULL, *tok;
        nts[i] = rd_kafka_NewTopic_new(defs[i].name, defs[i].partitions, 1, err,
                                       sizeof(err));
        if (nts[i] == NULL)
            return brrctl_fail("topic %s: %s", defs[i].name, err);
        for (tok = strtok_r(cfg, " \t", &save); tok != NULL;
             tok = strtok_r(NULL, " \t", &save)) {
            char *eq = strchr(tok, '=');
            if (eq == NULL)
                continue;
            *eq = '\0';
            rd_kafka_NewTopic_set_config(nts[i], tok, eq + 1);
        }
    }
    q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, nts, n, NULL, q);
    ev = rd_kafka_queue_poll(q, 60000);
    if (ev == NULL || rd_kafka_event_error(ev)) {
        rc = brrctl_fail("could not create topics: %s",
                         ev ? rd_kafka_event_error_string(ev) : "timed out");
    } else {
        size_t cnt;
        const rd_kafka_topic_result_t **tr =
            rd_kafka_CreateTopics_result_topics(
                rd_kafka_event_CreateTopics_result(ev), &cnt);
        for (size_t i = 0; i < cnt; i++) {
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
                created++;
            else if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                existed++;
            else
                rc = brrctl_fail("topic %s: %s",
                                 rd_kafka_topic_result_name(tr[i]),
                                 rd_kafka_topic_result_error_string(tr[i]));
        }
    }
    if (ev != NULL)
        rd_kafka_event_destroy(ev);
    rd_kafka_NewTopic_destroy_array(nts, n);
    free(nts);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    if (rc == 0)
        printf("topics: %zu created, %zu existed\n", created, existed);
    return rc;
}
