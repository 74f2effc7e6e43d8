/*
 * One shape of a sweep on one device (sweep.h): its candidates measured by the tuner on data seeded from the
 * sweep's seed and the shape's key, then every measurement, and the winner and the peer of each precision
 * class, recorded in one transaction.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basics.h"
#include "error.h"
#include "sweep.h"

static uint64_t mix_seed(uint64_t seed, const char *key)
{
    return c1_fnv1a64(seed ^ C1_FNV1A64_INIT, key, strlen(key));
}

conv1d_status c1_sweep_shape(c1_sweep_ctx *x, const conv1d_desc *d, c1_device device, char *summary, size_t size,
                                 bool *skipped)
{
    char key[CONV1D_DESC_TEXT_MAX];
    conv1d_desc_format(d, key, sizeof key);
    *skipped = false;
    int64_t shape_id = 0;
    conv1d_status rc = c1_store_shape_id(&x->store, d, &shape_id);
    if (rc != CONV1D_OK) return rc;
    if (!x->force) {
        bool done = false;
        if ((rc = c1_store_shape_done(&x->store, x->hardware_id, x->build_id, shape_id, c1_device_name(device),
                                      &done)) != CONV1D_OK)
            return rc;
        if (done) {
            *skipped = true;
            snprintf(summary, size, "%s: already finished", key);
            return CONV1D_OK;
        }
    }

    size_t nreg;
    c1_variant_list(&nreg);
    c1_candidate *cand = calloc(nreg, sizeof *cand);
    const c1_variant **vs = calloc(nreg, sizeof *vs);
    if (!cand || !vs) {
        free(cand), free(vs);
        return c1_fail(CONV1D_OUT_OF_MEMORY, "Could not allocate the candidates of %s.", key);
    }
    /* Variants that do not apply are recorded as such. */
    const int n = (int)c1_device_candidates(device, vs, nreg);
    for (int i = 0; i < n; i++) cand[i].v = vs[i];
    free(vs);

    const uint64_t seed = mix_seed(x->seed, key);
    c1_problem p;
    const double t0 = c1_now_s();
    rc = c1_problem_create(d, seed, x->opts.timeout_s, &p);
    if (rc == CONV1D_OK) {
        rc = c1_tune_shape(cand, n, &p, x->strategy, x->budget_s, &x->opts, seed, x->stop);
        c1_problem_destroy(&p);
    }
    if (rc != CONV1D_OK || (x->stop && *x->stop)) {
        free(cand);
        return rc;
    }

    if ((rc = c1_store_begin(&x->store)) != CONV1D_OK) {
        free(cand);
        return rc;
    }
    for (int i = 0; i < n && rc == CONV1D_OK; i++) {
        if (!cand[i].measured) continue;
        const c1_measurement *m = &cand[i].m;
        const bool timed = m->outcome == C1_OUTCOME_OK;
        const bool compared = timed || m->outcome == C1_OUTCOME_WRONG;
        const c1_store_measurement row = {
            .run_id = x->run_id,
            .shape_id = shape_id,
            .hardware_id = x->hardware_id,
            .build_id = x->build_id,
            .variant = cand[i].v->name,
            .family = cand[i].v->family,
            .device = c1_device_name(device),
            .precision = c1_precision_name(cand[i].v->precision),
            .status = c1_outcome_name(m->outcome),
            .message = m->message[0] ? m->message : NULL,
            .impl = m->impl[0] ? m->impl : NULL,
            .rel_err = compared && m->error.bad_index < 0 ? m->error.rel_max : NAN,
            .rel_l2 = compared && m->error.bad_index < 0 ? m->error.rel_l2 : NAN,
            .median_ms = timed ? m->time_ms.median : NAN,
            .p10_ms = timed ? m->time_ms.p10 : NAN,
            .p90_ms = timed ? m->time_ms.p90 : NAN,
            .ci_lo_ms = timed ? m->time_ms.ci_lo : NAN,
            .ci_hi_ms = timed ? m->time_ms.ci_hi : NAN,
            .repeats = timed ? m->time_ms.n : 0,
            .threads = m->threads,
            .buffer_sets = m->buffer_sets,
            .seed = seed,
            .wall_s = m->wall_s,
        };
        rc = c1_store_add_measurement(&x->store, &row);
    }
    int written = snprintf(summary, size, "%s:", key);
    for (int prec = C1_PREC_FP32; prec < C1_PREC_COUNT && rc == CONV1D_OK; prec++) {
        bool tie;
        const int w = c1_choose_winner(cand, n, (c1_precision)prec, &tie);
        if (w < 0) continue;
        const int peer_index = c1_find_peer(cand, n, device, (c1_precision)prec);
        const c1_candidate *peer = peer_index >= 0 ? &cand[peer_index] : NULL;
        const bool same_class_peer = peer != NULL;
        const c1_store_winner row = {
            .hardware_id = x->hardware_id,
            .build_id = x->build_id,
            .shape_id = shape_id,
            .run_id = x->run_id,
            .device = c1_device_name(device),
            .precision = c1_precision_name((c1_precision)prec),
            .variant = cand[w].v->name,
            .median_ms = cand[w].m.time_ms.median,
            .p10_ms = cand[w].m.time_ms.p10,
            .p90_ms = cand[w].m.time_ms.p90,
            .peer_variant = same_class_peer ? peer->v->name : NULL,
            .peer_median_ms = same_class_peer ? peer->m.time_ms.median : NAN,
            .tie = tie,
        };
        rc = c1_store_set_winner(&x->store, &row);
        if (written >= 0 && (size_t)written < size)
            written += snprintf(summary + written, size - written, " %s %s %.4g ms%s", row.precision, row.variant,
                                row.median_ms, tie ? " (tie)" : "");
        if (same_class_peer && written >= 0 && (size_t)written < size)
            written += snprintf(summary + written, size - written, ", %.2fx %s", row.peer_median_ms / row.median_ms,
                                peer->v->name);
    }
    if (written >= 0 && (size_t)written < size)
        snprintf(summary + written, size - written, " [%d variants, %.1f s]", n, c1_now_s() - t0);
    free(cand);
    if (rc != CONV1D_OK) {
        c1_store_rollback(&x->store);
        return rc;
    }
    return c1_store_commit(&x->store);
}
