package io.moeflux.pipeline.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moeflux.pipeline.model.CounterBasedRandom;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Writes a random checkpoint in one family's published layout: {@code config.json} with the
 * family's fields, and the MoE blocks' tensors (routers, routed experts, shared experts, DeepSeek's
 * correction bias, the dense layers' MLPs) in one {@code model.safetensors} or in shards with
 * {@code model.safetensors.index.json}. Attention, norms and embeddings are left out: moeflux never
 * reads them. Every value is a pure function of (seed, tensor name, index), so the same settings
 * write the same bytes.
 *
 * <p>Weights are uniform in {@code ±1/sqrt(fan_in)}; router weights in {@code ±2/sqrt(hidden)} so
 * that routing is decisive. With {@link TensorDtype#F8_E4M3} (deepseek_v3 only) expert and
 * shared-expert weights are quantized per {@code 128 × 128} block with a random {@code
 * weight_scale_inv}; routers stay BF16 and the correction bias F32, as in DeepSeek-V3's release.
 */
public final class CheckpointGenerator {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long VALUES_DOMAIN = 0x434b50545f47454eL;
  private static final int FP8_BLOCK = 128;

  private final Builder b;

  private CheckpointGenerator(Builder b) {
    this.b = b;
  }

  /** A builder for {@code family} with the defaults listed on {@link Builder}. */
  public static Builder builder(ModelFamily family) {
    return new Builder(family);
  }

  /**
   * Writes the checkpoint into {@code directory} (created if needed; files of the same names are
   * replaced). Returns the bytes of tensor files written.
   */
  public long write(Path directory) throws IOException {
    Files.createDirectories(directory);
    Files.write(directory.resolve(Checkpoint.CONFIG), configJson());
    List<Tensor> tensors = tensors();
    long written = 0;
    if (b.shards == 1) {
      SafetensorsWriter writer = SafetensorsWriter.create().metadata("format", "pt");
      tensors.forEach(t -> t.addTo(writer));
      return writer.write(directory.resolve(Checkpoint.SINGLE_FILE));
    }
    Map<String, String> weightMap = new LinkedHashMap<>();
    for (int shard = 0; shard < b.shards; shard++) {
      String name = String.format("model-%05d-of-%05d.safetensors", shard + 1, b.shards);
      SafetensorsWriter writer = SafetensorsWriter.create().metadata("format", "pt");
      int from = (int) ((long) tensors.size() * shard / b.shards);
      int to = (int) ((long) tensors.size() * (shard + 1) / b.shards);
      for (Tensor t : tensors.subList(from, to)) {
        t.addTo(writer);
        weightMap.put(t.name, name);
        if (t.dtype == TensorDtype.F8_E4M3) {
          weightMap.put(t.name + "_scale_inv", name);
        }
      }
      written += writer.write(directory.resolve(name));
    }
    ObjectNode index = JSON.createObjectNode();
    index.putObject("metadata").put("total_size", written);
    ObjectNode map = index.putObject("weight_map");
    weightMap.forEach(map::put);
    Files.write(
        directory.resolve(Checkpoint.INDEX),
        JSON.writerWithDefaultPrettyPrinter()
            .writeValueAsString(index)
            .getBytes(StandardCharsets.UTF_8));
    return written;
  }

  /** {@code config.json} as the family's transformers configuration would save it. */
  byte[] configJson() throws IOException {
    ObjectNode c = JSON.createObjectNode();
    ModelFamily f = b.family;
    c.putArray("architectures").add(architecture(f));
    c.put("model_type", f.modelType());
    c.put("hidden_size", b.hidden);
    c.put("num_hidden_layers", b.decoderLayers);
    c.put("num_experts_per_tok", b.topK);
    c.put("hidden_act", "silu");
    c.put("torch_dtype", b.dtype == TensorDtype.F32 ? "float32" : "bfloat16");
    switch (f) {
      case MIXTRAL:
        c.put("num_local_experts", b.experts);
        c.put("intermediate_size", b.intermediate);
        break;
      case QWEN2_MOE:
      case QWEN3_MOE:
        c.put("num_experts", b.experts);
        c.put("moe_intermediate_size", b.intermediate);
        c.put("intermediate_size", b.denseIntermediate);
        if (f == ModelFamily.QWEN2_MOE) {
          c.put("shared_expert_intermediate_size", b.sharedIntermediate);
        }
        c.put("norm_topk_prob", b.normTopkProb);
        c.put("decoder_sparse_step", b.decoderSparseStep);
        c.putArray("mlp_only_layers");
        for (int layer : b.mlpOnlyLayers) {
          c.withArray("mlp_only_layers").add(layer);
        }
        break;
      default:
        c.put("n_routed_experts", b.experts);
        c.put("moe_intermediate_size", b.intermediate);
        c.put("intermediate_size", b.denseIntermediate);
        c.put("n_shared_experts", b.sharedExperts);
        c.put("n_group", b.groups);
        c.put("topk_group", b.topkGroups);
        c.put("norm_topk_prob", b.normTopkProb);
        c.put("routed_scaling_factor", b.routedScalingFactor);
        c.put("first_k_dense_replace", b.firstDenseLayers);
        c.put("moe_layer_freq", 1);
        c.put("scoring_func", "sigmoid");
        c.put("topk_method", "noaux_tc");
        if (b.dtype == TensorDtype.F8_E4M3) {
          ObjectNode q = c.putObject("quantization_config");
          q.put("quant_method", "fp8");
          q.put("fmt", "e4m3");
          q.put("activation_scheme", "dynamic");
          q.putArray("weight_block_size").add(FP8_BLOCK).add(FP8_BLOCK);
        }
        break;
    }
    return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(c);
  }

  private static String architecture(ModelFamily f) {
    switch (f) {
      case MIXTRAL:
        return "MixtralForCausalLM";
      case QWEN2_MOE:
        return "Qwen2MoeForCausalLM";
      case QWEN3_MOE:
        return "Qwen3MoeForCausalLM";
      default:
        return "DeepseekV3ForCausalLM";
    }
  }

  /** One tensor to write: its name, dtype, shape and value amplitude. */
  private final class Tensor {
    final String name;
    final TensorDtype dtype;
    final long rows;
    final long cols;
    final float amplitude;
    final boolean vector;

    Tensor(String name, TensorDtype dtype, long rows, long cols, float amplitude, boolean vector) {
      this.name = name;
      this.dtype = dtype;
      this.rows = rows;
      this.cols = cols;
      this.amplitude = amplitude;
      this.vector = vector;
    }

    long key() {
      long key = CounterBasedRandom.key(b.seed, VALUES_DOMAIN);
      for (byte c : name.getBytes(StandardCharsets.UTF_8)) {
        key = CounterBasedRandom.key(key, c);
      }
      return key;
    }

    void addTo(SafetensorsWriter writer) {
      long key = key();
      long[] shape = vector ? new long[] {cols} : new long[] {rows, cols};
      if (dtype != TensorDtype.F8_E4M3) {
        writer.add(name, dtype, shape, i -> CounterBasedRandom.symmetric(key, i, amplitude));
        return;
      }
      long blockCols = (cols + FP8_BLOCK - 1) / FP8_BLOCK;
      long blockRows = (rows + FP8_BLOCK - 1) / FP8_BLOCK;
      long scaleKey = CounterBasedRandom.key(key, 1);
      SafetensorsWriter.Values scales =
          block -> amplitude / 448f * (1f + CounterBasedRandom.unit(scaleKey, block));
      writer.add(
          name,
          TensorDtype.F8_E4M3,
          shape,
          i -> {
            long block = (i / cols) / FP8_BLOCK * blockCols + (i % cols) / FP8_BLOCK;
            return CounterBasedRandom.symmetric(key, i, amplitude) / scales.at(block);
          });
      writer.add(name + "_scale_inv", TensorDtype.F32, new long[] {blockRows, blockCols}, scales);
    }
  }

  private List<Tensor> tensors() {
    ModelFamily f = b.family;
    HfModelConfig config;
    try {
      config = HfModelConfig.parse(configJson(), "generated config.json");
    } catch (IOException e) {
      throw new IllegalStateException("writing JSON to memory failed", e);
    }
    TensorDtype weights = b.dtype;
    TensorDtype plain = weights == TensorDtype.F8_E4M3 ? TensorDtype.BF16 : weights;
    int h = b.hidden;
    float inHidden = (float) (1 / Math.sqrt(h));
    List<Tensor> tensors = new ArrayList<>();
    int[] moeLayers = config.moeLayers();
    for (int layer = 0; layer < b.decoderLayers; layer++) {
      if (Arrays.binarySearch(moeLayers, layer) < 0) {
        String prefix = "model.layers." + layer + ".mlp.";
        int d = b.denseIntermediate;
        tensors.add(new Tensor(prefix + "gate_proj.weight", plain, d, h, inHidden, false));
        tensors.add(new Tensor(prefix + "up_proj.weight", plain, d, h, inHidden, false));
        float inDense = (float) (1 / Math.sqrt(d));
        tensors.add(new Tensor(prefix + "down_proj.weight", plain, h, d, inDense, false));
        continue;
      }
      tensors.add(new Tensor(f.routerWeight(layer), plain, b.experts, h, 2 * inHidden, false));
      String bias = f.correctionBias(layer);
      if (bias != null) {
        tensors.add(new Tensor(bias, TensorDtype.F32, 1, b.experts, 0.1f, true));
      }
      for (int e = 0; e < b.experts; e++) {
        addExpert(tensors, weights, layer, e, config.expertIntermediate());
      }
      if (config.hasSharedExpert()) {
        addShared(tensors, weights, layer, config.sharedIntermediate());
        String gate = f.sharedGate(layer);
        if (gate != null) {
          tensors.add(new Tensor(gate, plain, 1, h, inHidden, false));
        }
      }
    }
    return tensors;
  }

  private void addExpert(List<Tensor> tensors, TensorDtype dtype, int layer, int e, int i) {
    int h = b.hidden;
    ModelFamily f = b.family;
    tensors.add(expertTensor(f.expertWeight(layer, e, Projection.GATE), dtype, i, h));
    tensors.add(expertTensor(f.expertWeight(layer, e, Projection.UP), dtype, i, h));
    tensors.add(expertTensor(f.expertWeight(layer, e, Projection.DOWN), dtype, h, i));
  }

  private void addShared(List<Tensor> tensors, TensorDtype dtype, int layer, int i) {
    int h = b.hidden;
    ModelFamily f = b.family;
    for (Projection p : Projection.values()) {
      String name = Objects.requireNonNull(f.sharedWeight(layer, p));
      tensors.add(
          p == Projection.DOWN ? expertTensor(name, dtype, h, i) : expertTensor(name, dtype, i, h));
    }
  }

  private Tensor expertTensor(String name, TensorDtype dtype, int rows, int cols) {
    return new Tensor(name, dtype, rows, cols, (float) (1 / Math.sqrt(cols)), false);
  }

  /**
   * Collects a generator's settings; {@link #build()} checks them against the family. Defaults:
   * hidden 64, 2 decoder layers, 8 experts, top-2, expert intermediate 32, BF16, one file, seed 1;
   * qwen2_moe shared expert intermediate 48; deepseek_v3: 1 shared expert, 4 groups keeping 2,
   * scaling 2.5, {@code norm_topk_prob} true, first layer dense; dense layers' MLP intermediate 48;
   * qwen: {@code norm_topk_prob} false, {@code decoder_sparse_step} 1, no {@code mlp_only_layers}.
   */
  public static final class Builder {
    private final ModelFamily family;
    private int hidden = 64;
    private int decoderLayers = 2;
    private int experts = 8;
    private int topK = 2;
    private int intermediate = 32;
    private int sharedIntermediate = 48;
    private int sharedExperts = 1;
    private int denseIntermediate = 48;
    private int groups = 4;
    private int topkGroups = 2;
    private boolean normTopkProb;
    private double routedScalingFactor = 2.5;
    private int firstDenseLayers = 1;
    private int decoderSparseStep = 1;
    private int[] mlpOnlyLayers = new int[0];
    private TensorDtype dtype = TensorDtype.BF16;
    private int shards = 1;
    private long seed = 1;

    private Builder(ModelFamily family) {
      this.family = Objects.requireNonNull(family, "family");
      this.normTopkProb = family == ModelFamily.DEEPSEEK_V3 || family == ModelFamily.MIXTRAL;
    }

    public Builder hidden(int hidden) {
      this.hidden = hidden;
      return this;
    }

    /** Decoder layers, dense and MoE; default 2. */
    public Builder decoderLayers(int decoderLayers) {
      this.decoderLayers = decoderLayers;
      return this;
    }

    public Builder experts(int experts) {
      this.experts = experts;
      return this;
    }

    public Builder topK(int topK) {
      this.topK = topK;
      return this;
    }

    /** A routed expert's intermediate size; default 32. */
    public Builder intermediate(int intermediate) {
      this.intermediate = intermediate;
      return this;
    }

    /** qwen2_moe's shared expert intermediate size (0: none); default 48. */
    public Builder sharedIntermediate(int sharedIntermediate) {
      this.sharedIntermediate = sharedIntermediate;
      return this;
    }

    /** deepseek_v3's {@code n_shared_experts}; default 1. */
    public Builder sharedExperts(int sharedExperts) {
      this.sharedExperts = sharedExperts;
      return this;
    }

    /** deepseek_v3's {@code n_group} and {@code topk_group}; default 4 and 2. */
    public Builder groups(int groups, int topkGroups) {
      this.groups = groups;
      this.topkGroups = topkGroups;
      return this;
    }

    public Builder normTopkProb(boolean normTopkProb) {
      this.normTopkProb = normTopkProb;
      return this;
    }

    /** deepseek_v3's {@code routed_scaling_factor}; default 2.5. */
    public Builder routedScalingFactor(double routedScalingFactor) {
      this.routedScalingFactor = routedScalingFactor;
      return this;
    }

    /** deepseek_v3's {@code first_k_dense_replace}; default 1. */
    public Builder firstDenseLayers(int firstDenseLayers) {
      this.firstDenseLayers = firstDenseLayers;
      return this;
    }

    /** qwen's {@code decoder_sparse_step}; default 1. */
    public Builder decoderSparseStep(int decoderSparseStep) {
      this.decoderSparseStep = decoderSparseStep;
      return this;
    }

    /** qwen's {@code mlp_only_layers}; default none. */
    public Builder mlpOnlyLayers(int... mlpOnlyLayers) {
      this.mlpOnlyLayers = mlpOnlyLayers.clone();
      return this;
    }

    /** The weights' dtype: F32, BF16, F16, or F8_E4M3 for deepseek_v3; default BF16. */
    public Builder dtype(TensorDtype dtype) {
      this.dtype = Objects.requireNonNull(dtype, "dtype");
      return this;
    }

    /** Files: 1 writes {@code model.safetensors}, more write shards and an index; default 1. */
    public Builder shards(int shards) {
      this.shards = shards;
      return this;
    }

    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /**
     * @throws IllegalArgumentException naming the setting that is out of range, or a configuration
     *     the family's own rules refuse
     */
    public CheckpointGenerator build() {
      if (!(dtype == TensorDtype.F32 || dtype.isHalf() || dtype == TensorDtype.F8_E4M3)) {
        throw new IllegalArgumentException("dtype must be F32, BF16, F16 or F8_E4M3, got " + dtype);
      }
      if (dtype == TensorDtype.F8_E4M3 && family != ModelFamily.DEEPSEEK_V3) {
        throw new IllegalArgumentException("F8_E4M3 weights are for deepseek_v3 only");
      }
      if (shards < 1) {
        throw new IllegalArgumentException("shards must be >= 1, got " + shards);
      }
      if (denseIntermediate < 1) {
        throw new IllegalArgumentException("dense intermediate must be >= 1");
      }
      CheckpointGenerator generator = new CheckpointGenerator(this);
      try {
        HfModelConfig.parse(generator.configJson(), "generated config.json");
      } catch (CheckpointException e) {
        throw new IllegalArgumentException(e.getMessage(), e);
      } catch (IOException e) {
        throw new IllegalStateException("writing JSON to memory failed", e);
      }
      return generator;
    }
  }
}
