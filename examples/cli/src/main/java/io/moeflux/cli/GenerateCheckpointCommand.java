package io.moeflux.cli;

import io.moeflux.cli.forward.HiddenStatesFile;
import io.moeflux.pipeline.checkpoint.Checkpoint;
import io.moeflux.pipeline.checkpoint.CheckpointGenerator;
import io.moeflux.pipeline.checkpoint.ModelFamily;
import io.moeflux.pipeline.checkpoint.TensorDtype;
import io.moeflux.pipeline.model.CounterBasedRandom;
import io.moeflux.pipeline.model.MemoryReport;
import io.moeflux.pipeline.reference.TieFreeCheckpoint;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Writes a random checkpoint in a family's layout, to try the commands that take --model. */
@Command(name = "generate-checkpoint", mixinStandardHelpOptions = true)
final class GenerateCheckpointCommand implements Callable<Integer> {
  private static final long INPUT_DOMAIN = 0x494e505554L;

  @Spec CommandSpec spec;

  @Option(names = "--family", required = true)
  String family = "";

  @Option(names = "--out", required = true, paramLabel = "DIR")
  @Nullable Path out;

  @Option(names = "--hidden")
  int hidden = 64;

  @Option(names = "--layers")
  int layers = 2;

  @Option(names = "--experts")
  int experts = 8;

  @Option(names = "--topk")
  int topK = 2;

  @Option(names = "--intermediate")
  int intermediate = 32;

  @Option(names = "--shared-intermediate")
  int sharedIntermediate = 48;

  @Option(names = "--dtype")
  TensorDtype dtype = TensorDtype.BF16;

  @Option(names = "--shards")
  int shards = 1;

  @Option(names = "--shared-experts")
  int sharedExperts = 1;

  @Option(names = "--groups", split = ",", paramLabel = "N,K")
  int[] groups = {4, 2};

  @Option(names = "--first-dense")
  int firstDense = 1;

  @Option(names = "--norm-topk-prob", arity = "1")
  @Nullable Boolean normTopkProb;

  @Option(names = "--seed")
  long seed = 1;

  @Option(names = "--input", paramLabel = "FILE")
  @Nullable Path input;

  @Option(names = "--tokens")
  int tokens = 16;

  @Option(names = "--input-dtype")
  TensorDtype inputDtype = TensorDtype.F32;

  @Override
  public Integer call() throws IOException {
    PrintWriter printer = spec.commandLine().getOut();
    Path target = Objects.requireNonNull(out, "--out");
    ModelFamily modelFamily = ModelFamily.of(family.toLowerCase(Locale.ROOT));
    if (groups.length != 2) {
      throw new IllegalArgumentException("--groups takes n_group,topk_group");
    }
    CheckpointGenerator.Builder generator =
        CheckpointGenerator.builder(modelFamily)
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
            .shards(shards)
            .seed(seed);
    Boolean norm = normTopkProb;
    if (norm != null) {
      generator.normTopkProb(norm);
    }
    JsonLine json = new JsonLine().put("dir", target.toString());
    long started = System.nanoTime();
    long written = seed;
    Path inputFile = input;
    if (inputFile == null) {
      generator.build().write(target);
    } else {
      if (tokens < 0) {
        throw new IllegalArgumentException("--tokens must be >= 0, got " + tokens);
      }
      HiddenStatesFile.writeInput(inputFile, tokens, hidden, randomHiddenStates(), inputDtype);
      // Routing sees what the file holds: the values rounded to --input-dtype.
      float[] stored = HiddenStatesFile.read(inputFile, hidden).values();
      written = TieFreeCheckpoint.write(generator, target, stored, tokens, seed);
      json.put("input", inputFile.toString())
          .put("tokens", tokens)
          .put("min_selection_gap", TieFreeCheckpoint.smallestGap(target, stored, tokens));
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    try (Checkpoint checkpoint = Checkpoint.open(target)) {
      long bytes = checkpoint.fileBytes();
      printer.printf(
          "wrote %s: %s, %s in %d file(s), seed %d, %.1f s%n",
          target, checkpoint.config(), MemoryReport.bytes(bytes), shards, written, seconds);
      printer.println(
          json.put("model_type", modelFamily.modelType())
              .put("moe_layers", checkpoint.moeLayers().length)
              .put("bytes", bytes)
              .put("digest", checkpoint.digest())
              .put("seed", written));
    }
    printer.flush();
    return 0;
  }

  /** Uniform in [-1, 1), a pure function of --seed. */
  private float[] randomHiddenStates() {
    long key = CounterBasedRandom.key(seed, INPUT_DOMAIN);
    float[] x = new float[Math.multiplyExact(tokens, hidden)];
    for (int i = 0; i < x.length; i++) {
      x[i] = CounterBasedRandom.symmetric(key, i, 1f);
    }
    return x;
  }
}
