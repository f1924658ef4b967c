package io.moeflux.pipeline.model;

import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What a rank runs: the MoE layers of a model, each a router, routed experts and an optional shared
 * expert. Two kinds implement it:
 *
 * <ul>
 *   <li>the synthetic model ({@link SyntheticModel}): seeded weights, every layer in every step
 *       with the residual added ({@code h + moe(h)}), the last layer's routing returned;
 *   <li>a checkpoint's MoE blocks: ONE layer per step, no residual and no norm (attention, norms
 *       and residuals run between MoE layers with the caller). Step {@code s} runs MoE layer {@link
 *       #layerOfStep s mod L}, which is a model's forward order and needs no extra round trip; the
 *       layer is named in every frame of the step.
 * </ul>
 *
 * Layers are numbered two ways: {@code layer} is the position among the MoE layers ({@code 0 ..
 * layers()-1}), which placements and heat use; {@link #layerId} is the decoder-layer index the
 * model itself uses (tensor names, batches, frames). They are equal for the synthetic model.
 *
 * <p>Implementations are thread-safe; several ranks of one JVM may share one.
 */
public interface MoeModel {

  /** The MoE layer step {@code step} runs when one layer runs per step: {@code step mod layers}. */
  static int layerOfStep(long step, int layers) {
    return (int) Math.floorMod(step, (long) layers);
  }

  /** One line for logs and messages: kind, shape, source. */
  String describe();

  /** Hidden size H (row length of a token). */
  int hidden();

  /** Logical (routed) experts per layer. */
  int experts();

  /** Experts chosen per token. */
  int topK();

  /** MoE layers. */
  int layers();

  /** The decoder-layer index of MoE layer {@code layer}. */
  int layerId(int layer);

  /**
   * The MoE layer whose decoder-layer index is {@code layerId}, or -1 when there is none (out of
   * range, or a dense layer).
   */
  default int layerOf(int layerId) {
    for (int l = 0; l < layers(); l++) {
      if (layerId(l) == layerId) {
        return l;
      }
    }
    return -1;
  }

  /**
   * Whether a step runs every layer with the residual added (the synthetic model), rather than the
   * one layer {@link #layerOfStep} names, without residual.
   */
  boolean runsEveryLayerPerStep();

  /** What the experts compute. */
  ExpertKind expertKind();

  /** The router of {@code layer}. */
  TokenRouter router(int layer);

  /**
   * The function of {@code logicalExpert} in {@code layer}. A checkpoint model loads it from the
   * checkpoint on every call (a rank keeps only what its placement holds); the synthetic model
   * generates it once and shares it.
   */
  ExpertFfn expert(int layer, int logicalExpert);

  /** The shared expert of {@code layer}, or null when the model has none. */
  @Nullable SharedExpert sharedExpert(int layer);

  /** Bytes one routed expert of {@code layer} takes in memory, in its stored precision. */
  long expertBytes(int layer);

  /** Bytes of {@code layer}'s router in memory. */
  long routerBytes(int layer);

  /** Bytes of {@code layer}'s shared expert in memory (0 when there is none). */
  long sharedExpertBytes(int layer);

  /**
   * Whether a rank that gains an expert (EPLB migration) loads it from its own copy of the model,
   * which every rank can read, rather than receiving its weights from a peer over the mesh.
   */
  boolean loadsMovedExperts();

  /**
   * What two ranks must agree on about the model, as handshake entries (key → value): equal entries
   * mean equal weights, routes and results.
   */
  Map<String, String> fingerprint();
}
