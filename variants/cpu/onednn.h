/* Internal: what the rest of the library needs of the oneDNN variant beyond its ops table. */
#ifndef CONV1D_ONEDNN_H
#define CONV1D_ONEDNN_H

/* Applies the CONV1D_ISA cap to oneDNN (dnnl_set_max_cpu_isa), so that the peer runs the same ISA as our
 * kernels. Called before the first use of oneDNN by the variant and by the machine record; a no-op without a
 * cap. Thread-safe. */
void c1_onednn_limit_isa(void);

#endif
