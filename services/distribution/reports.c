/*
 * reports.c: what an organisation reports back (brr.intake.reports.v1,
 * accepted by brr-intake over mTLS with the organisation taken from the
 * client certificate): payment received, claim changed, claim withdrawn,
 * new claim, end requested.  Applied to the arrangement in memory; the
 * batch then splits again what nobody paid on yet and tells every
 * organisation whose part changed.
 *
 * Each (organisation, report id) has one effect: a repeat is dropped, and
 * a report that cannot apply (unknown claim, arrangement closed, amount
 * above the balance) is refused once, recorded in applied_reports and
 * answered with a report.refused event to the organisation.
 */
#include <stdio.h>
#include <string.h>

#include "brr/v1/arrangement.pb-c.h"
#include "dist.h"
#include "err.h"
#include "log.h"

#define REPORT_ID_MAX 64

static const char *kind_name(Brr__V1__ReportKind k)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &brr__v1__report_kind__descriptor, (int)k);
    return v ? v->name : "REPORT_UNSPECIFIED";
}

static void record(dist_batch_t *b, const Brr__V1__OrganisationReport *r,
                   const char *outcome, const char *reason)
{
    json_array_append_new(
        b->reports,
        json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s?}", "organisation",
                  r->organisation, "report_id", r->report_id, "arrangement_id",
                  r->arrangement_id[0] ? r->arrangement_id : NULL, "kind",
                  kind_name(r->kind), "outcome", outcome, "reason", reason));
}

static void refuse(dist_batch_t *b, brr_msg_t *m,
                   const Brr__V1__OrganisationReport *r, dist_item_t *it,
                   const char *reason, brr_outbox_t *ob)
{
    record(b, r, "REFUSED", reason);
    /* the connector needs an arrangement to sequence the answer by */
    if (r->organisation[0] != '\0' && r->arrangement_id[0] != '\0') {
        Brr__V1__OrganisationEvent oe = BRR__V1__ORGANISATION_EVENT__INIT;
        char topic[200];
        oe.event_type = "report.refused";
        oe.arrangement_id = r->arrangement_id;
        oe.organisation = r->organisation;
        oe.state = it ? (Brr__V1__ArrangementState)((int)it->a.state + 1)
                      : BRR__V1__ARRANGEMENT_STATE__STATE_UNSPECIFIED;
        oe.report_id = r->report_id;
        oe.reason = (char *)reason;
        dist_org_topic(r->organisation, topic, sizeof(topic));
        brr_outbox_add(ob, topic, m->key, "arrangement", r->arrangement_id,
                       "report.refused", &oe.base,
                       m->traceparent[0] ? m->traceparent : NULL, NULL);
        b->events++;
    }
    if (it != NULL)
        dist_batch_history(
            b, it->id, NULL, "report.refused", dist_state_name(it->a.state),
            json_pack("{s:s, s:s, s:s, s:s, s:s}", "organisation",
                      r->organisation, "report_id", r->report_id, "kind",
                      kind_name(r->kind), "reference", r->reference, "reason",
                      reason));
    brr_log_info("report refused", "eid", m->event_id, "reason", reason, NULL);
}

static int has_claims(const dist_arr_t *a, const char *org)
{
    for (size_t i = 0; i < a->nclaims; i++)
        if (strcmp(a->claims[i].c.organisation, org) == 0)
            return 1;
    return 0;
}

static const char *reason_of(int rc)
{
    switch (rc) {
    case BRR_ENOTFOUND:
        return "UNKNOWN_CLAIM";
    case BRR_EEXISTS:
        return "CLAIM_EXISTS";
    case BRR_ERANGE:
        return "AMOUNT_ABOVE_BALANCE";
    default:
        return "INVALID_REPORT";
    }
}

void dist_report_apply(dist_batch_t *b, brr_msg_t *m,
                       const Brr__V1__OrganisationReport *r, brr_outbox_t *ob)
{
    const char *org = r->organisation;
    dist_item_t *it;
    int rc;

    if (r->report_id[0] == '\0' || strlen(r->report_id) > REPORT_ID_MAX) {
        m->rc = BRR_EINVAL;
        m->error = "report without a valid report id";
        return;
    }
    if (dist_batch_report_seen(b, org, r->report_id))
        return; /* the same report again: it had its effect */
    it = dist_batch_find(b, r->arrangement_id);
    if (it == NULL) {
        refuse(b, m, r, NULL, "UNKNOWN_ARRANGEMENT", ob);
        return;
    }
    if (!dist_arr_live(&it->a)) {
        refuse(b, m, r, it, "ARRANGEMENT_CLOSED", ob);
        return;
    }
    switch (r->kind) {
    case BRR__V1__REPORT_KIND__PAYMENT_RECEIVED:
        rc = dist_arr_pay(&it->a, org, r->reference, r->amount_cents);
        break;
    case BRR__V1__REPORT_KIND__CLAIM_CHANGED:
        rc = dist_arr_claim_set(&it->a, org, r->reference, r->open_cents);
        break;
    case BRR__V1__REPORT_KIND__CLAIM_WITHDRAWN:
        rc = dist_arr_claim_withdraw(&it->a, org, r->reference);
        break;
    case BRR__V1__REPORT_KIND__NEW_CLAIM: {
        int32_t due = b->today;
        if (r->due_date[0] != '\0' &&
            dist_date_parse(r->due_date, strlen(r->due_date), &due) != 0) {
            rc = BRR_EINVAL;
            break;
        }
        rc = dist_arr_claim_new(&it->a, org, r->reference, r->open_cents, due);
        break;
    }
    case BRR__V1__REPORT_KIND__END_REQUESTED:
        if (org[0] != '\0' && !has_claims(&it->a, org)) {
            refuse(b, m, r, it, "NOT_A_PARTICIPANT", ob);
            return;
        }
        rc = dist_arr_end(&it->a);
        if (rc == 0)
            it->reason = brr_arena_strdup(
                b->arena, r->reason[0] ? r->reason : "ON_REQUEST");
        break;
    default:
        refuse(b, m, r, it, "UNKNOWN_KIND", ob);
        return;
    }
    if (rc != 0) {
        refuse(b, m, r, it, reason_of(rc), ob);
        return;
    }
    record(b, r, "APPLIED", NULL);
    it->touched = 1;
    it->resplit = 1;
    it->report_id = brr_arena_strdup(b->arena, r->report_id);
    it->reporter = brr_arena_strdup(b->arena, org);
    it->traceparent = m->traceparent;
    dist_batch_history(b, it->id, m->event_id[0] ? m->event_id : NULL,
                       "report.applied", dist_state_name(it->a.state),
                       json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s?}",
                                 "organisation", org[0] ? org : "(operator)",
                                 "report_id", r->report_id, "kind",
                                 kind_name(r->kind), "reference", r->reference,
                                 "amount_cents", (json_int_t)r->amount_cents,
                                 "open_cents", (json_int_t)r->open_cents,
                                 "reason", r->reason[0] ? r->reason : NULL));
}
