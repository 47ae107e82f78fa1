/*
 * admin.c: /healthz, /readyz and /metrics of admin.h on the http.h server.
 *
 * The heartbeat is an unreferenced uv_timer: it does not keep the loop
 * alive, but as long as the loop turns it refreshes last_beat, so a loop
 * blocked by a stuck callback shows as a stale heartbeat on the next
 * /healthz it manages to answer.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "admin.h"
#include "err.h"
#include "metrics.h"

typedef struct {
    char *name;
    brr_admin_check_cb check;
    void *arg;
} brr_admin_check_t;

struct brr_admin {
    uv_loop_t *loop;
    brr_http_server_t *srv;
    uv_timer_t heartbeat;
    uint64_t last_beat;
    uint64_t interval_ms;
    uint64_t stale_ms;
    brr_admin_check_t *checks;
    size_t nchecks;
    int pending_closes;
};

static void admin_free(brr_admin_t *adm)
{
    size_t i;

    for (i = 0; i < adm->nchecks; i++)
        free(adm->checks[i].name);
    free(adm->checks);
    free(adm);
}

static void on_beat(uv_timer_t *t)
{
    brr_admin_t *adm = t->data;

    adm->last_beat = uv_now(adm->loop);
}

static int h_healthz(h2o_req_t *req, void *data)
{
    brr_admin_t *adm = data;
    uint64_t age = uv_now(adm->loop) - adm->last_beat;

    if (age > adm->stale_ms) {
        brr_http_send(req, 503, "text/plain", "stale\n", 6);
        return 0;
    }
    brr_http_send(req, 200, "text/plain", "ok\n", 3);
    return 0;
}

static int h_readyz(h2o_req_t *req, void *data)
{
    brr_admin_t *adm = data;
    json_t *body = json_object(), *failing = json_array(),
           *checks = json_object();
    char *text;
    size_t i;
    int ready;

    for (i = 0; i < adm->nchecks; i++) {
        int ok = adm->checks[i].check(adm->checks[i].arg) != 0;

        json_object_set_new(checks, adm->checks[i].name, json_boolean(ok));
        if (!ok)
            json_array_append_new(failing, json_string(adm->checks[i].name));
    }
    ready = json_array_size(failing) == 0;
    json_object_set_new(body, "status",
                        json_string(ready ? "ready" : "not ready"));
    json_object_set_new(body, "checks", checks);
    if (!ready)
        json_object_set(body, "failing", failing);
    json_decref(failing);
    text = json_dumps(body, JSON_COMPACT);
    if (text == NULL)
        abort();
    brr_http_send(req, ready ? 200 : 503, "application/json", text,
                  strlen(text));
    free(text);
    json_decref(body);
    return 0;
}

static int h_metrics(h2o_req_t *req, void *data)
{
    size_t len;
    char *text = brr_metrics_render(&len);

    (void)data;
    brr_http_send(req, 200, "text/plain; version=0.0.4; charset=utf-8", text,
                  len);
    free(text);
    return 0;
}

int brr_admin_start(uv_loop_t *loop, const char *host, int port,
                    brr_admin_t **out)
{
    brr_http_conf_t conf = {.host = host != NULL ? host : "127.0.0.1",
                            .port = port,
                            .max_body = 64 * 1024,
                            .name = "admin"};
    brr_admin_t *adm = calloc(1, sizeof(*adm));
    int rc;

    if (adm == NULL)
        abort();
    adm->loop = loop;
    adm->interval_ms = 1000;
    adm->stale_ms = 5000;
    if ((rc = brr_http_server_init(loop, &conf, &adm->srv)) != 0) {
        free(adm);
        return rc;
    }
    brr_http_server_route(adm->srv, "GET", "/healthz", h_healthz, adm);
    brr_http_server_route(adm->srv, "GET", "/readyz", h_readyz, adm);
    brr_http_server_route(adm->srv, "GET", "/metrics", h_metrics, adm);
    if ((rc = brr_http_server_start(adm->srv)) != 0) {
        /* The server frees itself once its handles are closed. */
        brr_http_server_stop(adm->srv, NULL, NULL);
        free(adm);
        return rc;
    }
    uv_timer_init(loop, &adm->heartbeat);
    adm->heartbeat.data = adm;
    adm->last_beat = uv_now(loop);
    uv_timer_start(&adm->heartbeat, on_beat, adm->interval_ms,
                   adm->interval_ms);
    uv_unref((uv_handle_t *)&adm->heartbeat);
    *out = adm;
    return 0;
}

void brr_admin_add_ready_check(brr_admin_t *adm, const char *name,
                               brr_admin_check_cb check, void *arg)
{
    brr_admin_check_t *c;

    adm->checks =
        realloc(adm->checks, (adm->nchecks + 1) * sizeof(*adm->checks));
    if (adm->checks == NULL)
        abort();
    c = &adm->checks[adm->nchecks++];
    c->name = strdup(name);
    if (c->name == NULL)
        abort();
    c->check = check;
    c->arg = arg;
}

void brr_admin_set_heartbeat(brr_admin_t *adm, uint64_t interval_ms,
                             uint64_t stale_ms)
{
    adm->interval_ms = interval_ms;
    adm->stale_ms = stale_ms;
    adm->last_beat = uv_now(adm->loop);
    uv_timer_start(&adm->heartbeat, on_beat, interval_ms, interval_ms);
}

int brr_admin_port(const brr_admin_t *adm)
{
    return brr_http_server_port(adm->srv);
}

brr_http_server_t *brr_admin_server(brr_admin_t *adm)
{
    return adm->srv;
}

static void on_part_closed(brr_admin_t *adm)
{
    if (--adm->pending_closes == 0)
        admin_free(adm);
}

static void on_srv_stopped(void *arg)
{
    on_part_closed(arg);
}

static void on_beat_closed(uv_handle_t *h)
{
    on_part_closed(h->data);
}

void brr_admin_stop(brr_admin_t *adm)
{
    if (adm == NULL)
        return;
    adm->pending_closes = 2;
    uv_close((uv_handle_t *)&adm->heartbeat, on_beat_closed);
    brr_http_server_stop(adm->srv, on_srv_stopped, adm);
}
