package io.moeflux.cli.memory;

import io.moeflux.pipeline.checkpoint.HfModelConfig;
import io.moeflux.pipeline.checkpoint.ModelFamily;
import io.moeflux.pipeline.checkpoint.TensorDtype;
import java.util.Objects;

/**
 * The weights one rank holds for a checkpoint's MoE layers, from {@code config.json} alone: what
 * {@link io.moeflux.pipeline.model.MemoryReport} reports for a loaded checkpoint under the start
 * placement, without the weights. Per MoE layer a rank holds:
 *
 * <ul>
 *   <li>{@code ceil((experts + redundantSlots) / ranks)} routed expert slots (the start placement
 *       rounds the slots up to a whole number per rank; the extra slots are replicas), each {@code
 *       3 × hidden × intermediate} weights in their stored precision (F8_E4M3 is held as bf16);
 *   <li>the router, {@code experts × hidden} float32 (deepseek_v3: plus its {@code experts} float32
 *       correction bias);
 *   <li>a copy of the shared expert, {@code 3 × hidden × shared intermediate} stored weights
 *       (qwen2_moe: plus its {@code hidden} float32 gate); none for mixtral and qwen3_moe.
 * </ul>
 *
 * @param ranks ranks the experts are spread over
 * @param slotsPerLayer routed expert slots per rank per MoE layer, replicas included
 * @param layers MoE layers
 * @param routedBytes routed experts' bytes per rank over all MoE layers
 * @param routerBytes routers' bytes per rank
 * @param sharedBytes shared experts' bytes per rank
 */
public record MemoryPlan(
    int ranks,
    int slotsPerLayer,
    int layers,
    long routedBytes,
    long routerBytes,
    long sharedBytes) {

  /**
   * The plan for {@code config} with weights stored as {@code weights} on {@code ranks} ranks with
   * {@code redundantSlots} replicas in all.
   *
   * @throws IllegalArgumentException when a rank would need more slots than there are experts
   */
  public static MemoryPlan of(
      HfModelConfig config, TensorDtype weights, int ranks, int redundantSlots) {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(weights, "weights");
    if (ranks < 1 || redundantSlots < 0) {
      throw new IllegalArgumentException(
          "ranks must be >= 1 and redundant slots >= 0, got " + ranks + ", " + redundantSlots);
    }
    int experts = config.experts();
    long slots = ((long) experts + redundantSlots + ranks - 1) / ranks;
    if (slots > experts) {
      throw new IllegalArgumentException(
          experts
              + " experts and "
              + redundantSlots
              + " redundant slots need "
              + slots
              + " slots per rank on "
              + ranks
              + " ranks, more than the experts");
    }
    long stored = weights == TensorDtype.F8_E4M3 ? 2 : weights.bytes();
    long hidden = config.hidden();
    int layers = config.moeLayers().length;
    long expert = 3 * hidden * config.expertIntermediate() * stored;
    long router = experts * hidden * Float.BYTES;
    if (config.family() == ModelFamily.DEEPSEEK_V3) {
      router += (long) experts * Float.BYTES;
    }
    long shared = 3 * hidden * config.sharedIntermediate() * stored;
    if (config.family() == ModelFamily.QWEN2_MOE && config.hasSharedExpert()) {
      shared += hidden * Float.BYTES;
    }
    return new MemoryPlan(
        ranks, (int) slots, layers, slots * expert * layers, router * layers, shared * layers);
  }

  public long totalBytes() {
    return routedBytes + routerBytes + sharedBytes;
  }
}
