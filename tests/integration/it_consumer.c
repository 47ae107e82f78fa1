/*
 * it_consumer: the receiving half of the exactly-once integration test: a
 * real brr service (the common consumer runtime, inbox, outbox) whose
 * change is counting: it_dst.applied(event_id, n) gets n + 1 per
 * application of an event.  Exactly once means every n is 1, whatever
 * SIGKILLs and repeats happened.  BRR_IT_DELAY_US slows each batch inside
 * its transaction so a kill lands mid-batch.  BRR_IT_TOPICS (comma
 * separated) and BRR_IT_GROUP change what it subscribes to and its
 * consumer group (the static membership test).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "service.h"

#define IT_MAX_TOPICS 4

static int64_t delay_us;
static char *topic_list, *group;
static const brr_config_entry_t config[] = {
    {"BRR_IT_DELAY_US", BRR_CONF_INT, &delay_us, "0", 0, 10000000, 0,
     "sleep inside each batch's transaction"},
    {"BRR_IT_TOPICS", BRR_CONF_STRING, &topic_list, "brr.it.events.v1", 0, 0, 0,
     "topics subscribed to, comma separated"},
    {"BRR_IT_GROUP", BRR_CONF_STRING, &group, "it-consumer", 0, 0, 0,
     "consumer group"},
    {0}};

static int it_apply(void *arg, brr_pg_t *pg, brr_pg_pipe_t *pp, brr_msg_t *msgs,
                    size_t n, brr_outbox_t *ob, brr_arena_t *a)
{
    const char **ids = brr_arena_calloc(a, n + 1, sizeof(char *));
    char *lit;
    const char *p[1];
    int rc;
    (void)arg;
    (void)ob;
    (void)pp;
    for (size_t i = 0; i < n; i++)
        ids[i] = msgs[i].event_id;
    lit = brr_pg_array_literal(ids, n);
    p[0] = lit;
    rc = brr_pg_query(pg,
                      "INSERT INTO it_dst.applied (event_id, n) SELECT "
                      "unnest($1::uuid[]), 1 ON CONFLICT (event_id) DO "
                      "UPDATE SET n = it_dst.applied.n + 1",
                      1, p, NULL);
    free(lit);
    if (delay_us > 0)
        usleep((useconds_t)delay_us);
    return rc;
}

int main(int argc, char **argv)
{
    static const char *topics[IT_MAX_TOPICS];
    brr_service_t svc;
    brr_service_def_t def = {.name = "it-consumer",
                             .schema = "it_dst",
                             .source = "/brr/it-consumer",
                             .admin_port = 8090,
                             .apply = it_apply,
                             .config = config};
    size_t n = 0;
    brr_service_init(&svc, &def, argc, argv);
    for (char *save = NULL, *t = strtok_r(topic_list, ",", &save);
         t != NULL && n < IT_MAX_TOPICS; t = strtok_r(NULL, ",", &save))
        topics[n++] = t;
    def.topics = topics;
    def.ntopics = n;
    def.name = group;
    return brr_service_run(&svc);
}
