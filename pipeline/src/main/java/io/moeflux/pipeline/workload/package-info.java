/** Seeded synthetic token batches, the same in every process, for checks and benchmarks. */
@NullMarked
package io.moeflux.pipeline.workload;

import org.jspecify.annotations.NullMarked;
