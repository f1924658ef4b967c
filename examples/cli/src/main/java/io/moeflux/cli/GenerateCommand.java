package io.moeflux.cli;

import io.moeflux.cli.forward.HiddenStatesFile;
import io.moeflux.pipeline.checkpoint.Checkpoint;
import io.moeflux.pipeline.checkpoint.CheckpointGenerator;
import io.moeflux.pipeline.checkpoint.ModelFamily;
import io.moeflux.pipeline.checkpoint.TensorDtype;
import io.moeflux.pipeline.model.CounterBasedRandom;
import io.moeflux.pipeline.reference.ReferenceTolerance;
import io.moeflux.pipeline.reference.TieFreeCheckpoint;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Writes a random checkpoint in a family's layout, and optionally random hidden states on which it
 * routes without near-ties (for {@code moeflux forward}).
 */
@Command(
    name = "generate",
    mixinStandardHelpOptions = true,
    description = {
      "Write a random checkpoint in a family's Hugging Face layout (config.json and safetensors,",
      "one file or shards). With --input, also write random hidden_states and re-seed the",
      "checkpoint until no token's top-k is decided by less than 1e-3 (so `forward` can demand",
      "equal ids). Prints a JSON summary last."
    })
final class GenerateCommand implements Callable<Integer> {
  private static final long INPUT_DOMAIN = 0x494e505554L;

  @Spec CommandSpec spec;

  @Option(
      names = "--model-type",
      required = true,
      description = "mixtral, qwen2_moe, qwen3_moe or deepseek_v3.")
  String modelType;

  @Option(names = "--dir", required = true, description = "Model directory to write.")
  Path dir;

  @Option(names = "--hidden", description = "Hidden size (default: ${DEFAULT-VALUE}).")
  int hidden = 64;

  @Option(names = "--layers", description = "Decoder layers (default: ${DEFAULT-VALUE}).")
  int layers = 2;

  @Option(names = "--experts", description = "Routed experts (default: ${DEFAULT-VALUE}).")
  int experts = 8;

  @Option(names = "--topk", description = "Experts per token (default: ${DEFAULT-VALUE}).")
  int topK = 2;

  @Option(
      names = "--intermediate",
      description = "Routed expert intermediate size (default: ${DEFAULT-VALUE}).")
  int intermediate = 32;

  @Option(
      names = "--shared-intermediate",
      description = "qwen2_moe shared expert intermediate size (default: ${DEFAULT-VALUE}).")
  int sharedIntermediate = 48;

  @Option(
      names = "--shared-experts",
      description = "deepseek_v3 n_shared_experts (default: ${DEFAULT-VALUE}).")
  int sharedExperts = 1;

  @Option(
      names = "--groups",
      split = ",",
      description = "deepseek_v3 n_group,topk_group (default: 4,2).")
  int[] groups = {4, 2};

  @Option(
      names = "--first-dense",
      description = "deepseek_v3 first_k_dense_replace (default: ${DEFAULT-VALUE}).")
  int firstDense = 1;

  @Option(
      names = "--norm-topk-prob",
      arity = "1",
      description = "norm_topk_prob (default: the family's: qwen false, deepseek true).")
  @Nullable Boolean normTopkProb;

  @Option(
      names = "--dtype",
      description =
          "Weights: F32, BF16, F16, or F8_E4M3 for deepseek_v3 (default: ${DEFAULT-VALUE}).")
  TensorDtype dtype = TensorDtype.BF16;

  @Option(names = "--shards", description = "Safetensors files (default: ${DEFAULT-VALUE}).")
  int shards = 1;

  @Option(names = "--seed", description = "First seed for the weights (default: ${DEFAULT-VALUE}).")
  long seed = 1;

  @Option(names = "--input", description = "Also write random hidden_states to this file.")
  @Nullable Path input;

  @Option(names = "--tokens", description = "Tokens in --input (default: ${DEFAULT-VALUE}).")
  int tokens = 16;

  @Option(
      names = "--input-dtype",
      description = "dtype of --input: F32, BF16 or F16 (default: ${DEFAULT-VALUE}).")
  TensorDtype inputDtype = TensorDtype.F32;

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    CheckpointGenerator.Builder generator = generator();
    JsonLine json = new JsonLine().put("model_type", modelType).put("dir", dir.toString());
    long seedUsed = seed;
    Path inputFile = input;
    if (inputFile != null) {
      if (tokens < 0) {
        throw new IllegalArgumentException("--tokens must be >= 0, got " + tokens);
      }
      float[] x = randomHiddenStates();
      HiddenStatesFile.writeInput(inputFile, tokens, hidden, x, inputDtype);
      // Routing reads what the file holds: rounded to the input dtype.
      float[] stored = HiddenStatesFile.read(inputFile, hidden).values();
      seedUsed = TieFreeCheckpoint.write(generator, dir, stored, tokens, seed);
      json.put("input", inputFile.toString())
          .put("tokens", tokens)
          .put("min_selection_gap", TieFreeCheckpoint.smallestGap(dir, stored, tokens))
          .put("required_gap", ReferenceTolerance.MIN_SELECTION_GAP);
    } else {
      generator.seed(seed).build().write(dir);
    }
    try (Checkpoint written = Checkpoint.open(dir)) {
      out.printf(
          "wrote %s (%d bytes of tensors, seed %d), MoE layers %s%n",
          written, written.fileBytes(), seedUsed, written.config().describeLayers());
      json.put("seed", seedUsed)
          .put("file_bytes", written.fileBytes())
          .put("moe_layers", Arrays.toString(written.moeLayers()));
    }
    out.println(json);
    out.flush();
    return 0;
  }

  private CheckpointGenerator.Builder generator() {
    ModelFamily family;
    try {
      family = ModelFamily.of(modelType);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
    if (groups.length != 2) {
      throw new IllegalArgumentException("--groups takes n_group,topk_group");
    }
    CheckpointGenerator.Builder builder =
        CheckpointGenerator.builder(family)
            .hidden(hidden)
            .decoderLayers(layers)
            .experts(experts)
            .topK(topK)
            .intermediate(intermediate)
            .sharedIntermediate(sharedIntermediate)
            .sharedExperts(sharedExperts)
            .groups(groups[0], groups[1])
            .firstDenseLayers(firstDense)
            .dtype(dtype)
            .shards(shards);
    Boolean norm = normTopkProb;
    if (norm != null) {
      builder.normTopkProb(norm);
    }
    builder.build();
    return builder;
  }

  private float[] randomHiddenStates() {
    long key = CounterBasedRandom.key(seed, INPUT_DOMAIN);
    float[] x = new float[Math.multiplyExact(tokens, hidden)];
    for (int i = 0; i < x.length; i++) {
      x[i] = CounterBasedRandom.symmetric(key, i, 1f);
    }
    return x;
  }
}
