/*
 * fuzz_app.c: libFuzzer target for the request parsing of POST
 * /v1/applications (intake_app_parse in services/intake/app.c), the part
 * of brr that reads the most untrusted bytes.  Besides the sanitizers'
 * findings it checks the parser's own promises on every input: a valid
 * application has a 9-digit BSN passing the elfproef, 1 to 100 claims and
 * bounded amounts; an invalid one has 1 to INTAKE_MAX_ERRORS errors with
 * terminated field names; every answer can be rendered; and the text
 * writers used on the commit path (intake_app_public_write and
 * intake_app_personal_write) write JSON equal to the jansson objects.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "intake.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int known(void *arg, const char *code)
{
    (void)arg;
    return strcmp(code, "CJIB") == 0 || strcmp(code, "DUO") == 0 ||
           strcmp(code, "BELASTINGDIENST") == 0;
}

static void check(int ok)
{
    if (!ok)
        abort();
}

/* The writer's text parses to an object equal to want (NULL: the writer
 * must have written nothing and said so). */
static void check_written(json_t *want, int wrote, const brr_jbuf_t *b)
{
    json_t *got;
    if (want == NULL) {
        check(!wrote && b->len == 0);
        return;
    }
    check(wrote);
    got = json_loadb(b->p, b->len, JSON_REJECT_DUPLICATES, NULL);
    check(got != NULL && json_equal(got, want));
    json_decref(got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static intake_app_t app;
    int rc = intake_app_parse((const char *)data, size, "CJIB", "2025-03-10",
                              known, NULL, &app);
    check(rc == 0 || rc == BRR_EINVAL || rc == BRR_EPARSE);
    check(app.nerrors <= INTAKE_MAX_ERRORS);
    for (size_t i = 0; i < app.nerrors; i++) {
        check(memchr(app.errors[i].field, '\0', sizeof(app.errors[i].field)) !=
              NULL);
        check(memchr(app.errors[i].detail, '\0',
                     sizeof(app.errors[i].detail)) != NULL);
    }
    if (rc == 0) {
        json_t *pub, *pd;
        char *text;
        brr_jbuf_t b;
        check(app.nerrors == 0);
        check(brr_bsn_valid(app.bsn, strlen(app.bsn), NULL));
        check(app.nclaims >= 1 && app.nclaims <= INTAKE_MAX_CLAIMS);
        check(app.due_day >= 1 && app.due_day <= 28);
        for (size_t i = 0; i < app.nclaims; i++)
            check(app.claims[i].open_cents >= 1 &&
                  app.claims[i].open_cents <= INTAKE_MAX_CLAIM_CENTS);
        check(app.requested_instalment_cents >= 0 &&
              app.requested_instalment_cents <= INTAKE_MAX_CLAIM_CENTS);
        check(
            app.personal.iban[0] == '\0' ||
            brr_iban_valid(app.personal.iban, strlen(app.personal.iban), NULL));
        check(
            app.personal.email[0] == '\0' ||
            intake_email_valid(app.personal.email, strlen(app.personal.email)));
        pub = intake_app_public_json(&app);
        check(pub != NULL);
        text = json_dumps(pub, JSON_COMPACT);
        check(text != NULL && strstr(text, app.bsn) == NULL);
        free(text);
        brr_jbuf_init(&b);
        intake_app_public_write(&app, &b);
        check_written(pub, 1, &b);
        json_decref(pub);
        brr_jbuf_reset(&b);
        pd = intake_app_personal_json(&app);
        check_written(pd, intake_app_personal_write(&app, &b), &b);
        json_decref(pd);
        brr_jbuf_free(&b);
    } else {
        char *p;
        check(app.nerrors >= 1);
        p = intake_problem(400, "invalid application", "fuzz", app.errors,
                           app.nerrors);
        check(p != NULL);
        free(p);
    }
    return 0;
}
