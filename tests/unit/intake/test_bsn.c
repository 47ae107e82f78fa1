/*
 * test_bsn.c: personal data at rest (services/intake/bsn.c): sealing and
 * opening under a key ring, rotation (a previous key still opens what it
 * sealed, picked by the stored key id), the context bound as associated
 * data, tampering, the pseudonym, and the key files' configuration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "intake.h"

static char dir[64];

/* A key file of n bytes, each byte fill. */
static const char *key_file(const char *name, unsigned char fill, size_t n)
{
    static char paths[8][128];
    static int next;
    char *p = paths[next++ % 8];
    FILE *f;
    snprintf(p, 128, "%s/%s", dir, name);
    f = fopen(p, "wb");
    for (size_t i = 0; i < n; i++)
        fputc(fill, f);
    fclose(f);
    return p;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/brr-test-bsn-XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void ring(intake_keys_t *k, unsigned char fill, const char *id)
{
    char err[256];
    char name[32];
    snprintf(name, sizeof(name), "enc-%s", id);
    assert_int_equal(intake_keys_load(k, key_file(name, fill, 32),
                                      key_file("hmac", 0x77, 32), id, err,
                                      sizeof(err)),
                     0);
}

static void test_seal_then_open_gives_the_plaintext(void **state)
{
    intake_keys_t k;
    const char msg[] = "{\"email\":\"jan@example.nl\"}";
    unsigned char enc[sizeof(msg) + INTAKE_SEAL_OVERHEAD], out[sizeof(msg)];
    (void)state;
    ring(&k, 1, "k1");
    assert_int_equal(intake_seal(&k, "app-1", msg, sizeof(msg), enc), 0);
    assert_memory_not_equal(enc + 12, msg, sizeof(msg));
    assert_int_equal(intake_open(&k, "k1", "app-1", enc, sizeof(enc), out), 0);
    assert_memory_equal(out, msg, sizeof(msg));
}

static void test_open_refuses_another_context(void **state)
{
    intake_keys_t k;
    const char msg[] = "NL91ABNA0417164300";
    unsigned char enc[sizeof(msg) + INTAKE_SEAL_OVERHEAD], out[sizeof(msg)];
    (void)state;
    ring(&k, 1, "k1");
    assert_int_equal(intake_seal(&k, "app-1", msg, sizeof(msg), enc), 0);
    assert_int_equal(intake_open(&k, "k1", "app-2", enc, sizeof(enc), out),
                     BRR_ECRYPTO);
    assert_int_equal(intake_open(&k, "k1", NULL, enc, sizeof(enc), out),
                     BRR_ECRYPTO);
}

static void test_open_refuses_tampered_data(void **state)
{
    intake_keys_t k;
    const char msg[] = "secret";
    unsigned char enc[sizeof(msg) + INTAKE_SEAL_OVERHEAD], out[sizeof(msg)];
    (void)state;
    ring(&k, 1, "k1");
    for (size_t i = 0; i < sizeof(enc); i++) {
        assert_int_equal(intake_seal(&k, "c", msg, sizeof(msg), enc), 0);
        enc[i] ^= 0x01;
        assert_int_equal(intake_open(&k, "k1", "c", enc, sizeof(enc), out),
                         BRR_ECRYPTO);
    }
    assert_int_equal(intake_open(&k, "k1", "c", enc, 10, out), BRR_ECRYPTO);
}

static void test_rotation_previous_key_still_opens_its_rows(void **state)
{
    intake_keys_t old, cur, only_new;
    unsigned char enc_old[37], enc_new[37];
    char bsn[10], err[256];
    (void)state;
    ring(&old, 1, "k1");
    assert_int_equal(intake_bsn_encrypt(&old, "999996708", enc_old), 0);

    ring(&cur, 2, "k2");
    assert_int_equal(intake_keys_add_old(&cur, "", err, sizeof(err)), 0);
    {
        char spec[256];
        snprintf(spec, sizeof(spec), "k1=%s", key_file("enc-k1", 1, 32));
        assert_int_equal(intake_keys_add_old(&cur, spec, err, sizeof(err)), 0);
    }
    assert_int_equal(intake_bsn_encrypt(&cur, "111222333", enc_new), 0);
    /* each row opens under the key its stored id names */
    assert_int_equal(intake_bsn_decrypt(&cur, "k1", enc_old, bsn), 0);
    assert_string_equal(bsn, "999996708");
    assert_int_equal(intake_bsn_decrypt(&cur, "k2", enc_new, bsn), 0);
    assert_string_equal(bsn, "111222333");
    /* and not under the other id: the key id is associated data */
    assert_int_equal(intake_bsn_decrypt(&cur, "k2", enc_old, bsn), BRR_ECRYPTO);
    assert_string_equal(bsn, "");
    assert_int_equal(intake_bsn_decrypt(&cur, "k1", enc_new, bsn), BRR_ECRYPTO);
    /* a ring without the old key cannot read old rows */
    ring(&only_new, 2, "k2");
    assert_int_equal(intake_bsn_decrypt(&only_new, "k1", enc_old, bsn),
                     BRR_ENOTFOUND);
    assert_int_equal(intake_bsn_decrypt(&only_new, "k2", enc_new, bsn), 0);
}

static void test_same_key_id_with_other_key_fails(void **state)
{
    intake_keys_t a, b;
    unsigned char enc[37];
    char bsn[10];
    (void)state;
    ring(&a, 1, "k1");
    ring(&b, 3, "k1");
    assert_int_equal(intake_bsn_encrypt(&a, "123456782", enc), 0);
    assert_int_equal(intake_bsn_decrypt(&b, "k1", enc, bsn), BRR_ECRYPTO);
}

static void test_encryption_is_randomised(void **state)
{
    intake_keys_t k;
    unsigned char a[37], b[37];
    (void)state;
    ring(&k, 1, "k1");
    assert_int_equal(intake_bsn_encrypt(&k, "999996708", a), 0);
    assert_int_equal(intake_bsn_encrypt(&k, "999996708", b), 0);
    assert_memory_not_equal(a, b, 37);
}

static void test_pseudonym_is_stable_and_keyed(void **state)
{
    intake_keys_t k1, k2;
    unsigned char p1[32], p2[32], p3[32];
    char err[256];
    (void)state;
    ring(&k1, 1, "k1");
    ring(&k2, 2, "k2"); /* another encryption key, same HMAC key */
    intake_bsn_pseudonym(&k1, "999996708", p1);
    intake_bsn_pseudonym(&k2, "999996708", p2);
    assert_memory_equal(p1, p2, 32); /* rotation keeps the lookup */
    intake_bsn_pseudonym(&k1, "111222333", p3);
    assert_memory_not_equal(p1, p3, 32);
    assert_int_equal(intake_keys_load(&k2, key_file("enc", 1, 32),
                                      key_file("hmac2", 0x78, 32), "k1", err,
                                      sizeof(err)),
                     0);
    intake_bsn_pseudonym(&k2, "999996708", p2);
    assert_memory_not_equal(p1, p2, 32);
}

static void test_key_configuration_errors(void **state)
{
    intake_keys_t k;
    char err[256], spec[512];
    const char *good = key_file("good", 5, 32);
    (void)state;
    assert_int_equal(
        intake_keys_load(&k, "/nonexistent/key", good, "k1", err, sizeof(err)),
        BRR_ECONFIG);
    assert_non_null(strstr(err, "could not open"));
    assert_int_equal(intake_keys_load(&k, key_file("short", 1, 31), good, "k1",
                                      err, sizeof(err)),
                     BRR_ECONFIG);
    assert_non_null(strstr(err, "exactly 32 bytes"));
    assert_int_equal(intake_keys_load(&k, key_file("long", 1, 33), good, "k1",
                                      err, sizeof(err)),
                     BRR_ECONFIG);
    assert_int_equal(intake_keys_load(&k, good, good, "", err, sizeof(err)),
                     BRR_ECONFIG);
    assert_int_equal(intake_keys_load(&k, good, good, "k 1", err, sizeof(err)),
                     BRR_ECONFIG);
    assert_int_equal(intake_keys_load(&k, good, good, "k1", err, sizeof(err)),
                     0);
    /* previous keys */
    assert_int_equal(intake_keys_add_old(&k, "k0", err, sizeof(err)),
                     BRR_ECONFIG);
    assert_int_equal(intake_keys_add_old(&k, "=x", err, sizeof(err)),
                     BRR_ECONFIG);
    snprintf(spec, sizeof(spec), "k1=%s", good);
    assert_int_equal(intake_keys_add_old(&k, spec, err, sizeof(err)),
                     BRR_ECONFIG); /* the current id again */
    snprintf(spec, sizeof(spec), "k0=%s,k0=%s", good, good);
    assert_int_equal(intake_keys_add_old(&k, spec, err, sizeof(err)),
                     BRR_ECONFIG);
    assert_non_null(strstr(err, "twice"));
    assert_int_equal(k.nold, 1);
    assert_non_null(intake_keys_find(&k, "k0"));
    assert_null(intake_keys_find(&k, "k9"));
    snprintf(spec, sizeof(spec), "a=%s,b=%s,c=%s,d=%s", good, good, good, good);
    assert_int_equal(intake_keys_add_old(&k, spec, err, sizeof(err)),
                     BRR_ECONFIG); /* a fifth old key */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal_then_open_gives_the_plaintext),
        cmocka_unit_test(test_open_refuses_another_context),
        cmocka_unit_test(test_open_refuses_tampered_data),
        cmocka_unit_test(test_rotation_previous_key_still_opens_its_rows),
        cmocka_unit_test(test_same_key_id_with_other_key_fails),
        cmocka_unit_test(test_encryption_is_randomised),
        cmocka_unit_test(test_pseudonym_is_stable_and_keyed),
        cmocka_unit_test(test_key_configuration_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
