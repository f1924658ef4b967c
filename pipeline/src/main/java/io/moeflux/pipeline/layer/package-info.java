/**
 * How one rank runs a step's MoE layers. {@link io.moeflux.pipeline.layer.StepRunner} decides per
 * step whether to sync the DP metadata and which comm mode to run; one {@code LayerRunner} does
 * every layer (route, exchange, experts, partial sums, combine in rank order), and an {@code
 * ExchangeStrategy} per comm mode supplies only how tokens travel and how a received pick finds its
 * slot, weight and row. Internal to the pipeline: {@link io.moeflux.pipeline.MoeRank} is the API.
 */
@NullMarked
package io.moeflux.pipeline.layer;

import org.jspecify.annotations.NullMarked;
