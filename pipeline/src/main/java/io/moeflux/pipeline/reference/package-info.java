/**
 * An independent float64 computation of one MoE block of a checkpoint, to check the distributed
 * path against.
 *
 * <p>It is written from the families' formulas (those of the transformers implementations), apart
 * from the production path: its own routers ({@link
 * io.moeflux.pipeline.reference.Float64SoftmaxRouter} for mixtral, qwen2_moe and qwen3_moe, {@link
 * io.moeflux.pipeline.reference.Float64GroupLimitedRouter} for deepseek_v3) and its own SwiGLU
 * ({@link io.moeflux.pipeline.reference.Float64Expert}), every product and sum in double precision.
 * It shares only the loader ({@link io.moeflux.pipeline.checkpoint.Checkpoint}), so the weights it
 * multiplies are bit for bit those the ranks multiply, and a bug in a production router, kernel,
 * dispatch or combine shows as a difference instead of cancelling out.
 *
 * <ul>
 *   <li>{@link io.moeflux.pipeline.reference.Float64MoeBlock} loads one layer (router, shared
 *       expert; routed experts one at a time while computing) and returns the block's output
 *       (routed weighted sum plus shared part, no residual and no norm) with the top-k ids and
 *       weights;
 *   <li>{@link io.moeflux.pipeline.reference.ReferenceComparison} measures a result against it and
 *       {@link io.moeflux.pipeline.reference.ReferenceTolerance} says what is close enough for a
 *       given wire precision;
 *   <li>{@link io.moeflux.pipeline.reference.TieFreeCheckpoint} writes random checkpoints on which
 *       the routing of given inputs has no near-ties, so the comparison is exact on ids.
 * </ul>
 *
 * <p>Ties: when two experts (or two deepseek groups) have equal selection values, the lower id
 * wins, and the chosen ids are listed in descending order of selection value. transformers leaves
 * the order of equal values to {@code torch.topk}; checks therefore use inputs whose selection
 * values are at least {@code 1e-3} apart ({@link
 * io.moeflux.pipeline.reference.Float64Routing#gaps()}).
 */
@NullMarked
package io.moeflux.pipeline.reference;

import org.jspecify.annotations.NullMarked;
