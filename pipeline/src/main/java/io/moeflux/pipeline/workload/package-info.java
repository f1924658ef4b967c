/** Seeded synthetic token batches, the same in every process, for checks and benchmarks. */
package io.moeflux.pipeline.workload;
