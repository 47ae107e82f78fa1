/*
 * brr-capacity: consumes brr.intake.applications.v1 and decides the
 * repayment capacity of each application (DOMAIN §2-§3), producing
 * brr.capacity.assessments.v1.
 *
 * Each application is turned into the JSON request of `brrctl calc
 * capacity` and assessed through the same parser and rules, and that
 * request is stored as the assessment's inputs, beside the identifier of
 * the norm set used ("2024-01-01.r2"): `brrctl calc capacity --replay ID`
 * recomputes the stored inputs with exactly that set and shows whether it
 * gives the stored result back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "brr/v1/application.pb-c.h"
#include "brr/v1/assessment.pb-c.h"
#include "capacity_json.h"
#include "err.h"
#include "log.h"
#include "service.h"
#include "uuid.h"

#define TOPIC_IN "brr.intake.applications.v1"
#define TOPIC_OUT "brr.capacity.assessments.v1"

static char *normset_dir;
static brr_normsets_t normsets;

static const brr_config_entry_t config[] = {
    {"BRR_NORMSET_DIR", BRR_CONF_STRING, &normset_dir, BRR_NORMSET_DIR_DEFAULT,
     0, 0, 0, "directory of norm set files (one per half-year)"},
    {0}};

static const char *kind_name(Brr__V1__Kind k)
{
    return k == BRR__V1__KIND__KIND_MAATWERK ? "maatwerk" : "standard";
}

/* The application as the request of the capacity JSON contract. */
static json_t *request_json(const Brr__V1__Application *app)
{
    json_t *claims = json_array();
    json_t *req;
    for (size_t i = 0; i < app->n_claims; i++) {
        const Brr__V1__Claim *c = app->claims[i];
        json_array_append_new(
            claims, json_pack("{s:s, s:s, s:I, s:b}", "organisation",
                              c->organisation, "reference", c->reference,
                              "open_cents", (json_int_t)c->open_cents,
                              "under_objection", c->under_objection));
    }
    req = json_pack("{s:s, s:s, s:o}", "reference_date", app->reference_date,
                    "kind", kind_name(app->kind), "claims", claims);
    if (app->kind == BRR__V1__KIND__KIND_MAATWERK) {
        json_object_set_new(req, "household", json_string(app->household));
        json_object_set_new(req, "aow_age", json_boolean(app->aow_age));
        json_object_set_new(req, "net_income_cents",
                            json_integer(app->net_income_cents));
        json_object_set_new(req, "partner_net_income_cents",
                            json_integer(app->partner_net_income_cents));
        json_object_set_new(req, "extra_housing_cents",
                            json_integer(app->extra_housing_cents));
    }
    if (app->requested_instalment_cents > 0)
        json_object_set_new(req, "requested_instalment_cents",
                            json_integer(app->requested_instalment_cents));
    return req;
}

static int assess_one(brr_msg_t *m, brr_arena_t *arena, brr_outbox_t *ob,
                      json_t *rows)
{
    Brr__V1__Application *app;
    brr_capacity_input_t in;
    brr_capacity_result_t *res;
    Brr__V1__Assessment as = BRR__V1__ASSESSMENT__INIT;
    json_t *req, *result;
    char *req_text;
    char err[256], aid[40];
    int rc;

    app = brr__v1__application__unpack(brr_arena_protobuf(arena), m->len,
                                       m->value);
    if (app == NULL) {
        m->rc = BRR_EDECODE;
        m->error = "could not decode Application";
        return 0;
    }
    req = request_json(app);
    req_text = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS);
    rc =
        capacity_input_parse(req_text, strlen(req_text), &in, err, sizeof(err));
    if (rc != 0) {
        /* Intake validated it; a request the rules cannot read is a
         * defect to look at, not something to retry. */
        m->rc = BRR_EINVAL;
        m->error = brr_arena_strdup(arena, err);
        json_decref(req);
        free(req_text);
        return 0;
    }
    res = brr_arena_alloc(arena, sizeof(*res));
    rc = capacity_assess(&in.req, &normsets, NULL, BRR_CAPACITY_EXPLAIN, res);
    capacity_input_free(&in);
    if (rc != 0) {
        m->rc = rc;
        m->error = "the amounts could not be assessed";
        json_decref(req);
        free(req_text);
        return 0;
    }
    result = capacity_result_to_json(res);

    brr_uuid_v7_str(aid);
    as.assessment_id = aid;
    as.application_id = app->application_id;
    as.citizen_ref = app->citizen_ref;
    as.kind = app->kind;
    as.eligible = res->eligible;
    as.n_reasons = res->nreasons;
    as.reasons = brr_arena_calloc(arena, res->nreasons + 1, sizeof(char *));
    for (size_t i = 0; i < res->nreasons; i++)
        as.reasons[i] = res->reasons[i].code;
    as.group = res->group;
    as.bvv_cents = res->has_bvv ? res->bvv_cents : 0;
    as.capacity_cents = res->capacity_cents;
    as.instalment_cents = res->instalment_cents;
    as.months = res->months;
    as.last_instalment_cents = res->last_instalment_cents;
    as.starts_paused = res->starts_paused;
    as.norm_set = res->norm_set;
    as.rule_version = (char *)res->rule_version;
    as.n_explanation = res->nlines;
    as.explanation = brr_arena_calloc(arena, res->nlines + 1, sizeof(char *));
    for (size_t i = 0; i < res->nlines; i++)
        as.explanation[i] = res->explanation[i];
    /* claims under objection are held out of the arrangement */
    as.claims = brr_arena_calloc(arena, app->n_claims + 1, sizeof(void *));
    for (size_t i = 0; i < app->n_claims; i++)
        if (!app->claims[i]->under_objection)
            as.claims[as.n_claims++] = app->claims[i];
    as.due_day = app->due_day;
    as.reference_date = app->reference_date;
    as.submitted_at_ms = app->submitted_at_ms;
    brr_outbox_add(ob, TOPIC_OUT, m->key, "application", app->application_id,
                   "assessment.made", &as.base, m->traceparent, NULL);

    json_array_append_new(
        rows,
        json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:O, s:s, s:s, s:O}",
                  "assessment_id", aid, "application_id", app->application_id,
                  "citizen_ref", app->citizen_ref, "kind", kind_name(app->kind),
                  "eligible", res->eligible, "inputs", req, "result", result,
                  "norm_set", res->norm_set, "rule_version", res->rule_version,
                  "explanation", json_object_get(result, "explanation")));
    json_decref(result);
    free(req_text);
    return 0;
}

static int capacity_apply(void *arg, brr_pg_t *pg, brr_pg_pipe_t *pp,
                          brr_msg_t *msgs, size_t n, brr_outbox_t *ob,
                          brr_arena_t *arena)
{
    json_t *rows = json_array();
    (void)arg;
    (void)pg;
    for (size_t i = 0; i < n; i++)
        assess_one(&msgs[i], arena, ob, rows);
    if (json_array_size(rows) > 0) {
        char *doc = json_dumps(rows, JSON_COMPACT);
        const char *p[1] = {doc};
        brr_pg_pipe_add(
            pp,
            "INSERT INTO capacity.assessments (assessment_id, application_id, "
            "citizen_ref, kind, eligible, inputs, result, norm_set, "
            "rule_version, explanation) "
            "SELECT assessment_id, application_id, citizen_ref, kind, "
            "eligible, inputs, result, norm_set, rule_version, explanation "
            "FROM jsonb_to_recordset($1::jsonb) AS x(assessment_id uuid, "
            "application_id uuid, citizen_ref uuid, kind text, eligible bool, "
            "inputs jsonb, result jsonb, norm_set text, rule_version text, "
            "explanation jsonb) ON CONFLICT (application_id) DO NOTHING",
            1, p, NULL, NULL);
        free(doc);
    }
    json_decref(rows);
    return 0;
}

static const char *const topics[] = {TOPIC_IN};

int main(int argc, char **argv)
{
    brr_service_t svc;
    brr_service_def_t def = {.name = "brr-capacity",
                             .schema = "capacity",
                             .source = "/brr/capacity",
                             .admin_port = 8082,
                             .topics = topics,
                             .ntopics = 1,
                             .apply = capacity_apply,
                             .config = config};
    char err[512];
    int rc;

    brr_service_init(&svc, &def, argc, argv);
    if (capacity_normsets_load_dir(normset_dir, &normsets, err, sizeof(err)) !=
        0) {
        brr_log_error("could not load norm sets", "dir", normset_dir, "err",
                      err, NULL);
        return 2;
    }
    rc = brr_service_run(&svc);
    capacity_normsets_free(&normsets);
    return rc;
}
