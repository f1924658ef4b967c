package io.moeflux.pipeline.checkpoint;

import java.util.Arrays;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * The checkpoint families moeflux serves, chosen by {@code config.json}'s {@code model_type}, with
 * the tensor names of their MoE blocks (those of the transformers implementations and of the
 * published checkpoints). Layer numbers in names are decoder-layer indices.
 */
public enum ModelFamily {
  /**
   * {@code model.layers.{L}.block_sparse_moe}: gate, experts {@code w1} (gate), {@code w3} (up),
   * {@code w2} (down); softmax, top-k, renormalise; no shared expert.
   */
  MIXTRAL("mixtral"),
  /**
   * {@code model.layers.{L}.mlp}: gate, experts, and a shared expert scaled per token by {@code
   * sigmoid(shared_expert_gate . x)}; softmax, top-k, renormalise if {@code norm_topk_prob}.
   */
  QWEN2_MOE("qwen2_moe"),
  /** As {@link #QWEN2_MOE}, without the shared expert. */
  QWEN3_MOE("qwen3_moe"),
  /**
   * {@code model.layers.{L}.mlp}: gate with {@code e_score_correction_bias}, experts, {@code
   * shared_experts}; sigmoid scores, group-limited top-k, scaling.
   */
  DEEPSEEK_V3("deepseek_v3");

  private final String modelType;

  ModelFamily(String modelType) {
    this.modelType = modelType;
  }

  /** The {@code model_type} of {@code config.json}. */
  public String modelType() {
    return modelType;
  }

  /**
   * The family of {@code modelType}.
   *
   * @throws CheckpointException naming the type and the supported ones
   */
  public static ModelFamily of(String modelType) {
    for (ModelFamily family : values()) {
      if (family.modelType.equals(modelType)) {
        return family;
      }
    }
    throw new CheckpointException(
        "model_type '"
            + modelType
            + "' is not supported (supported: "
            + Arrays.stream(values()).map(ModelFamily::modelType).collect(Collectors.joining(", "))
            + ")");
  }

  private String block(int layer) {
    return "model.layers." + layer + (this == MIXTRAL ? ".block_sparse_moe" : ".mlp");
  }

  /** The router's weight, {@code [experts, hidden]}. */
  public String routerWeight(int layer) {
    return block(layer) + ".gate.weight";
  }

  /** One projection of routed expert {@code expert}. */
  public String expertWeight(int layer, int expert, Projection projection) {
    String prefix = block(layer) + ".experts." + expert + ".";
    if (this == MIXTRAL) {
      switch (projection) {
        case GATE:
          return prefix + "w1.weight";
        case UP:
          return prefix + "w3.weight";
        default:
          return prefix + "w2.weight";
      }
    }
    return prefix + projectionName(projection);
  }

  /** DeepSeek-V3's selection bias, {@code [experts]}; null for the other families. */
  public @Nullable String correctionBias(int layer) {
    return this == DEEPSEEK_V3 ? block(layer) + ".gate.e_score_correction_bias" : null;
  }

  /** One projection of the shared expert(s); null for families without one. */
  public @Nullable String sharedWeight(int layer, Projection projection) {
    switch (this) {
      case QWEN2_MOE:
        return block(layer) + ".shared_expert." + projectionName(projection);
      case DEEPSEEK_V3:
        return block(layer) + ".shared_experts." + projectionName(projection);
      default:
        return null;
    }
  }

  /** Qwen2-MoE's per-token shared-expert gate, {@code [1, hidden]}; null for the others. */
  public @Nullable String sharedGate(int layer) {
    return this == QWEN2_MOE ? block(layer) + ".shared_expert_gate.weight" : null;
  }

  private static String projectionName(Projection projection) {
    switch (projection) {
      case GATE:
        return "gate_proj.weight";
      case UP:
        return "up_proj.weight";
      default:
        return "down_proj.weight";
    }
  }
}
