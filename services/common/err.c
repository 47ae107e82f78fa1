/*
 * err.c: text, names and retry class for the BRR_E* codes of err.h.
 *
 * Everything is generated from BRR_ERRNO_MAP so a new code needs one line in
 * the header and nothing here.
 */
#include "err.h"

const char *brr_strerror(int rc)
{
    switch (rc) {
    case BRR_OK:
        return "success";
#define XX(name, value, transient, msg)                                        \
    case value:                                                                \
        return msg;
        BRR_ERRNO_MAP(XX)
#undef XX
    }
    return "unknown error";
}

const char *brr_err_name(int rc)
{
    switch (rc) {
    case BRR_OK:
        return "OK";
#define XX(name, value, transient, msg)                                        \
    case value:                                                                \
        return "E" #name;
        BRR_ERRNO_MAP(XX)
#undef XX
    }
    return "EUNKNOWN";
}

int brr_err_is_transient(int rc)
{
    switch (rc) {
#define XX(name, value, transient, msg)                                        \
    case value:                                                                \
        return transient;
        BRR_ERRNO_MAP(XX)
#undef XX
    }
    return 0;
}
