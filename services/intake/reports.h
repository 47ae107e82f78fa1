/*
 * reports.h: POST /v1/reports on brr-intake's public API, where a
 * participating organisation reports back about an arrangement (payment
 * received, claim changed, claim withdrawn, new claim, end requested).  See
 * reports.c.
 */
#ifndef BRR_INTAKE_REPORTS_H
#define BRR_INTAKE_REPORTS_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "intake.h"
#include "peer.h"
#include "service.h"

#define INTAKE_REPORT_ID_MAX 64
#define INTAKE_REPORT_REASON_MAX 200

typedef struct {
    char report_id[INTAKE_REPORT_ID_MAX + 1];
    char arrangement_id[40];
    int kind; /* Brr__V1__ReportKind */
    char reference[65];
    int64_t amount_cents, open_cents;
    char due_date[11], received_on[11];
    char reason[INTAKE_REPORT_REASON_MAX + 1];
    intake_error_t errors[INTAKE_MAX_ERRORS];
    size_t nerrors;
} intake_report_t;

/* Parses and validates one report body (len bytes).  The organisation is
 * never taken from the body: a body naming one is refused.  Returns 0 when
 * valid; otherwise BRR_EPARSE (not a JSON object: one error) or BRR_EINVAL
 * with every invalid field in rep->errors. */
int intake_report_parse(const char *body, size_t len, intake_report_t *rep);

/* Routes POST /v1/reports on srv: the organisation is the CN of a client
 * certificate of the organisation role in roles (kept by the caller for
 * as long as srv runs) and must be in the registry; each organisation may
 * send rate reports per second with bursts of burst (429 beyond); the
 * report goes to brr.intake.reports.v1 through svc's outbox, keyed by the
 * citizen of the arrangement (intake.arrangements_view), once per
 * (organisation, report id).  Returns 0. */
int intake_reports_start(brr_service_t *svc, brr_http_server_t *srv,
                         const intake_roles_t *roles, double rate,
                         double burst);

#endif
