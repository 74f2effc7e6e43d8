/*
 * conv1d-tune hw: this machine's fingerprint, topology, ISA, libraries, GPUs and (with --peaks) ceilings.
 *
 * The GPU facts come from c1_hw_collect's probe child and the GPU ceilings from another child
 * (c1_gpu_peaks_isolated): this process never initialises CUDA. The GPU ceilings are measured afresh on
 * every --peaks run (a second or so) and appear under the first GPU's entry of the JSON record.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_info.h"
#include "cli.h"
#include "hwinfo.h"
#include "measure.h"
#include "peaks.h"

/* Wall-clock limit of the GPU ceilings child (CUDA initialisation included). */
#define GPU_PEAKS_TIMEOUT_S 120.0

static void usage(FILE *f)
{
    fprintf(f, "usage: conv1d-tune hw [--json] [--peaks] [--force] [--isa-levels]\n\n"
               "Describes this machine: the fingerprint that results are stored under, CPU, caches, NUMA, ISA\n"
               "flags, OS, compiler, oneDNN and the ISA it dispatches to, and the CUDA driver, runtime, cuDNN\n"
               "and GPUs when built with CUDA. CONV1D_ISA=avx512bf16|avx512|avx2|c caps the ISA level that\n"
               "variants and oneDNN use (unset: the best this CPU has); the record shows the cap, and a capped\n"
               "machine has its own fingerprint.\n\n"
               "options:\n"
               "  --json    the full record as one JSON object\n"
               "  --peaks   also the ceilings: fp32 FMA GFLOP/s and DRAM copy GB/s, on one core and on all\n"
               "            cores; measured once (about %.1f s, uses every core) and then read from\n"
               "            $XDG_CACHE_HOME/conv1d-tune/peaks-FINGERPRINT.txt; with a GPU also its fp32 FMA\n"
               "            GFLOP/s and device copy GB/s (measured every time, in the JSON under the GPU)\n"
               "  --force   measure the ceilings again even when cached (implies --peaks)\n"
               "  --isa-levels  only the ISA levels this CPU can run, best first, on one line (e.g. \"avx2 c\")\n"
               "  --help    this text\n",
            C1_PEAKS_DEFAULT_SECONDS);
}

/* 32768 -> "32 KiB"; exact powers print without decimals. */
static const char *bytes_text(int64_t v, char buf[32])
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double x = (double)v;
    int u = 0;
    for (; x >= 1024.0 && u < 4; u++) x /= 1024.0;
    if (x == (double)(int64_t)x)
        snprintf(buf, 32, "%.0f %s", x, units[u]);
    else
        snprintf(buf, 32, "%.1f %s", x, units[u]);
    return buf;
}

static void print_cache(const char *name, c1_hw_cache c, bool first)
{
    char b[32];
    if (c.size_bytes > 0) printf("%s%s %s x%d", first ? "" : ", ", name, bytes_text(c.size_bytes, b), c.count);
}

/* CUDA encodes 12.4 as 12040. */
static const char *cuda_version_text(int v, char buf[32])
{
    if (v <= 0)
        snprintf(buf, 32, "none");
    else
        snprintf(buf, 32, "%d.%d", v / 1000, (v % 1000) / 10);
    return buf;
}

/* cuDNN 9 encodes 9.1.0 as 90100; cuDNN 8 encoded 8.9.7 as 8907. */
static const char *cudnn_version_text(int v, char buf[32])
{
    if (v <= 0)
        snprintf(buf, 32, "none");
    else if (v >= 10000)
        snprintf(buf, 32, "%d.%d.%d", v / 10000, (v % 10000) / 100, v % 100);
    else
        snprintf(buf, 32, "%d.%d.%d", v / 1000, (v % 1000) / 100, v % 100);
    return buf;
}

static void print_summary(const c1_hwinfo *hw, const char *fp)
{
    char b[32], b2[32], b3[32];
    printf("%-14s%s\n", "fingerprint:", fp);
    printf("%-14s%s (%s", "cpu:", hw->cpu_model, hw->cpu_vendor);
    if (hw->cpu_family >= 0) printf(", family %d", hw->cpu_family);
    if (hw->cpu_model_number >= 0) printf(", model %d", hw->cpu_model_number);
    if (hw->cpu_stepping >= 0) printf(", stepping %d", hw->cpu_stepping);
    printf(")\n");
    printf("%-14s%d package%s, %d cores, %d PUs, %d NUMA node%s", "topology:", hw->packages,
           hw->packages == 1 ? "" : "s", hw->cores, hw->pus, hw->numa_nodes, hw->numa_nodes == 1 ? "" : "s");
    if (hw->memory_bytes > 0) printf(", %s memory", bytes_text(hw->memory_bytes, b));
    printf("\n%-14s", "caches:");
    print_cache("L1d", hw->l1d, true);
    print_cache("L2", hw->l2, hw->l1d.size_bytes <= 0);
    print_cache("L3", hw->l3, hw->l1d.size_bytes <= 0 && hw->l2.size_bytes <= 0);
    printf("\n%-14s", "isa:");
    const char *sep = "";
    for (int bit = 0; bit < 32; bit++) {
        const char *name = c1_isa_flag_name(1u << bit);
        if (name && (hw->isa & (1u << bit))) {
            printf("%s%s", sep, name);
            sep = " ";
        }
    }
    if (!*sep) printf("(none of the tracked flags)");
    if (strcmp(hw->isa_cap, "none") == 0)
        printf("\n%-14s%s (the CPU's best; CONV1D_ISA caps it)", "isa level:", hw->isa_level);
    else
        printf("\n%-14s%s (capped by CONV1D_ISA; the CPU has %s)", "isa level:", hw->isa_level,
               c1_isa_level_name(c1_isa_cpu_level()));
    printf("\n%-14s%s %s %s (host %s)\n", "os:", hw->os_name, hw->os_release, hw->os_machine, hw->hostname);
    printf("%-14s%s\n", "compiler:", hw->compiler);
    printf("%-14s%s\n", "build flags:", hw->build_flags);
    printf("%-14s%s\n", "hwloc api:", hw->hwloc_api_version);
    printf("%-14s%s (%.8s), dispatches to %s\n", "onednn:", hw->onednn_version, hw->onednn_hash, hw->onednn_isa);
    if (!hw->cuda_compiled) {
        printf("%-14snot built with CUDA\n", "cuda:");
        return;
    }
    /* Without a GPU cuDNN is not loaded (hwinfo.c): the version is the build's. */
    printf("%-14sruntime %s, driver %s, cuDNN %s%s\n", "cuda:", cuda_version_text(hw->cuda_runtime_version, b),
           cuda_version_text(hw->cuda_driver_version, b2),
           hw->gpu_count > 0 ? cudnn_version_text(hw->cudnn_version, b3) : c1_build_info_get()->cudnn,
           hw->gpu_count > 0 ? "" : " (built with)");
    if (hw->gpu_count == 0) printf("%-14snone (%s)\n", "gpus:", hw->cuda_error);
    for (int i = 0; i < hw->gpu_count; i++) {
        const c1_hw_gpu *g = &hw->gpus[i];
        char label[16];
        snprintf(label, sizeof label, "gpu %d:", i);
        printf("%-14s%s, %d SMs, cc %d.%d, %s", label, g->name, g->sm_count, g->cc_major, g->cc_minor,
               bytes_text(g->memory_bytes, b));
        printf(", L2 %s, %s\n", bytes_text(g->l2_bytes, b), g->uuid);
    }
}

static void print_peaks(const c1_hwinfo *hw, const c1_peaks *p, bool cached, const char *fp)
{
    char path[4096];
    if (cached && c1_peaks_cache_path(fp, path, sizeof path) > 0)
        printf("%-14sfrom %s\n", "peaks:", path);
    else
        printf("%-14smeasured now\n", "peaks:");
    printf("%-14s%.1f GFLOP/s one core, %.1f GFLOP/s on %d threads (%s)\n", "fp32 fma:", p->fma_gflops_1core,
           p->fma_gflops_all, p->threads, c1_peaks_fma_isa());
    printf("%-14s%.1f GB/s one core, %.1f GB/s on %d threads (read + write)\n", "dram copy:", p->copy_gbs_1core,
           p->copy_gbs_all, p->threads);
    if (hw->gpu_count > 0 && hw->gpus[0].peak_fma_gflops > 0) {
        printf("%-14s%.0f GFLOP/s fp32 FMA (%s)\n", "gpu 0 fma:", hw->gpus[0].peak_fma_gflops, hw->gpus[0].name);
        printf("%-14s%.0f GB/s device copy (read + write)\n", "gpu 0 copy:", hw->gpus[0].peak_copy_gbs);
    }
}

int c1_cmd_hw(int argc, char **argv)
{
    static const struct option options[] = {
        {"json", no_argument, NULL, 'j'},
        {"peaks", no_argument, NULL, 'p'},
        {"force", no_argument, NULL, 'f'},
        {"isa-levels", no_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = false, peaks = false, force = false, levels = false;
    int c;
    optind = 0; /* glibc: start over, so a subcommand can be run more than once per process */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'p': peaks = true; break;
        case 'f': force = peaks = true; break;
        case 'l': levels = true; break;
        case 'h': usage(stdout); return C1_EXIT_OK;
        case ':': return c1_cli_error(C1_EXIT_USAGE, "hw", "option %s needs a value.", argv[optind - 1]);
        default: return c1_cli_error(C1_EXIT_USAGE, "hw", "unknown option '%s' (see --help).", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return c1_cli_error(C1_EXIT_USAGE, "hw", "unexpected argument '%s' (see --help).", argv[optind]);

    if (levels) {
        for (int l = c1_isa_cpu_level(); l >= 0; l--)
            printf("%s%s", c1_isa_level_name((c1_isa_level)l), l ? " " : "\n");
        return fflush(stdout) == 0 ? C1_EXIT_OK : c1_cli_error(C1_EXIT_FAILURE, "hw", "cannot write the output.");
    }

    c1_hwinfo *hw = malloc(sizeof *hw);
    if (!hw) return c1_cli_error(C1_EXIT_FAILURE, "hw", "out of memory.");
    if (c1_hw_collect(hw) != CONV1D_OK) {
        free(hw);
        return c1_cli_error(C1_EXIT_FAILURE, "hw", "%s", conv1d_last_error());
    }
    char fp[17];
    c1_hw_fingerprint(hw, fp);

    c1_peaks p = {0};
    bool cached = false;
    if (peaks && c1_peaks_load_or_measure_for(fp, C1_PEAKS_DEFAULT_SECONDS, &p, force, &cached) != CONV1D_OK) {
        free(hw);
        return c1_cli_error(C1_EXIT_FAILURE, "hw", "measuring the ceilings failed: %s", conv1d_last_error());
    }

    /* The GPU ceilings of the first GPU (the device a measurement child uses); a failure is reported, not fatal. */
    if (peaks && hw->gpu_count > 0) {
        double gflops, gbs;
        if (c1_gpu_peaks_isolated(GPU_PEAKS_TIMEOUT_S, &gflops, &gbs) == CONV1D_OK) {
            hw->gpus[0].peak_fma_gflops = gflops;
            hw->gpus[0].peak_copy_gbs = gbs;
        } else {
            fprintf(stderr, "conv1d-tune hw: the GPU ceilings were not measured: %s\n", conv1d_last_error());
        }
    }

    int rc = C1_EXIT_OK;
    if (json) {
        char *text = NULL, *ptext = NULL;
        if (c1_hw_to_json(hw, &text) != CONV1D_OK || (peaks && c1_peaks_to_json(&p, &ptext) != CONV1D_OK)) {
            rc = c1_cli_error(C1_EXIT_FAILURE, "hw", "%s", conv1d_last_error());
        } else if (peaks) {
            /* The record is one object: drop its closing brace and add the ceilings as two more members. */
            size_t n = strlen(text);
            printf("%.*s,\"peaks\":%s,\"peaks_cached\":%s}\n", (int)(n - 1), text, ptext, cached ? "true" : "false");
        } else {
            printf("%s\n", text);
        }
        free(text);
        free(ptext);
    } else {
        print_summary(hw, fp);
        if (peaks) print_peaks(hw, &p, cached, fp);
    }
    free(hw);
    if (fflush(stdout) != 0 && rc == C1_EXIT_OK) rc = c1_cli_error(C1_EXIT_FAILURE, "hw", "cannot write the output.");
    return rc;
}
