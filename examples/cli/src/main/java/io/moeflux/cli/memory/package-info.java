/**
 * The weight memory per rank of a checkpoint for a number of ranks, computed from {@code
 * config.json} alone ({@link io.moeflux.cli.memory.MemoryPlan}), so a model too large for this
 * machine can be planned before it is downloaded.
 */
@NullMarked
package io.moeflux.cli.memory;

import org.jspecify.annotations.NullMarked;
