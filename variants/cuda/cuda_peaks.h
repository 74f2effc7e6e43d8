/*
 * Internal: measured GPU ceilings for the reports (fp32 FMA throughput, device-memory copy bandwidth), the
 * GPU side of `conv1d-tune hw --peaks`, and the busy wait the GPU timing puts before its start event.
 * Initialises CUDA, so it runs only in a forked child of the tool.
 */
#ifndef CONV1D_CUDA_PEAKS_H
#define CONV1D_CUDA_PEAKS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Measures on the current device: *fp32_gflops, from a long chain of dependent FMAs on every SM (8
 * independent chains per thread, enough resident warps to hide the FMA latency), and *copy_gbs, from a
 * 512 MiB device-to-device cudaMemcpyAsync counting bytes read + written; both the best of several timed
 * repetitions (CUDA events) after a warm-up. Returns CONV1D_OK (0) or a conv1d_status with the sentence in
 * conv1d_last_error(); the outputs are 0 on failure. */
int c1_cuda_measure_peaks(double *fp32_gflops, double *copy_gbs);

/* Enqueues on `stream` (a cudaStream_t) a one-thread kernel that keeps the stream busy for `seconds` of
 * device time (%globaltimer, about 1 us resolution), so that work the host enqueues behind it starts
 * back to back however long the host takes to enqueue it. Returns the cudaError_t of the launch as an int. */
int c1_cuda_busy_wait(double seconds, void *stream);

#ifdef __cplusplus
}
#endif

#endif
