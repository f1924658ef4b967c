/**
 * The MoE model math, free of any transport: the model shape ({@link
 * io.moeflux.pipeline.model.ModelConfig}), deterministic synthetic expert weights and the SwiGLU
 * expert function, the gate router (softmax top-k, DeepSeek-V3 grouped top-k, skewed load), the
 * expert placement maps (phy2log, log2phy, logcnt) and a single-process reference model.
 *
 * <p>Everything here is deterministic to the bit: the same configuration gives the same weights,
 * routes and hidden states on every rank and every JVM, so a distributed run can be checked against
 * {@link io.moeflux.pipeline.model.ReferenceModel} with {@code Arrays.equals}. The shared summation
 * steps live in {@link io.moeflux.pipeline.model.RowMath} so that the distributed combine adds in
 * exactly the same order as the reference.
 */
@NullMarked
package io.moeflux.pipeline.model;

import org.jspecify.annotations.NullMarked;
