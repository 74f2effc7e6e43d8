/* Cache sizes and core count of this machine, discovered once with hwloc (sysconf as a fallback). */
#include <pthread.h>
#include <unistd.h>

#include "cpu_caches.h"

c1_hw_cache c1_hw_cache_level(hwloc_topology_t topo, hwloc_obj_type_t type)
{
    c1_hw_cache c = {0, 0};
    int n = hwloc_get_nbobjs_by_type(topo, type);
    for (int i = 0; i < n; i++) {
        hwloc_obj_t o = hwloc_get_obj_by_type(topo, type, i);
        if (!o || !o->attr) continue;
        if (type == HWLOC_OBJ_L1CACHE && o->attr->cache.type == HWLOC_OBJ_CACHE_INSTRUCTION) continue;
        int64_t size = (int64_t)o->attr->cache.size;
        if (size <= 0) continue;
        if (c.size_bytes == 0 || size < c.size_bytes) c.size_bytes = size;
        c.count++;
    }
    return c;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int64_t cache_bytes[4];
static int cores = 1;

static void discover(void)
{
    static const int64_t fallback[4] = {0, 32 << 10, 512 << 10, 8 << 20};
    static const int sc_names[4] = {0, _SC_LEVEL1_DCACHE_SIZE, _SC_LEVEL2_CACHE_SIZE, _SC_LEVEL3_CACHE_SIZE};
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) == 0) {
        if (hwloc_topology_load(topo) == 0) {
            cache_bytes[1] = c1_hw_cache_level(topo, HWLOC_OBJ_L1CACHE).size_bytes;
            cache_bytes[2] = c1_hw_cache_level(topo, HWLOC_OBJ_L2CACHE).size_bytes;
            cache_bytes[3] = c1_hw_cache_level(topo, HWLOC_OBJ_L3CACHE).size_bytes;
            cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
            if (cores <= 0) cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
        }
        hwloc_topology_destroy(topo);
    }
    if (cores <= 0) {
        const long n = sysconf(_SC_NPROCESSORS_ONLN);
        cores = n > 0 ? (int)n : 1;
    }
    for (int level = 1; level <= 3; level++) {
        if (cache_bytes[level] > 0) continue;
        const long v = sysconf(sc_names[level]);
        cache_bytes[level] = v > 0 ? v : fallback[level];
    }
}

int64_t c1_hw_cache_bytes(int level)
{
    if (level < 1 || level > 3) return 0;
    pthread_once(&once, discover);
    return cache_bytes[level];
}

int c1_hw_cores(void)
{
    pthread_once(&once, discover);
    return cores;
}
