/*
 * it_consumer: the receiving half of the exactly-once integration test: a
 * real brr service (the common consumer runtime, inbox, outbox) whose
 * change is counting: it_dst.applied(event_id, n) gets n + 1 per
 * application of an event.  Exactly once means every n is 1, whatever
 * SIGKILLs and repeats happened.  BRR_IT_DELAY_US slows each batch inside
 * its transaction so a kill lands mid-batch.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "service.h"

static int64_t delay_us;
static const brr_config_entry_t config[] = {
    {"BRR_IT_DELAY_US", BRR_CONF_INT, &delay_us, "0", 0, 10000000, 0,
     "sleep inside each batch's transaction"},
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

static const char *const topics[] = {"brr.it.events.v1"};

int main(int argc, char **argv)
{
    brr_service_t svc;
    brr_service_def_t def = {.name = "it-consumer",
                             .schema = "it_dst",
                             .source = "/brr/it-consumer",
                             .admin_port = 8090,
                             .topics = topics,
                             .ntopics = 1,
                             .apply = it_apply,
                             .config = config};
    brr_service_init(&svc, &def, argc, argv);
    return brr_service_run(&svc);
}
