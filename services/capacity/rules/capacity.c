/*
 * capacity.c: the standard arrangement, maatwerk on the beslagvrije voet and
 * eligibility (capacity.h, DOMAIN.md §1-§3).
 *
 * Pure: no I/O, no clock, no allocation.  Text is built by hand (no stdio)
 * and only when BRR_CAPACITY_EXPLAIN is set, so the benchmark can measure
 * the arithmetic alone as well as the whole assessment.
 */
#include "capacity.h"

#include "err.h"

#include <string.h>

#define BP 10000

void capacity_params_default(brr_capacity_params_t *p)
{
    p->std_max_months = 24;
    p->std_min_instalment = 2000;
    p->std_max_total = 2000000;
    p->std_round_to = 100;
    p->maat_max_months = 36;
    p->maat_min_instalment = 500;
    p->min_orgs = 1;
    p->lapse_block_months = 12;
    p->reassess_months = 12;
    p->repayable_bp = 500;
    p->group3_from_bp = 20000;
}

static const char *const hh_names[BRR_HH_COUNT] = {
    "single", "single_parent", "couple", "couple_with_children"};

static const char *const hh_nl[BRR_HH_COUNT] = {
    "alleenstaande", "alleenstaande ouder", "gehuwd of samenwonend",
    "gehuwd of samenwonend met kinderen"};

const char *capacity_household_name(brr_household_t hh)
{
    return (unsigned)hh < BRR_HH_COUNT ? hh_names[hh] : "unknown";
}

int capacity_household_parse(const char *s, brr_household_t *out)
{
    for (int i = 0; s != NULL && i < BRR_HH_COUNT; i++) {
        if (strcmp(s, hh_names[i]) == 0) {
            *out = (brr_household_t)i;
            return 0;
        }
    }
    return BRR_EINVAL;
}

/* ---- text, without stdio ------------------------------------------------ */

typedef struct {
    char *p;
    size_t cap, len; /* cap 0: appends are dropped */
} sb_t;

/* Inlined so that appending a literal becomes a fixed-size copy: the
 * explanation is most of the cost of an assessment. */
static inline __attribute__((always_inline)) void
sb_mem(sb_t *sb, const char *s, size_t n)
{
    if (sb->cap == 0)
        return;
    if (__builtin_expect(n > sb->cap - 1 - sb->len, 0)) {
        n = sb->cap - 1 - sb->len;
        /* Never cut a UTF-8 sequence: JSON output must stay valid. */
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(sb->p + sb->len, s, n);
    sb->len += n;
    sb->p[sb->len] = '\0';
}

/* Appends a string literal without measuring it at run time. */
#define sb_lit(sb, lit) sb_mem((sb), "" lit "", sizeof(lit) - 1)

static void sb_str(sb_t *sb, const char *s)
{
    if (sb->cap != 0 && s != NULL)
        sb_mem(sb, s, strlen(s));
}

static void sb_int(sb_t *sb, int64_t v)
{
    char tmp[24], *q = tmp + sizeof(tmp);
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    if (sb->cap == 0)
        return;
    do {
        *--q = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag > 0);
    if (v < 0)
        *--q = '-';
    sb_mem(sb, q, (size_t)(tmp + sizeof(tmp) - q));
}

/* Writes a in the form of brr_money_format_nl() ("€ 1.345,45") ending at
 * end and returns its start.  The explanation formats a dozen amounts per
 * assessment, so this avoids a copy and a strlen for each; the unit test
 * checks it against brr_money_format_nl() so the two can never differ. */
static char *money_nl_backwards(brr_cents_t a, char *end)
{
    char *p = end;
    uint64_t mag = a < 0 ? 0 - (uint64_t)a : (uint64_t)a;
    uint64_t euros = mag / 100, cents = mag % 100;
    int group = 0;

    *--p = (char)('0' + cents % 10);
    *--p = (char)('0' + cents / 10);
    *--p = ',';
    do {
        if (group == 3) {
            *--p = '.';
            group = 0;
        }
        *--p = (char)('0' + euros % 10);
        euros /= 10;
        group++;
    } while (euros > 0);
    *--p = ' ';
    p -= 3;
    memcpy(p, "\xe2\x82\xac", 3);
    if (a < 0)
        *--p = '-';
    return p;
}

static void sb_money(sb_t *sb, brr_cents_t a)
{
    char buf[40], *p;

    if (sb->cap == 0)
        return;
    p = money_nl_backwards(a, buf + sizeof(buf));
    sb_mem(sb, p, (size_t)(buf + sizeof(buf) - p));
}

size_t capacity_money_text(brr_cents_t a, char out[40])
{
    char buf[40], *p = money_nl_backwards(a, buf + sizeof(buf));
    size_t n = (size_t)(buf + sizeof(buf) - p);

    memcpy(out, p, n);
    out[n] = '\0';
    return n;
}

/* 9500 -> "95%", 9550 -> "95,5%", 9525 -> "95,25%". */
static void sb_pct(sb_t *sb, int64_t bp)
{
    if (sb->cap == 0)
        return;
    sb_int(sb, bp / 100);
    if (bp % 100 != 0) {
        int64_t frac = bp % 100;

        sb_str(sb, ",");
        if (frac % 10 == 0) {
            sb_int(sb, frac / 10);
        } else {
            if (frac < 10)
                sb_str(sb, "0");
            sb_int(sb, frac);
        }
    }
    sb_str(sb, "%");
}

static void sb_date(sb_t *sb, brr_date_t t)
{
    char buf[24];

    if (sb->cap == 0)
        return;
    capacity_date_format_nl(t, buf);
    sb_str(sb, buf);
}

typedef struct {
    brr_capacity_result_t *res;
    int explain;
} ctx_t;

/* Starts the next explanation line; a dropped builder when not explaining
 * or when the lines are used up. */
static sb_t line(ctx_t *cx)
{
    sb_t sb = {NULL, 0, 0};
    brr_capacity_result_t *res = cx->res;

    if (!cx->explain || res->nlines >= BRR_CAPACITY_MAX_LINES)
        return sb;
    sb.p = res->explanation[res->nlines++];
    sb.cap = BRR_CAPACITY_LINE_MAX;
    sb.p[0] = '\0';
    return sb;
}

/* Adds a reason and returns a builder for its Dutch text. */
static sb_t reason(ctx_t *cx, const char *code)
{
    sb_t sb = {NULL, 0, 0};
    brr_capacity_result_t *res = cx->res;
    brr_capacity_reason_t *r;
    size_t n = strlen(code);

    if (res->nreasons >= BRR_CAPACITY_MAX_REASONS)
        return sb;
    r = &res->reasons[res->nreasons++];
    if (n >= sizeof(r->code))
        n = sizeof(r->code) - 1;
    memcpy(r->code, code, n);
    r->code[n] = '\0';
    sb.p = r->text;
    sb.cap = sizeof(r->text);
    sb.p[0] = '\0';
    return sb;
}

/* ---- eligibility and claims -------------------------------------------- */

static int same_org(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static int sum_claims(ctx_t *cx, const brr_capacity_request_t *req,
                      brr_cents_t *total, int32_t *orgs)
{
    brr_cents_t t = 0, rest = 0, held = 0;
    int32_t norgs = 0;
    size_t nheld = 0, nlisted = 0, nrest = 0;
    int rc;

    for (size_t i = 0; i < req->nclaims; i++) {
        const brr_capacity_claim_t *c = &req->claims[i];
        int seen = 0;
        sb_t sb;

        if (c->open_cents == 0)
            continue;
        if (c->under_objection) {
            if ((rc = brr_money_add(held, c->open_cents, &held)) != 0)
                return rc;
            nheld++;
            sb = line(cx);
            sb_lit(&sb, "Vordering van ");
            sb_str(&sb, c->organisation);
            if (c->reference != NULL) {
                sb_lit(&sb, " (");
                sb_str(&sb, c->reference);
                sb_lit(&sb, ")");
            }
            sb_lit(&sb, " van ");
            sb_money(&sb, c->open_cents);
            sb_lit(&sb, " staat in bezwaar of beroep en telt niet mee.");
            continue;
        }
        if ((rc = brr_money_add(t, c->open_cents, &t)) != 0)
            return rc;
        for (size_t j = 0; j < i && !seen; j++) {
            const brr_capacity_claim_t *d = &req->claims[j];

            seen = d->open_cents > 0 && !d->under_objection &&
                   same_org(d->organisation, c->organisation);
        }
        norgs += !seen;
        if (nlisted < BRR_CAPACITY_LISTED_CLAIMS) {
            nlisted++;
            sb = line(cx);
            sb_lit(&sb, "Openstaande vordering van ");
            sb_str(&sb, c->organisation);
            if (c->reference != NULL) {
                sb_lit(&sb, " (");
                sb_str(&sb, c->reference);
                sb_lit(&sb, ")");
            }
            sb_lit(&sb, ": ");
            sb_money(&sb, c->open_cents);
            sb_lit(&sb, ".");
        } else {
            nrest++;
            if ((rc = brr_money_add(rest, c->open_cents, &rest)) != 0)
                return rc;
        }
    }
    if (nrest > 0) {
        sb_t sb = line(cx);

        sb_lit(&sb, "Nog ");
        sb_int(&sb, (int64_t)nrest);
        sb_lit(&sb, " andere openstaande vorderingen, samen ");
        sb_money(&sb, rest);
        sb_lit(&sb, ".");
    }
    if (nheld > 0) {
        sb_t sb = reason(cx, "CLAIMS_HELD_OUT");

        sb_int(&sb, (int64_t)nheld);
        sb_str(&sb, nheld == 1 ? " vordering staat" : " vorderingen staan");
        sb_lit(&sb, " in bezwaar of beroep (samen ");
        sb_money(&sb, held);
        sb_lit(&sb, ") en ");
        sb_str(&sb, nheld == 1 ? "telt" : "tellen");
        sb_lit(&sb, " niet mee in de regeling.");
    }
    {
        sb_t sb = line(cx);

        sb_lit(&sb, "Totaal van de vorderingen die meetellen: ");
        sb_money(&sb, t);
        sb_lit(&sb, ".");
    }
    *total = t;
    *orgs = norgs;
    return 0;
}

static void refuse(ctx_t *cx)
{
    brr_capacity_result_t *res = cx->res;

    res->eligible = 0;
    res->instalment_cents = 0;
    res->months = 0;
    res->last_instalment_cents = 0;
}

/* ---- instalment plans --------------------------------------------------- */

/* n = ceil(T / m) and last = T - (n-1)*m, for T > 0 and 0 < m <= T. */
static int split_plan(brr_cents_t t, brr_cents_t m, int32_t *n,
                      brr_cents_t *last)
{
    int64_t k;
    brr_cents_t paid;
    int rc;

    if ((rc = brr_money_div_ceil(t, m, &k)) != 0)
        return rc;
    if ((rc = brr_money_mul(m, k - 1, &paid)) != 0 ||
        (rc = brr_money_sub(t, paid, last)) != 0)
        return rc;
    *n = k > INT32_MAX ? INT32_MAX : (int32_t)k;
    return 0;
}

static void explain_count(ctx_t *cx, brr_cents_t t, brr_cents_t m, int32_t n,
                          brr_cents_t last)
{
    sb_t sb = line(cx);

    sb_lit(&sb, "Aantal termijnen: ");
    sb_money(&sb, t);
    sb_lit(&sb, " / ");
    sb_money(&sb, m);
    sb_lit(&sb, " = ");
    sb_int(&sb, n);
    sb_lit(&sb, " (naar boven afgerond).");
    if (n > 1) {
        sb = line(cx);
        sb_lit(&sb, "Laatste termijn: ");
        sb_money(&sb, t);
        sb_lit(&sb, " - ");
        sb_int(&sb, n - 1);
        sb_lit(&sb, " x ");
        sb_money(&sb, m);
        sb_lit(&sb, " = ");
        sb_money(&sb, last);
        sb_lit(&sb, ".");
    }
}

static int assess_standard(ctx_t *cx, const brr_capacity_request_t *req,
                           const brr_capacity_params_t *p, brr_cents_t t)
{
    brr_capacity_result_t *res = cx->res;
    brr_cents_t m_raw, m;
    int64_t k;
    sb_t sb;
    int rc;

    if (req->has_last_lapse) {
        brr_date_t end = capacity_date_add_months(req->last_lapse_date,
                                                  p->lapse_block_months);

        if (req->reference_date < end) {
            sb = reason(cx, "STD_LAPSE_BLOCK");
            sb_lit(&sb, "Een eerdere regeling is op ");
            sb_date(&sb, req->last_lapse_date);
            sb_lit(&sb, " vervallen; een standaardregeling is pas weer "
                        "mogelijk vanaf ");
            sb_date(&sb, end);
            sb_lit(&sb, ". Maatwerk kan wel.");
            sb = line(cx);
            sb_str(&sb, res->reasons[res->nreasons - 1].text);
            refuse(cx);
        }
    }
    if (t > p->std_max_total) {
        sb = reason(cx, "STD_MAX_TOTAL");
        sb_lit(&sb, "Het totaal van ");
        sb_money(&sb, t);
        sb_lit(&sb, " is hoger dan ");
        sb_money(&sb, p->std_max_total);
        sb_lit(&sb, ": een standaardregeling is niet mogelijk, maatwerk wel.");
        sb = line(cx);
        sb_str(&sb, res->reasons[res->nreasons - 1].text);
        refuse(cx);
    }
    if (!res->eligible)
        return 0;

    if ((rc = brr_money_div_ceil(t, p->std_max_months, &k)) != 0)
        return rc;
    m_raw = k;
    sb = line(cx);
    sb_lit(&sb, "Verdeeld over ten hoogste ");
    sb_int(&sb, p->std_max_months);
    sb_lit(&sb, " maanden: ");
    sb_money(&sb, t);
    sb_lit(&sb, " / ");
    sb_int(&sb, p->std_max_months);
    sb_lit(&sb, " = ");
    sb_money(&sb, m_raw);
    sb_lit(&sb, " (naar boven afgerond op hele centen).");
    if ((rc = brr_money_round_up(m_raw, p->std_round_to, &m)) != 0)
        return rc;
    if (m != m_raw) {
        sb = line(cx);
        if (p->std_round_to == 100) {
            sb_lit(&sb, "Naar boven afgerond op hele euro's: ");
        } else {
            sb_lit(&sb, "Naar boven afgerond op een veelvoud van ");
            sb_money(&sb, p->std_round_to);
            sb_lit(&sb, ": ");
        }
        sb_money(&sb, m);
        sb_lit(&sb, ".");
    }
    if (m < p->std_min_instalment) {
        m = p->std_min_instalment;
        sb = line(cx);
        sb_lit(&sb, "Het minimale termijnbedrag is ");
        sb_money(&sb, p->std_min_instalment);
        sb_lit(&sb, ", dus het termijnbedrag wordt ");
        sb_money(&sb, m);
        sb_lit(&sb, ".");
    }
    if (req->requested_instalment_cents > m) {
        m = req->requested_instalment_cents;
        sb = line(cx);
        sb_lit(&sb, "U kiest zelf een hoger termijnbedrag: ");
        sb_money(&sb, m);
        sb_lit(&sb, " per maand.");
    } else if (req->requested_instalment_cents > 0 &&
               req->requested_instalment_cents < m) {
        sb = reason(cx, "REQUESTED_BELOW_MINIMUM");
        sb_lit(&sb, "U vroeg ");
        sb_money(&sb, req->requested_instalment_cents);
        sb_lit(&sb, " per maand; een lager termijnbedrag dan ");
        sb_money(&sb, m);
        sb_lit(&sb, " kan alleen met maatwerk, dus het termijnbedrag is ");
        sb_money(&sb, m);
        sb_lit(&sb, ".");
        sb = line(cx);
        sb_str(&sb, res->reasons[res->nreasons - 1].text);
    }
    if (m > t) {
        m = t;
        sb = line(cx);
        sb_lit(&sb, "Het totaal is niet hoger dan het termijnbedrag: u "
                    "betaalt ");
        sb_money(&sb, t);
        sb_lit(&sb, " in één keer.");
    }
    if ((rc = split_plan(t, m, &res->months, &res->last_instalment_cents)) != 0)
        return rc;
    res->instalment_cents = m;
    sb = line(cx);
    sb_lit(&sb, "Termijnbedrag: ");
    sb_money(&sb, m);
    sb_lit(&sb, " per maand.");
    explain_count(cx, t, m, res->months, res->last_instalment_cents);
    return 0;
}

/* ---- maatwerk ------------------------------------------------------------ */

static int is_couple(brr_household_t hh)
{
    return hh == BRR_HH_COUPLE || hh == BRR_HH_COUPLE_WITH_CHILDREN;
}

static int assess_maatwerk(ctx_t *cx, const brr_capacity_request_t *req,
                           const brr_capacity_params_t *p,
                           const brr_normset_t *ns, brr_cents_t t)
{
    brr_capacity_result_t *res = cx->res;
    const int couple = is_couple(req->household);
    const int64_t prot_bp = BP - p->repayable_bp;
    brr_cents_t own = req->net_income_cents, inc, norm, cap95, bvv, bvv_h;
    brr_cents_t share, ac, m;
    sb_t sb;
    int rc;

    sb = line(cx);
    sb_lit(&sb, "Huishouden: ");
    sb_str(&sb, hh_nl[req->household]);
    sb_lit(&sb, "; AOW-leeftijd bereikt: ");
    sb_str(&sb, req->aow_age ? "ja." : "nee.");
    if (!req->aow_age) {
        sb = line(cx);
        sb_lit(&sb, "Wie jonger is dan 21 jaar, krijgt dezelfde norm als "
                    "iemand van 21 jaar of ouder.");
    }
    if (couple) {
        if ((rc = brr_money_add(own, req->partner_net_income_cents, &inc)) != 0)
            return rc;
        sb = line(cx);
        sb_lit(&sb, "Netto-inkomen per maand, inclusief vakantiegeld: u ");
        sb_money(&sb, own);
        sb_lit(&sb, " + partner ");
        sb_money(&sb, req->partner_net_income_cents);
        sb_lit(&sb, " = huishouden ");
        sb_money(&sb, inc);
        sb_lit(&sb, ".");
    } else {
        inc = own;
        sb = line(cx);
        sb_lit(&sb, "Netto-inkomen per maand, inclusief vakantiegeld: ");
        sb_money(&sb, inc);
        sb_lit(&sb, ".");
    }

    norm = ns->norm[couple][req->aow_age ? 1 : 0];
    sb = line(cx);
    sb_lit(&sb, "Bijstandsnorm (");
    sb_str(&sb, couple ? "gehuwd of samenwonend"
                       : "alleenstaande of "
                         "alleenstaande ouder");
    sb_str(&sb, req->aow_age ? ", AOW-leeftijd" : ", 21 jaar tot AOW-leeftijd");
    sb_lit(&sb, ") volgens normenset ");
    sb_str(&sb, ns->id);
    sb_lit(&sb, ": ");
    sb_money(&sb, norm);
    sb_lit(&sb, ".");

    /* The protection of group 1 is also the ceiling for any raise: at least
     * repayable_bp of the income always stays repayable. */
    if ((rc = brr_money_muldiv_ceil(inc, prot_bp, BP, &cap95)) != 0)
        return rc;

    if (inc <= norm) {
        res->group = 1;
        bvv = cap95;
        sb = line(cx);
        sb_lit(&sb, "Het inkomen (");
        sb_money(&sb, inc);
        sb_lit(&sb, ") is niet hoger dan de bijstandsnorm: groep 1.");
        sb = line(cx);
        sb_lit(&sb, "Beslagvrije voet = ");
        sb_pct(&sb, prot_bp);
        sb_lit(&sb, " x ");
        sb_money(&sb, inc);
        sb_lit(&sb, " = ");
        sb_money(&sb, bvv);
        sb_lit(&sb, " (naar boven afgerond op hele centen, in uw voordeel).");
    } else {
        brr_cents_t max, from;

        if (!ns->has_bvv_max) {
            sb = reason(cx, "BVV_MAX_UNAVAILABLE");
            sb_lit(&sb, "Het inkomen is hoger dan de bijstandsnorm, maar "
                        "normenset ");
            sb_str(&sb, ns->id);
            sb_lit(&sb, " bevat geen maximale beslagvrije voet; de "
                        "beslagvrije voet kan niet worden bepaald.");
            sb = line(cx);
            sb_str(&sb, res->reasons[res->nreasons - 1].text);
            refuse(cx);
            return 0;
        }
        max = ns->bvv_max[req->household];
        if ((rc = brr_money_muldiv_ceil(max, p->group3_from_bp, BP, &from)) !=
            0)
            return rc;
        if (inc < from) {
            res->group = 2;
            sb = line(cx);
            sb_lit(&sb, "Het inkomen (");
            sb_money(&sb, inc);
            sb_lit(&sb, ") is hoger dan de bijstandsnorm en lager dan ");
            sb_money(&sb, from);
            sb_lit(&sb, " (");
            sb_pct(&sb, p->group3_from_bp);
            sb_lit(&sb, " van de maximale beslagvrije voet van ");
            sb_money(&sb, max);
            sb_lit(&sb, "): groep 2.");
            sb = reason(cx, "TOESLAGEN_PARAMS_UNAVAILABLE");
            /* Art. 475da lid 2 Rv needs the belastbaar inkomen (gross)
             * and the half-year's toeslagen parameters; the application
             * has net income only and no set carries the parameters. */
            sb_lit(&sb, "Groep 2 (artikel 475da lid 2 Rv) rekent met het "
                        "belastbaar inkomen en de toeslagenparameters "
                        "(zorgtoeslag, huurtoeslag, kindgebonden budget) van "
                        "normenset ");
            sb_str(&sb, ns->id);
            sb_lit(&sb, "; die ontbreken, dus de beslagvrije voet kan nog "
                        "niet worden berekend.");
            sb = line(cx);
            sb_str(&sb, res->reasons[res->nreasons - 1].text);
            refuse(cx);
            return 0;
        }
        res->group = 3;
        bvv = max < cap95 ? max : cap95;
        sb = line(cx);
        sb_lit(&sb, "Het inkomen (");
        sb_money(&sb, inc);
        sb_lit(&sb, ") is minstens ");
        sb_money(&sb, from);
        sb_lit(&sb, " (");
        sb_pct(&sb, p->group3_from_bp);
        sb_lit(&sb, " van de maximale beslagvrije voet): groep 3.");
        sb = line(cx);
        sb_lit(&sb, "Beslagvrije voet: het vaste maximum voor ");
        sb_str(&sb, hh_nl[req->household]);
        sb_lit(&sb, ", ");
        sb_money(&sb, bvv);
        sb_lit(&sb, ".");
    }

    bvv_h = bvv;
    if (req->extra_housing_cents > 0) {
        brr_cents_t raised;

        if ((rc = brr_money_add(bvv, req->extra_housing_cents, &raised)) != 0)
            return rc;
        sb = line(cx);
        sb_lit(&sb, "Extra woonkosten van ");
        sb_money(&sb, req->extra_housing_cents);
        sb_lit(&sb, " verhogen de beslagvrije voet tijdelijk: ");
        sb_money(&sb, bvv);
        sb_lit(&sb, " + ");
        sb_money(&sb, req->extra_housing_cents);
        sb_lit(&sb, " = ");
        sb_money(&sb, raised);
        sb_lit(&sb, ".");
        bvv_h = raised;
        if (raised > cap95) {
            bvv_h = cap95;
            sb = line(cx);
            sb_lit(&sb, "Er blijft altijd minstens ");
            sb_pct(&sb, p->repayable_bp);
            sb_lit(&sb, " van het inkomen over om af te lossen, dus de "
                        "beslagvrije voet is ten hoogste ");
            sb_pct(&sb, prot_bp);
            sb_lit(&sb, " x ");
            sb_money(&sb, inc);
            sb_lit(&sb, " = ");
            sb_money(&sb, cap95);
            sb_lit(&sb, ".");
        }
    }

    share = bvv_h;
    if (couple) {
        brr_cents_t own95;

        if (inc > 0) {
            if ((rc = brr_money_muldiv_ceil(bvv_h, own, inc, &share)) != 0 ||
                (rc = brr_money_muldiv_ceil(own, prot_bp, BP, &own95)) != 0)
                return rc;
        } else {
            share = own95 = 0;
        }
        sb = line(cx);
        sb_lit(&sb, "De beslagvrije voet van het huishouden (");
        sb_money(&sb, bvv_h);
        sb_lit(&sb, ") wordt naar inkomen verdeeld: uw deel is ");
        sb_money(&sb, bvv_h);
        sb_lit(&sb, " x ");
        sb_money(&sb, own);
        sb_lit(&sb, " / ");
        sb_money(&sb, inc);
        sb_lit(&sb, " = ");
        sb_money(&sb, share);
        sb_lit(&sb, " (naar boven afgerond, in uw voordeel).");
        /* The split rounds up twice; keep the applicant's own floor exact. */
        if (share > own95) {
            share = own95;
            sb = line(cx);
            sb_lit(&sb, "Ten hoogste ");
            sb_pct(&sb, prot_bp);
            sb_lit(&sb, " van uw eigen inkomen: ");
            sb_money(&sb, share);
            sb_lit(&sb, ".");
        }
        res->household_bvv_cents = bvv_h;
    } else {
        res->household_bvv_cents = bvv_h;
    }
    if ((rc = brr_money_sub(own, share, &ac)) != 0)
        return rc;
    res->has_bvv = 1;
    res->bvv_cents = share;
    res->capacity_cents = ac;
    sb = line(cx);
    sb_lit(&sb, "Afloscapaciteit = ");
    sb_money(&sb, own);
    sb_lit(&sb, " - ");
    sb_money(&sb, share);
    sb_lit(&sb, " = ");
    sb_money(&sb, ac);
    sb_lit(&sb, " per maand.");

    if (!res->eligible)
        return 0;
    if (ac < p->maat_min_instalment) {
        res->starts_paused = 1;
        res->instalment_cents = 0;
        res->months = 0;
        res->last_instalment_cents = 0;
        sb = reason(cx, "REFER_DEBT_HELP");
        sb_lit(&sb, "De afloscapaciteit (");
        sb_money(&sb, ac);
        sb_lit(&sb, ") is lager dan het minimale termijnbedrag van ");
        sb_money(&sb, p->maat_min_instalment);
        sb_lit(&sb, ": de regeling start gepauzeerd en u wordt doorverwezen "
                    "naar schuldhulpverlening.");
        sb = line(cx);
        sb_str(&sb, res->reasons[res->nreasons - 1].text);
    } else {
        int64_t n_full;

        m = ac;
        sb = line(cx);
        sb_lit(&sb, "Termijnbedrag: de afloscapaciteit, ");
        sb_money(&sb, m);
        sb_lit(&sb, " per maand.");
        if (req->requested_instalment_cents > m) {
            m = req->requested_instalment_cents;
            sb = line(cx);
            sb_lit(&sb, "U kiest zelf een hoger termijnbedrag: ");
            sb_money(&sb, m);
            sb_lit(&sb, " per maand.");
        }
        if (m > t) {
            m = t;
            sb = line(cx);
            sb_lit(&sb, "Het totaal is niet hoger dan het termijnbedrag: u "
                        "betaalt ");
            sb_money(&sb, t);
            sb_lit(&sb, " in één keer.");
        }
        if ((rc = brr_money_div_ceil(t, m, &n_full)) != 0)
            return rc;
        res->instalment_cents = m;
        if (n_full <= p->maat_max_months) {
            if ((rc = split_plan(t, m, &res->months,
                                 &res->last_instalment_cents)) != 0)
                return rc;
            explain_count(cx, t, m, res->months, res->last_instalment_cents);
        } else {
            brr_cents_t paid;

            if ((rc = brr_money_mul(m, p->maat_max_months, &paid)) != 0 ||
                (rc = brr_money_sub(t, paid, &res->unpaid_after_max_cents)) !=
                    0)
                return rc;
            res->months = p->maat_max_months;
            res->last_instalment_cents = m;
            sb = reason(cx, "MAAT_MAX_MONTHS");
            sb_lit(&sb, "Met ");
            sb_money(&sb, m);
            sb_lit(&sb, " per maand duurt aflossen langer dan ");
            sb_int(&sb, p->maat_max_months);
            sb_lit(&sb, " maanden: de regeling loopt ");
            sb_int(&sb, p->maat_max_months);
            sb_lit(&sb, " maanden en lost ");
            sb_money(&sb, paid);
            sb_lit(&sb, " af; over het restant van ");
            sb_money(&sb, res->unpaid_after_max_cents);
            sb_lit(&sb, " wordt bij de herbeoordeling beslist.");
            sb = line(cx);
            sb_str(&sb, res->reasons[res->nreasons - 1].text);
        }
    }
    sb = line(cx);
    sb_lit(&sb, "Uw situatie wordt opnieuw beoordeeld uiterlijk na ");
    sb_int(&sb, p->reassess_months);
    sb_lit(&sb, " maanden en bij elke wijziging van inkomen of huishouden.");
    return 0;
}

/* ---- entry point --------------------------------------------------------- */

static int amount_ok(brr_cents_t a)
{
    return a >= 0 && a <= BRR_CENTS_MAX;
}

static int params_ok(const brr_capacity_params_t *p)
{
    return p->std_max_months > 0 && p->std_min_instalment > 0 &&
           p->std_max_total >= 0 && p->std_round_to > 0 &&
           p->maat_max_months > 0 && p->maat_min_instalment > 0 &&
           p->min_orgs >= 1 && p->lapse_block_months >= 0 &&
           p->reassess_months > 0 && p->repayable_bp > 0 &&
           p->repayable_bp < BP && p->group3_from_bp >= BP;
}

static int request_ok(const brr_capacity_request_t *req)
{
    if (req->kind != BRR_CAP_STANDARD && req->kind != BRR_CAP_MAATWERK)
        return 0;
    if (req->nclaims > 0 && req->claims == NULL)
        return 0;
    for (size_t i = 0; i < req->nclaims; i++)
        if (!amount_ok(req->claims[i].open_cents))
            return 0;
    if (!amount_ok(req->requested_instalment_cents))
        return 0;
    if (req->norm_set != NULL && (req->reference_date < req->norm_set->from ||
                                  req->reference_date > req->norm_set->until))
        return 0;
    if (req->kind == BRR_CAP_MAATWERK) {
        if ((unsigned)req->household >= BRR_HH_COUNT ||
            !amount_ok(req->net_income_cents) ||
            !amount_ok(req->partner_net_income_cents) ||
            !amount_ok(req->extra_housing_cents))
            return 0;
        if (!is_couple(req->household) && req->partner_net_income_cents != 0)
            return 0;
    }
    return 1;
}

int capacity_assess(const brr_capacity_request_t *req,
                    const brr_normsets_t *sets,
                    const brr_capacity_params_t *params, int flags,
                    brr_capacity_result_t *res)
{
    brr_capacity_params_t defaults;
    const brr_normset_t *ns;
    ctx_t cx = {res, (flags & BRR_CAPACITY_EXPLAIN) != 0};
    brr_cents_t total;
    int32_t orgs;
    sb_t sb;
    int rc;

    if (params == NULL) {
        capacity_params_default(&defaults);
        params = &defaults;
    }
    if (req == NULL || res == NULL || !params_ok(params) || !request_ok(req))
        return BRR_EINVAL;

    /* Not a memset: the explanation array is large and only the lines in
     * use are ever read. */
    res->eligible = 1;
    res->nreasons = 0;
    res->group = 0;
    res->has_bvv = 0;
    res->bvv_cents = 0;
    res->household_bvv_cents = 0;
    res->capacity_cents = 0;
    res->total_cents = 0;
    res->instalment_cents = 0;
    res->months = 0;
    res->last_instalment_cents = 0;
    res->unpaid_after_max_cents = 0;
    res->starts_paused = 0;
    res->norm_set[0] = '\0';
    res->rule_version = BRR_CAPACITY_RULE_VERSION;
    res->nlines = 0;

    ns = req->norm_set != NULL
             ? req->norm_set
             : capacity_normsets_find(sets, req->reference_date);
    if (ns != NULL)
        memcpy(res->norm_set, ns->id, sizeof(res->norm_set));

    sb = line(&cx);
    sb_str(&sb, req->kind == BRR_CAP_STANDARD
                    ? "Standaardregeling"
                    : "Maatwerk op basis van de beslagvrije voet");
    sb_lit(&sb, ", beoordeeld op peildatum ");
    sb_date(&sb, req->reference_date);
    if (ns != NULL) {
        sb_lit(&sb, " met normenset ");
        sb_str(&sb, ns->id);
    }
    sb_lit(&sb, " (regels ");
    sb_str(&sb, BRR_CAPACITY_RULE_VERSION);
    sb_lit(&sb, ").");

    if (req->kind == BRR_CAP_MAATWERK && ns == NULL) {
        sb = reason(&cx, "NORM_SET_NOT_FOUND");
        sb_lit(&sb, "Voor de peildatum ");
        sb_date(&sb, req->reference_date);
        sb_lit(&sb, " is geen normenset beschikbaar; de beslagvrije voet "
                    "kan niet worden berekend.");
        sb = line(&cx);
        sb_str(&sb, res->reasons[res->nreasons - 1].text);
        refuse(&cx);
        return 0;
    }

    if ((rc = sum_claims(&cx, req, &total, &orgs)) != 0)
        return rc;
    res->total_cents = total;
    if (orgs < params->min_orgs) {
        sb = reason(&cx, "NO_OPEN_CLAIMS");
        if (params->min_orgs == 1) {
            sb_lit(&sb, "Er is geen openstaande vordering die mee kan tellen; "
                        "een regeling is niet nodig of niet mogelijk.");
        } else {
            sb_lit(&sb, "Een regeling vraagt openstaande vorderingen bij "
                        "minstens ");
            sb_int(&sb, params->min_orgs);
            sb_lit(&sb, " deelnemende organisaties.");
        }
        sb = line(&cx);
        sb_str(&sb, res->reasons[res->nreasons - 1].text);
        refuse(&cx);
        /* Maatwerk still shows the protected income: it is part of the
         * answer a citizen asked for. */
        if (req->kind == BRR_CAP_STANDARD)
            return 0;
    }
    if (req->kind == BRR_CAP_STANDARD)
        return assess_standard(&cx, req, params, total);
    return assess_maatwerk(&cx, req, params, ns, total);
}
