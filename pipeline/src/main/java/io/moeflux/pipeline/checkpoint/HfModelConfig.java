package io.moeflux.pipeline.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.IntStream;
import org.jspecify.annotations.Nullable;

/**
 * What moeflux reads of a checkpoint's {@code config.json}: the family, the MoE block's shape and
 * router settings, and which decoder layers are MoE layers. Field names, and the defaults of the
 * routing fields a config.json may leave out, are those of the transformers configuration classes;
 * the shape fields (sizes, expert counts, top-k) are required.
 *
 * <p>Which decoder layers are MoE layers:
 *
 * <ul>
 *   <li>mixtral: every layer;
 *   <li>qwen2_moe, qwen3_moe: layer l unless it is in {@code mlp_only_layers}, and only when {@code
 *       (l + 1) % decoder_sparse_step == 0};
 *   <li>deepseek_v3: layer l when {@code l >= first_k_dense_replace} and {@code l % moe_layer_freq
 *       == 0}.
 * </ul>
 */
public final class HfModelConfig {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ModelFamily family;
  private final int hidden;
  private final int decoderLayers;
  private final int experts;
  private final int topK;
  private final int expertIntermediate;
  private final int sharedIntermediate;
  private final boolean normTopkProb;
  private final int groups;
  private final int topkGroups;
  private final double routedScalingFactor;
  private final int[] fp8Block;
  private final int[] moeLayers;

  private HfModelConfig(Fields f, ModelFamily family) {
    this.family = family;
    this.hidden = f.positive("hidden_size");
    this.decoderLayers = f.positive("num_hidden_layers");
    this.topK = f.positive("num_experts_per_tok");
    String act = f.text("hidden_act", "silu");
    if (!act.equals("silu")) {
      throw f.refuse("hidden_act is '" + act + "'; moeflux's experts are SwiGLU (silu)");
    }
    switch (family) {
      case MIXTRAL:
        this.experts = f.positive("num_local_experts");
        this.expertIntermediate = f.positive("intermediate_size");
        this.sharedIntermediate = 0;
        this.normTopkProb = true;
        this.groups = 1;
        this.topkGroups = 1;
        this.routedScalingFactor = 1.0;
        this.fp8Block = new int[0];
        this.moeLayers = IntStream.range(0, decoderLayers).toArray();
        break;
      case QWEN2_MOE:
      case QWEN3_MOE:
        this.experts = f.positive("num_experts");
        this.expertIntermediate = f.positive("moe_intermediate_size");
        this.sharedIntermediate =
            family == ModelFamily.QWEN2_MOE
                ? f.atLeastZero("shared_expert_intermediate_size", 5632)
                : 0;
        this.normTopkProb = f.bool("norm_topk_prob", false);
        this.groups = 1;
        this.topkGroups = 1;
        this.routedScalingFactor = 1.0;
        this.fp8Block = new int[0];
        this.moeLayers = qwenMoeLayers(f, decoderLayers);
        break;
      default:
        this.experts = f.positive("n_routed_experts");
        this.expertIntermediate = f.positive("moe_intermediate_size");
        this.sharedIntermediate =
            Math.multiplyExact(expertIntermediate, f.atLeastZero("n_shared_experts", 1));
        this.normTopkProb = f.bool("norm_topk_prob", true);
        this.groups = f.positive("n_group", 8);
        this.topkGroups = f.positive("topk_group", 4);
        this.routedScalingFactor = f.number("routed_scaling_factor", 2.5);
        String scoring = f.text("scoring_func", "sigmoid");
        if (!scoring.equals("sigmoid")) {
          throw f.refuse("scoring_func is '" + scoring + "'; deepseek_v3 routes on sigmoid scores");
        }
        String method = f.text("topk_method", "noaux_tc");
        if (!method.equals("noaux_tc")) {
          throw f.refuse("topk_method is '" + method + "'; deepseek_v3 selects with noaux_tc");
        }
        this.fp8Block = fp8Block(f);
        this.moeLayers = deepseekMoeLayers(f, decoderLayers);
        break;
    }
    check(f);
  }

  private void check(Fields f) {
    if (topK > experts) {
      throw f.refuse("num_experts_per_tok (" + topK + ") exceeds the " + experts + " experts");
    }
    if (groups > 1 || family == ModelFamily.DEEPSEEK_V3) {
      if (experts % groups != 0) {
        throw f.refuse("n_group (" + groups + ") does not divide the " + experts + " experts");
      }
      if (experts / groups < 2) {
        throw f.refuse(
            "n_group ("
                + groups
                + ") leaves fewer than 2 experts per group; a group scores its 2 best");
      }
      if (topkGroups > groups) {
        throw f.refuse("topk_group (" + topkGroups + ") exceeds n_group (" + groups + ")");
      }
      if ((long) topkGroups * (experts / groups) < topK) {
        throw f.refuse(
            "topk_group ("
                + topkGroups
                + ") groups of "
                + experts / groups
                + " experts hold fewer than num_experts_per_tok ("
                + topK
                + ")");
      }
    }
    if (!(routedScalingFactor > 0) || Double.isInfinite(routedScalingFactor)) {
      throw f.refuse("routed_scaling_factor must be finite and > 0, got " + routedScalingFactor);
    }
    if (moeLayers.length == 0) {
      throw f.refuse("no decoder layer is a MoE layer");
    }
  }

  private static int[] qwenMoeLayers(Fields f, int layers) {
    int step = f.positive("decoder_sparse_step", 1);
    Set<Integer> mlpOnly = new HashSet<>();
    for (int l : f.ints("mlp_only_layers")) {
      mlpOnly.add(l);
    }
    return IntStream.range(0, layers)
        .filter(l -> !mlpOnly.contains(l) && (l + 1) % step == 0)
        .toArray();
  }

  private static int[] deepseekMoeLayers(Fields f, int layers) {
    int firstDense = f.atLeastZero("first_k_dense_replace", 3);
    int frequency = f.positive("moe_layer_freq", 1);
    return IntStream.range(0, layers).filter(l -> l >= firstDense && l % frequency == 0).toArray();
  }

  private static int[] fp8Block(Fields f) {
    JsonNode quantization = f.root.get("quantization_config");
    if (quantization == null || quantization.isNull()) {
      return new int[] {128, 128};
    }
    JsonNode block = quantization.get("weight_block_size");
    if (block == null || block.isNull()) {
      return new int[] {128, 128};
    }
    if (!block.isArray()
        || block.size() != 2
        || !block.get(0).isIntegralNumber()
        || !block.get(1).isIntegralNumber()
        || block.get(0).asInt() < 1
        || block.get(1).asInt() < 1) {
      throw f.refuse("quantization_config.weight_block_size must be [rows, cols], got " + block);
    }
    return new int[] {block.get(0).asInt(), block.get(1).asInt()};
  }

  /**
   * Parses {@code config.json}'s bytes; {@code source} names the file in messages.
   *
   * @throws CheckpointException when it is not JSON, its {@code model_type} is not supported, or a
   *     field is missing or out of range (naming the field)
   */
  public static HfModelConfig parse(byte[] json, String source) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new CheckpointException(source + ": not JSON (" + e.getOriginalMessage() + ")", e);
    } catch (IOException e) {
      throw new CheckpointException(source + ": cannot parse (" + e.getMessage() + ")", e);
    }
    if (root == null || !root.isObject()) {
      throw new CheckpointException(source + ": not a JSON object");
    }
    Fields fields = new Fields(root, source);
    String modelType = fields.text("model_type", null);
    ModelFamily family;
    try {
      family = ModelFamily.of(modelType);
    } catch (CheckpointException e) {
      throw new CheckpointException(source + ": " + e.getMessage(), e);
    }
    return new HfModelConfig(fields, family);
  }

  public ModelFamily family() {
    return family;
  }

  /** {@code hidden_size}. */
  public int hidden() {
    return hidden;
  }

  /** {@code num_hidden_layers}: every decoder layer, dense or MoE. */
  public int decoderLayers() {
    return decoderLayers;
  }

  /** Routed experts per MoE layer. */
  public int experts() {
    return experts;
  }

  /** {@code num_experts_per_tok}. */
  public int topK() {
    return topK;
  }

  /** A routed expert's intermediate size. */
  public int expertIntermediate() {
    return expertIntermediate;
  }

  /**
   * The shared expert's intermediate size (qwen2_moe: {@code shared_expert_intermediate_size};
   * deepseek_v3: {@code moe_intermediate_size × n_shared_experts}); 0 when there is none.
   */
  public int sharedIntermediate() {
    return sharedIntermediate;
  }

  /** Whether a MoE layer has a shared expert. */
  public boolean hasSharedExpert() {
    return sharedIntermediate > 0;
  }

  /** Whether the k chosen weights are renormalised to sum 1. */
  public boolean normTopkProb() {
    return normTopkProb;
  }

  /** deepseek_v3's {@code n_group}; 1 for the others. */
  public int groups() {
    return groups;
  }

  /** deepseek_v3's {@code topk_group}; 1 for the others. */
  public int topkGroups() {
    return topkGroups;
  }

  /** deepseek_v3's {@code routed_scaling_factor}; 1 for the others. */
  public double routedScalingFactor() {
    return routedScalingFactor;
  }

  /**
   * deepseek_v3's FP8 block, {@code [rows, cols]} of weight per {@code weight_scale_inv} entry
   * (default 128 × 128); empty for the others.
   */
  public int[] fp8Block() {
    return fp8Block.clone();
  }

  /** The decoder-layer indices of the MoE layers, ascending. */
  public int[] moeLayers() {
    return moeLayers.clone();
  }

  /**
   * The position of decoder layer {@code layer} among the MoE layers.
   *
   * @throws CheckpointException when the layer is out of range or dense, naming it
   */
  public int moeIndex(int layer) {
    if (layer < 0 || layer >= decoderLayers) {
      throw new CheckpointException(
          "layer "
              + layer
              + " is out of range: the model has decoder layers 0.."
              + (decoderLayers - 1));
    }
    int at = Arrays.binarySearch(moeLayers, layer);
    if (at < 0) {
      throw new CheckpointException(
          "layer "
              + layer
              + " is a dense layer of this "
              + family.modelType()
              + " model, not a MoE layer (MoE layers: "
              + describeLayers()
              + ")");
    }
    return at;
  }

  /** {@code 1..27} or {@code 0, 2, 4}: the MoE layers for messages. */
  public String describeLayers() {
    int n = moeLayers.length;
    boolean contiguous = moeLayers[n - 1] - moeLayers[0] == n - 1;
    if (contiguous && n > 2) {
      return moeLayers[0] + ".." + moeLayers[n - 1];
    }
    if (n <= 12) {
      return Arrays.toString(moeLayers).replaceAll("[\\[\\]]", "");
    }
    return moeLayers[0] + ", " + moeLayers[1] + ", ... " + moeLayers[n - 1] + " (" + n + " layers)";
  }

  @Override
  public String toString() {
    return family.modelType()
        + "{hidden="
        + hidden
        + ", moeLayers="
        + moeLayers.length
        + "/"
        + decoderLayers
        + ", experts="
        + experts
        + ", topK="
        + topK
        + ", intermediate="
        + expertIntermediate
        + (sharedIntermediate > 0 ? ", shared=" + sharedIntermediate : "")
        + "}";
  }

  /** config.json's fields, read with a message naming the field on any problem. */
  private static final class Fields {
    final JsonNode root;
    final String source;

    Fields(JsonNode root, String source) {
      this.root = root;
      this.source = source;
    }

    CheckpointException refuse(String what) {
      return new CheckpointException(source + ": " + what);
    }

    private JsonNode present(String name) {
      JsonNode node = root.get(name);
      if (node == null || node.isNull()) {
        throw refuse("missing field " + name);
      }
      return node;
    }

    int positive(String name) {
      return integer(name, present(name), 1);
    }

    int positive(String name, int fallback) {
      JsonNode node = root.get(name);
      return node == null || node.isNull() ? fallback : integer(name, node, 1);
    }

    int atLeastZero(String name, int fallback) {
      JsonNode node = root.get(name);
      return node == null || node.isNull() ? fallback : integer(name, node, 0);
    }

    private int integer(String name, JsonNode node, int min) {
      if (!node.isIntegralNumber() || !node.canConvertToInt() || node.asInt() < min) {
        throw refuse(name + " must be an integer >= " + min + ", got " + node);
      }
      return node.asInt();
    }

    double number(String name, double fallback) {
      JsonNode node = root.get(name);
      if (node == null || node.isNull()) {
        return fallback;
      }
      if (!node.isNumber()) {
        throw refuse(name + " must be a number, got " + node);
      }
      return node.asDouble();
    }

    boolean bool(String name, boolean fallback) {
      JsonNode node = root.get(name);
      if (node == null || node.isNull()) {
        return fallback;
      }
      if (!node.isBoolean()) {
        throw refuse(name + " must be true or false, got " + node);
      }
      return node.asBoolean();
    }

    String text(String name, @Nullable String fallback) {
      JsonNode node = root.get(name);
      if (node == null || node.isNull()) {
        if (fallback == null) {
          throw refuse("missing field " + name);
        }
        return fallback;
      }
      if (!node.isTextual()) {
        throw refuse(name + " must be a string, got " + node);
      }
      return node.asText();
    }

    int[] ints(String name) {
      JsonNode node = root.get(name);
      if (node == null || node.isNull()) {
        return new int[0];
      }
      if (!node.isArray()) {
        throw refuse(name + " must be a list of integers, got " + node);
      }
      int[] values = new int[node.size()];
      for (int i = 0; i < values.length; i++) {
        values[i] = integer(name, node.get(i), 0);
      }
      return values;
    }
  }
}
