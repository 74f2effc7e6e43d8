/* Internal: what this build is, for the results database (builds table) and dispatch. */
#ifndef CONV1D_BUILD_INFO_H
#define CONV1D_BUILD_INFO_H

typedef struct c1_build_info {
    char signature[17]; /* FNV-1a 64 of every field below, hex */
    char version[16];   /* libconv1d version */
    char compiler[128];
    char onednn[32];    /* "3.2.0"; "none" in a build without oneDNN (ONEDNN=0) */
    char cuda[16];      /* CUDA runtime the build compiled against, "" without CUDA */
    char cudnn[16];
    char variants[8192]; /* "name family device precision p0,p1,p2,p3;" per registered variant */
} c1_build_info;

/* This build's record; computed once, static storage. Thread-safe. */
const c1_build_info *c1_build_info_get(void);

#endif
