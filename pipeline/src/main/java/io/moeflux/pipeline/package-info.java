/**
 * The MoE step of one rank as a Reactor stream: {@link io.moeflux.pipeline.MoeRank} turns a {@code
 * Flux<TokenBatch>} into a {@code Flux<TokenBatch>}, running router, dispatch, experts and combine
 * for every MoE layer over the rank mesh; {@link io.moeflux.pipeline.MoeGroup} starts several ranks
 * in one JVM.
 */
@NullMarked
package io.moeflux.pipeline;

import org.jspecify.annotations.NullMarked;
