/*
 * app.c: the application request of POST /v1/applications.
 *
 * Strict: the body must be one JSON object with no duplicate keys, no
 * unknown fields, every field of the right type and within bounds.  Every
 * invalid field is reported, not just the first, so a web form can mark
 * them all at once.  No I/O: the registry of organisations is asked through
 * a callback.
 */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "intake.h"
#include "validate.h"

static void fail(intake_app_t *app, const char *field, const char *fmt,
                 const char *arg)
{
    intake_error_t *e;
    if (app->nerrors == INTAKE_MAX_ERRORS)
        return;
    e = &app->errors[app->nerrors++];
    snprintf(e->field, sizeof(e->field), "%s", field);
    snprintf(e->detail, sizeof(e->detail), fmt, arg ? arg : "");
}

/* An integer field in [min, max]; absent is fine when !required. */
static int get_cents(intake_app_t *app, json_t *obj, const char *key,
                     const char *field, int required, int64_t min, int64_t max,
                     int64_t *out)
{
    json_t *v = json_object_get(obj, key);
    char f[64];
    snprintf(f, sizeof(f), "%s", field);
    if (v == NULL) {
        if (required)
            fail(app, f, "is required", NULL);
        return 0;
    }
    if (!json_is_integer(v)) {
        size_t n = strlen(field);
        fail(app, f,
             n > 6 && strcmp(field + n - 6, "_cents") == 0
                 ? "must be a whole number of cents"
                 : "must be a whole number",
             NULL);
        return 0;
    }
    if (json_integer_value(v) < min || json_integer_value(v) > max) {
        char range[64];
        snprintf(range, sizeof(range), "%lld to %lld", (long long)min,
                 (long long)max);
        fail(app, f, "must be from %s", range);
        return 0;
    }
    *out = json_integer_value(v);
    return 1;
}

static const char *get_string(intake_app_t *app, json_t *obj, const char *key,
                              const char *field, int required)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (required)
            fail(app, field, "is required", NULL);
        return NULL;
    }
    if (!json_is_string(v)) {
        fail(app, field, "must be a string", NULL);
        return NULL;
    }
    return json_string_value(v);
}

static void check_unknown(intake_app_t *app, json_t *obj,
                          const char *const *allowed, const char *prefix)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        int ok = 0;
        (void)v;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, k) == 0)
                ok = 1;
        if (!ok) {
            char f[64];
            snprintf(f, sizeof(f), "%s%.40s", prefix, k);
            fail(app, f, "is not a known field", NULL);
        }
    }
}

static const char *const top_fields[] = {"bsn",
                                         "channel",
                                         "kind",
                                         "contact",
                                         "refund_account",
                                         "claims",
                                         "requested_instalment_cents",
                                         "due_day",
                                         "reference_date",
                                         "household",
                                         "aow_age",
                                         "net_income_cents",
                                         "partner_net_income_cents",
                                         "extra_housing_cents",
                                         "consent",
                                         NULL};
static const char *const contact_fields[] = {"email", "phone", "address", NULL};
static const char *const address_fields[] = {
    "street",   "house_number", "house_number_addition",
    "postcode", "city",         NULL};
static const char *const refund_fields[] = {"iban", "account_holder", NULL};
static const char *const claim_fields[] = {"organisation",    "reference",
                                           "open_cents",      "due_date",
                                           "under_objection", NULL};

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

int intake_email_valid(const char *s, size_t len)
{
    const char *at = memchr(s, '@', len);
    size_t local, labels = 0, lablen = 0;
    int tld_alpha = 1;
    if (len < 3 || len > INTAKE_MAX_EMAIL || at == NULL)
        return 0;
    local = (size_t)(at - s);
    if (local == 0 || local > 64 || s[0] == '.' || s[local - 1] == '.')
        return 0;
    for (size_t i = 0; i < local; i++) {
        char c = s[i];
        if (c == '.' && s[i + 1] == '.')
            return 0;
        if (!is_alnum(c) && !strchr(".!#$%&'*+/=?^_`{|}~-", c))
            return 0;
        if (c == '\0')
            return 0;
    }
    /* the domain: LDH labels of 1 to 63, at least two, alphabetic TLD */
    for (size_t i = local + 1; i <= len; i++) {
        char c = i < len ? s[i] : '.';
        if (c == '.') {
            if (lablen == 0 || s[i - 1] == '-')
                return 0;
            labels++;
            lablen = 0;
            continue;
        }
        if (!is_alnum(c) && c != '-')
            return 0;
        if (lablen == 0) {
            if (c == '-')
                return 0;
            tld_alpha = 1;
        }
        if (c < 'A' || (c > 'Z' && c < 'a') || c > 'z')
            tld_alpha = 0;
        if (++lablen > 63)
            return 0;
    }
    return labels >= 2 && tld_alpha && len - local - 1 >= 4 &&
           s[len - 2] != '.';
}

int intake_phone_valid(const char *s, size_t len, char out[13])
{
    char d[16];
    size_t n = 0, i = 0, start;
    if (len == 0 || len > 20)
        return 0;
    if (s[0] == '+')
        i = 1;
    for (; i < len; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            if (n == sizeof(d))
                return 0;
            d[n++] = s[i];
        } else if ((s[i] == ' ' || s[i] == '-') && n > 0 && i + 1 < len &&
                   s[i + 1] >= '0' && s[i + 1] <= '9') {
            continue; /* one separator between digits */
        } else {
            return 0;
        }
    }
    if (s[0] == '+') {
        if (n != 11 || d[0] != '3' || d[1] != '1')
            return 0;
        start = 2;
    } else if (n == 13 && memcmp(d, "0031", 4) == 0) {
        start = 4;
    } else if (n == 10 && d[0] == '0') {
        start = 1;
    } else {
        return 0;
    }
    if (d[start] == '0')
        return 0;
    memcpy(out, "+31", 3);
    memcpy(out + 3, d + start, 9);
    out[12] = '\0';
    return 1;
}

/* A bounded printable text field into out (cap includes the NUL). */
static void get_text(intake_app_t *app, json_t *obj, const char *key,
                     const char *prefix, int required, size_t max, char *out,
                     size_t cap)
{
    char f[64];
    const char *s;
    snprintf(f, sizeof(f), "%s%s", prefix, key);
    if ((s = get_string(app, obj, key, f, required)) == NULL)
        return;
    if (!brr_text_valid(s, 1, max) || strlen(s) >= cap) {
        char range[32];
        snprintf(range, sizeof(range), "%zu", max);
        fail(app, f, "must be 1 to %s printable characters", range);
        return;
    }
    memcpy(out, s, strlen(s) + 1);
}

static void parse_address(intake_app_t *app, json_t *a)
{
    intake_personal_t *pd = &app->personal;
    const char *s;
    int64_t hn = 0;
    size_t before = app->nerrors;
    if (!json_is_object(a)) {
        fail(app, "contact.address", "must be an object", NULL);
        return;
    }
    check_unknown(app, a, address_fields, "contact.address.");
    get_text(app, a, "street", "contact.address.", 1, INTAKE_MAX_TEXT,
             pd->street, sizeof(pd->street));
    if (get_cents(app, a, "house_number", "contact.address.house_number", 1, 1,
                  INTAKE_MAX_HOUSE_NUMBER, &hn))
        pd->house_number = (int)hn;
    if ((s = get_string(app, a, "house_number_addition",
                        "contact.address.house_number_addition", 0)) != NULL) {
        size_t n = strlen(s);
        int ok = n >= 1 && n <= 6;
        for (size_t i = 0; ok && i < n; i++)
            ok = is_alnum(s[i]) || (s[i] == '-' && i > 0);
        if (!ok)
            fail(app, "contact.address.house_number_addition",
                 "must be 1 to 6 letters or digits", NULL);
        else
            memcpy(pd->house_number_addition, s, n + 1);
    }
    if ((s = get_string(app, a, "postcode", "contact.address.postcode", 1)) !=
        NULL) {
        char up[8];
        size_t n = strlen(s);
        for (size_t i = 0; i < n && i < sizeof(up); i++)
            up[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 32) : s[i];
        if (n >= sizeof(up) || !brr_postcode_valid(up, n, pd->postcode))
            fail(app, "contact.address.postcode",
                 "must be a Dutch postcode such as 1234 AB", NULL);
    }
    get_text(app, a, "city", "contact.address.", 1, INTAKE_MAX_TEXT, pd->city,
             sizeof(pd->city));
    pd->has_address = app->nerrors == before;
}

static void parse_contact(intake_app_t *app, json_t *c)
{
    intake_personal_t *pd = &app->personal;
    const char *s;
    json_t *a;
    if (c == NULL)
        return;
    if (!json_is_object(c)) {
        fail(app, "contact", "must be an object", NULL);
        return;
    }
    check_unknown(app, c, contact_fields, "contact.");
    if ((s = get_string(app, c, "email", "contact.email", 0)) != NULL) {
        if (!intake_email_valid(s, strlen(s)))
            fail(app, "contact.email",
                 "must be an e-mail address of at most 254 characters", NULL);
        else
            memcpy(pd->email, s, strlen(s) + 1);
    }
    if ((s = get_string(app, c, "phone", "contact.phone", 0)) != NULL &&
        !intake_phone_valid(s, strlen(s), pd->phone))
        fail(app, "contact.phone",
             "must be a Dutch telephone number such as 06 12345678 or "
             "+31 30 1234567",
             NULL);
    if ((a = json_object_get(c, "address")) != NULL)
        parse_address(app, a);
}

static void parse_refund(intake_app_t *app, json_t *r)
{
    intake_personal_t *pd = &app->personal;
    const char *s;
    if (r == NULL)
        return;
    if (!json_is_object(r)) {
        fail(app, "refund_account", "must be an object", NULL);
        return;
    }
    check_unknown(app, r, refund_fields, "refund_account.");
    if ((s = get_string(app, r, "iban", "refund_account.iban", 1)) != NULL) {
        size_t n = strlen(s);
        if (n > 42 || !brr_iban_valid(s, n, pd->iban)) {
            pd->iban[0] = '\0';
            fail(app, "refund_account.iban",
                 "is not a valid IBAN (length per country, check digits)",
                 NULL);
        }
    }
    get_text(app, r, "account_holder", "refund_account.", 1, INTAKE_MAX_TEXT,
             pd->account_holder, sizeof(pd->account_holder));
}

static void parse_claims(intake_app_t *app, json_t *arr,
                         intake_org_known_cb known, void *arg)
{
    size_t i;
    json_t *c;
    if (arr == NULL) {
        fail(app, "claims", "is required", NULL);
        return;
    }
    if (!json_is_array(arr) || json_array_size(arr) == 0 ||
        json_array_size(arr) > INTAKE_MAX_CLAIMS) {
        fail(app, "claims", "must be a list of 1 to 100 claims", NULL);
        return;
    }
    json_array_foreach(arr, i, c)
    {
        intake_claim_t *cl = &app->claims[app->nclaims];
        char prefix[32], f[64];
        const char *s;
        snprintf(prefix, sizeof(prefix), "claims[%zu].", i);
        if (!json_is_object(c)) {
            snprintf(f, sizeof(f), "claims[%zu]", i);
            fail(app, f, "must be an object", NULL);
            continue;
        }
        check_unknown(app, c, claim_fields, prefix);
        memset(cl, 0, sizeof(*cl));
        snprintf(f, sizeof(f), "%sorganisation", prefix);
        if ((s = get_string(app, c, "organisation", f, 1)) != NULL) {
            if (!brr_org_code_valid(s, strlen(s)) || !known(arg, s))
                fail(app, f, "\"%.40s\" is not a participating organisation",
                     s);
            else
                snprintf(cl->organisation, sizeof(cl->organisation), "%s", s);
        }
        snprintf(f, sizeof(f), "%sreference", prefix);
        if ((s = get_string(app, c, "reference", f, 1)) != NULL) {
            if (!brr_text_valid(s, 1, 64))
                fail(app, f, "must be 1 to 64 printable characters", NULL);
            else if (app->bsn[0] != '\0' && strstr(s, app->bsn) != NULL)
                /* The reference leaves intake; the BSN must not. */
                fail(app, f, "must not contain the citizen's BSN", NULL);
            else
                snprintf(cl->reference, sizeof(cl->reference), "%s", s);
        }
        snprintf(f, sizeof(f), "%sopen_cents", prefix);
        get_cents(app, c, "open_cents", f, 1, 1, INTAKE_MAX_CLAIM_CENTS,
                  &cl->open_cents);
        snprintf(f, sizeof(f), "%sdue_date", prefix);
        if ((s = get_string(app, c, "due_date", f, 0)) != NULL) {
            if (!brr_date_valid(s, strlen(s), NULL, NULL, NULL))
                fail(app, f, "must be a date YYYY-MM-DD", NULL);
            else
                snprintf(cl->due_date, sizeof(cl->due_date), "%s", s);
        }
        {
            json_t *o = json_object_get(c, "under_objection");
            snprintf(f, sizeof(f), "%sunder_objection", prefix);
            if (o != NULL && !json_is_boolean(o))
                fail(app, f, "must be true or false", NULL);
            cl->under_objection = o != NULL && json_is_true(o);
        }
        for (size_t j = 0; j < app->nclaims; j++)
            if (cl->organisation[0] &&
                strcmp(app->claims[j].organisation, cl->organisation) == 0 &&
                strcmp(app->claims[j].reference, cl->reference) == 0) {
                snprintf(f, sizeof(f), "%sreference", prefix);
                fail(app, f, "repeats an earlier claim", NULL);
            }
        app->nclaims++;
    }
}

/* reference_date picks the norm set: nothing before 2000, nothing more
 * than INTAKE_MAX_YEARS_AHEAD after today (both "YYYY-MM-DD", so they
 * compare as strings). */
static int date_within(const char *d, const char *today)
{
    char limit[16];
    int y = 0;
    for (int i = 0; i < 4; i++)
        y = (y * 10 + (today[i] - '0')) % 10000;
    snprintf(limit, sizeof(limit), "%04d%.6s",
             (y + INTAKE_MAX_YEARS_AHEAD) % 10000, today + 4);
    return strcmp(d, "2000-01-01") >= 0 && strcmp(d, limit) <= 0;
}

int intake_app_parse(const char *body, size_t len, const char *channel,
                     const char *today, intake_org_known_cb known, void *arg,
                     intake_app_t *app)
{
    json_error_t jerr;
    json_t *root;
    const char *s;

    memset(app, 0, sizeof(*app));
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL || !json_is_object(root)) {
        fail(app, "body",
             root ? "must be a JSON object" : "is not valid JSON: %.100s",
             jerr.text);
        json_decref(root);
        return BRR_EPARSE;
    }
    check_unknown(app, root, top_fields, "");

    if ((s = get_string(app, root, "bsn", "bsn", 1)) != NULL &&
        !brr_bsn_valid(s, strlen(s), app->bsn))
        fail(app, "bsn", "is not a valid BSN (9 digits, elfproef)", NULL);
    if ((s = get_string(app, root, "channel", "channel", 0)) != NULL &&
        strcmp(s, channel) != 0)
        fail(app, "channel", "does not match the client certificate", NULL);
    if ((s = get_string(app, root, "kind", "kind", 1)) != NULL) {
        if (strcmp(s, "maatwerk") == 0)
            app->maatwerk = 1;
        else if (strcmp(s, "standard") != 0)
            fail(app, "kind", "must be \"standard\" or \"maatwerk\"", NULL);
    }
    parse_contact(app, json_object_get(root, "contact"));
    parse_refund(app, json_object_get(root, "refund_account"));
    parse_claims(app, json_object_get(root, "claims"), known, arg);
    get_cents(app, root, "requested_instalment_cents",
              "requested_instalment_cents", 0, 0, INTAKE_MAX_CLAIM_CENTS,
              &app->requested_instalment_cents);
    {
        int64_t dd = 1;
        get_cents(app, root, "due_day", "due_day", 0, 1, 28, &dd);
        app->due_day = (int)dd;
    }
    snprintf(app->reference_date, sizeof(app->reference_date), "%s", today);
    if ((s = get_string(app, root, "reference_date", "reference_date", 0)) !=
        NULL) {
        if (!brr_date_valid(s, strlen(s), NULL, NULL, NULL))
            fail(app, "reference_date", "must be a date YYYY-MM-DD", NULL);
        else if (!date_within(s, today))
            fail(app, "reference_date",
                 "must lie between 2000-01-01 and a year after today", NULL);
        else
            snprintf(app->reference_date, sizeof(app->reference_date), "%s", s);
    }
    if (app->maatwerk) {
        static const char *const hh[] = {"single", "single_parent", "couple",
                                         "couple_with_children", NULL};
        int ok = 0, couple;
        json_t *aow = json_object_get(root, "aow_age");
        if ((s = get_string(app, root, "household", "household", 1)) != NULL) {
            for (const char *const *h = hh; *h; h++)
                ok |= strcmp(*h, s) == 0;
            if (!ok)
                fail(app, "household",
                     "must be single, single_parent, couple or "
                     "couple_with_children",
                     NULL);
            else
                snprintf(app->household, sizeof(app->household), "%s", s);
        }
        if (aow != NULL && !json_is_boolean(aow))
            fail(app, "aow_age", "must be true or false", NULL);
        app->aow_age = aow != NULL && json_is_true(aow);
        get_cents(app, root, "net_income_cents", "net_income_cents", 1, 0,
                  INTAKE_MAX_INCOME_CENTS, &app->net_income_cents);
        couple = strncmp(app->household, "couple", 6) == 0;
        get_cents(app, root, "partner_net_income_cents",
                  "partner_net_income_cents", 0, 0,
                  couple ? INTAKE_MAX_INCOME_CENTS : 0,
                  &app->partner_net_income_cents);
        get_cents(app, root, "extra_housing_cents", "extra_housing_cents", 0, 0,
                  INTAKE_MAX_INCOME_CENTS, &app->extra_housing_cents);
    } else {
        static const char *const only[] = {
            "household", "aow_age", "net_income_cents",
            "partner_net_income_cents", "extra_housing_cents"};
        for (size_t i = 0; i < sizeof(only) / sizeof(only[0]); i++)
            if (json_object_get(root, only[i]) != NULL)
                fail(app, only[i], "is only for kind \"maatwerk\"", NULL);
    }
    {
        /* Processed only with the citizen's explicit consent: absent is
         * no consent, never a default. */
        json_t *c = json_object_get(root, "consent");
        app->consent = json_is_true(c);
        if (c == NULL)
            fail(app, "consent",
                 "is required: true, the citizen's explicit consent", NULL);
        else if (!json_is_boolean(c))
            fail(app, "consent", "must be true or false", NULL);
        else if (!app->consent)
            fail(app, "consent", "is needed to process the application", NULL);
    }
    json_decref(root);
    return app->nerrors ? BRR_EINVAL : 0;
}

json_t *intake_app_public_json(const intake_app_t *app)
{
    json_t *claims = json_array();
    json_t *o;
    for (size_t i = 0; i < app->nclaims; i++) {
        const intake_claim_t *c = &app->claims[i];
        json_t *cj = json_pack("{s:s, s:s, s:I, s:b}", "organisation",
                               c->organisation, "reference", c->reference,
                               "open_cents", (json_int_t)c->open_cents,
                               "under_objection", c->under_objection);
        if (c->due_date[0])
            json_object_set_new(cj, "due_date", json_string(c->due_date));
        json_array_append_new(claims, cj);
    }
    o = json_pack("{s:s, s:o, s:I, s:i, s:s}", "kind",
                  app->maatwerk ? "maatwerk" : "standard", "claims", claims,
                  "requested_instalment_cents",
                  (json_int_t)app->requested_instalment_cents, "due_day",
                  app->due_day, "reference_date", app->reference_date);
    if (app->maatwerk)
        json_object_set_new(o, "household", json_string(app->household));
    return o;
}

json_t *intake_app_personal_json(const intake_app_t *app)
{
    const intake_personal_t *pd = &app->personal;
    json_t *o = json_object();
    if (pd->email[0])
        json_object_set_new(o, "email", json_string(pd->email));
    if (pd->phone[0])
        json_object_set_new(o, "phone", json_string(pd->phone));
    if (pd->has_address) {
        json_t *a = json_pack("{s:s, s:i, s:s, s:s}", "street", pd->street,
                              "house_number", pd->house_number, "postcode",
                              pd->postcode, "city", pd->city);
        if (pd->house_number_addition[0])
            json_object_set_new(a, "house_number_addition",
                                json_string(pd->house_number_addition));
        json_object_set_new(o, "address", a);
    }
    if (pd->iban[0])
        json_object_set_new(o, "refund_account",
                            json_pack("{s:s, s:s}", "iban", pd->iban,
                                      "account_holder", pd->account_holder));
    if (json_object_size(o) == 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

void intake_app_public_write(const intake_app_t *app, brr_jbuf_t *b)
{
    brr_jbuf_putc(b, '{');
    brr_jbuf_member_str(b, "kind", app->maatwerk ? "maatwerk" : "standard");
    brr_jbuf_key(b, "claims");
    brr_jbuf_putc(b, '[');
    for (size_t i = 0; i < app->nclaims; i++) {
        const intake_claim_t *c = &app->claims[i];
        brr_jbuf_putc(b, '{');
        brr_jbuf_member_str(b, "organisation", c->organisation);
        brr_jbuf_member_str(b, "reference", c->reference);
        brr_jbuf_member_int(b, "open_cents", c->open_cents);
        brr_jbuf_member_bool(b, "under_objection", c->under_objection);
        if (c->due_date[0])
            brr_jbuf_member_str(b, "due_date", c->due_date);
        brr_jbuf_end_object(b);
    }
    brr_jbuf_unput(b, ',');
    brr_jbuf_puts(b, "],");
    brr_jbuf_member_int(b, "requested_instalment_cents",
                        app->requested_instalment_cents);
    brr_jbuf_member_int(b, "due_day", app->due_day);
    brr_jbuf_member_str(b, "reference_date", app->reference_date);
    if (app->maatwerk)
        brr_jbuf_member_str(b, "household", app->household);
    brr_jbuf_end_object(b);
    brr_jbuf_unput(b, ',');
}

int intake_app_personal_write(const intake_app_t *app, brr_jbuf_t *b)
{
    const intake_personal_t *pd = &app->personal;
    size_t start = b->len;
    brr_jbuf_putc(b, '{');
    if (pd->email[0])
        brr_jbuf_member_str(b, "email", pd->email);
    if (pd->phone[0])
        brr_jbuf_member_str(b, "phone", pd->phone);
    if (pd->has_address) {
        brr_jbuf_key(b, "address");
        brr_jbuf_putc(b, '{');
        brr_jbuf_member_str(b, "street", pd->street);
        brr_jbuf_member_int(b, "house_number", pd->house_number);
        brr_jbuf_member_str(b, "postcode", pd->postcode);
        brr_jbuf_member_str(b, "city", pd->city);
        if (pd->house_number_addition[0])
            brr_jbuf_member_str(b, "house_number_addition",
                                pd->house_number_addition);
        brr_jbuf_end_object(b);
    }
    if (pd->iban[0]) {
        brr_jbuf_key(b, "refund_account");
        brr_jbuf_putc(b, '{');
        brr_jbuf_member_str(b, "iban", pd->iban);
        brr_jbuf_member_str(b, "account_holder", pd->account_holder);
        brr_jbuf_end_object(b);
    }
    if (b->len == start + 1) {
        /* nothing personal: leave no trace in the buffer */
        b->len = start;
        b->p[start] = '\0';
        return 0;
    }
    brr_jbuf_end_object(b);
    brr_jbuf_unput(b, ',');
    return 1;
}

char *intake_problem(int status, const char *title, const char *detail,
                     const intake_error_t *errors, size_t nerrors)
{
    json_t *o = json_pack("{s:s, s:s, s:i, s:s}", "type", "about:blank",
                          "title", title, "status", status, "detail", detail);
    char *out;
    if (nerrors > 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < nerrors; i++)
            json_array_append_new(arr, json_pack("{s:s, s:s}", "field",
                                                 errors[i].field, "detail",
                                                 errors[i].detail));
        json_object_set_new(o, "errors", arr);
    }
    out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return out;
}
