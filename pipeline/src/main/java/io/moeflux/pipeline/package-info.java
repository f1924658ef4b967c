/**
 * The MoE step of one rank as a Reactor stream: {@link io.moeflux.pipeline.MoeRank} turns a {@code
 * Flux<TokenBatch>} into a {@code Flux<TokenBatch>}, running router, dispatch, experts and combine
 * for every MoE layer over the rank mesh; {@link io.moeflux.pipeline.MoeGroup} starts several ranks
 * in one JVM. A rank is configured by {@link io.moeflux.pipeline.PipelineConfig}, reports itself
 * through {@link io.moeflux.pipeline.RankStatus}, and is extended at start (heat tap, placement
 * source) by {@link io.moeflux.pipeline.RankExtensions}, whose factories see the rank through a
 * {@link io.moeflux.pipeline.RankContext}.
 */
@NullMarked
package io.moeflux.pipeline;

import org.jspecify.annotations.NullMarked;
