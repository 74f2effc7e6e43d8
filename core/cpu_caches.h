/* Internal: this machine's cache sizes and cores, which kernels size their blocking from (hwloc). */
#ifndef CONV1D_CPU_CACHES_H
#define CONV1D_CPU_CACHES_H

#include <hwloc.h>
#include <stdint.h>

/* One cache level: the size of one instance (the smallest, on machines whose cores differ) and how many
 * instances the machine has. size_bytes 0 means the level was not found. */
typedef struct c1_hw_cache {
    int64_t size_bytes;
    int count;
} c1_hw_cache;

/* Smallest instance size and instance count of one cache type in a loaded topology. */
c1_hw_cache c1_hw_cache_level(hwloc_topology_t topo, hwloc_obj_type_t type);

/* Size in bytes of one instance of the level-1 data, level-2 or level-3 cache of this machine, for
 * sizing blocking. Never 0 for levels 1-3: when hwloc and sysconf both fail it returns a conservative
 * default (32 KiB, 512 KiB, 8 MiB); 0 for any other level. Discovered once per process; thread-safe. */
int64_t c1_hw_cache_bytes(int level);

/* Physical cores this process may use (at least 1). Discovered once per process; thread-safe. */
int c1_hw_cores(void);

#endif
