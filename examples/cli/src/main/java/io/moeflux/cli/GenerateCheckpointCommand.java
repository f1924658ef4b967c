package io.moeflux.cli;

import io.moeflux.pipeline.checkpoint.Checkpoint;
import io.moeflux.pipeline.checkpoint.CheckpointGenerator;
import io.moeflux.pipeline.checkpoint.ModelFamily;
import io.moeflux.pipeline.checkpoint.TensorDtype;
import io.moeflux.pipeline.model.MemoryReport;
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

  @Option(names = "--seed")
  long seed = 1;

  @Override
  public Integer call() throws IOException {
    PrintWriter printer = spec.commandLine().getOut();
    Path target = Objects.requireNonNull(out, "--out");
    ModelFamily modelFamily = ModelFamily.of(family.toLowerCase(Locale.ROOT));
    long started = System.nanoTime();
    long bytes =
        CheckpointGenerator.builder(modelFamily)
            .hidden(hidden)
            .decoderLayers(layers)
            .experts(experts)
            .topK(topK)
            .intermediate(intermediate)
            .sharedIntermediate(sharedIntermediate)
            .dtype(dtype)
            .shards(shards)
            .seed(seed)
            .build()
            .write(target);
    double seconds = (System.nanoTime() - started) / 1e9;
    try (Checkpoint checkpoint = Checkpoint.open(target)) {
      printer.printf(
          "wrote %s: %s, %s in %d file(s), %.1f s%n",
          target, checkpoint.config(), MemoryReport.bytes(bytes), shards, seconds);
      printer.println(
          new JsonLine()
              .put("dir", target.toString())
              .put("model_type", modelFamily.modelType())
              .put("moe_layers", checkpoint.moeLayers().length)
              .put("bytes", bytes)
              .put("digest", checkpoint.digest()));
    }
    printer.flush();
    return 0;
  }
}
