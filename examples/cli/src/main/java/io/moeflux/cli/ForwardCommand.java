package io.moeflux.cli;

import io.moeflux.cli.forward.HiddenStatesFile;
import io.moeflux.cli.forward.OneLayerModel;
import io.moeflux.cli.forward.TokenSplit;
import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.checkpoint.CheckpointException;
import io.moeflux.pipeline.family.CheckpointModel;
import io.moeflux.pipeline.model.MoeModel;
import io.moeflux.pipeline.reference.Float64MoeBlock;
import io.moeflux.pipeline.reference.Float64Output;
import io.moeflux.pipeline.reference.ReferenceComparison;
import io.moeflux.pipeline.reference.ReferenceTolerance;
import io.moeflux.transport.TransportKind;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import reactor.core.publisher.Flux;

/**
 * One MoE block of a checkpoint on a batch of hidden states, through the distributed pipeline,
 * checked against the float64 reference. Tools outside the project call it; its files, options and
 * last line are a contract (README, "moeflux forward").
 */
@Command(name = "forward", mixinStandardHelpOptions = true)
final class ForwardCommand implements Callable<Integer> {
  private static final Duration START_TIMEOUT = Duration.ofMinutes(30);
  private static final Duration RUN_TIMEOUT = Duration.ofHours(2);

  @Spec CommandSpec spec;

  @Option(names = "--model", required = true)
  Path model;

  @Option(names = "--layer", required = true)
  int layer;

  @Option(names = "--input", required = true)
  Path input;

  @Option(names = "--output", required = true)
  Path output;

  @Option(names = "--ranks")
  int ranks = 1;

  @Option(names = "--transport")
  TransportKind transport = TransportKind.TCP;

  @Mixin WireFlags wire = new WireFlags();

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    if (ranks < 1 || ranks > 64) {
      throw new IllegalArgumentException("--ranks must be in 1..64, got " + ranks);
    }
    Path outputDir = output.toAbsolutePath().getParent();
    if (outputDir == null || !Files.isDirectory(outputDir) || Files.isDirectory(output)) {
      throw new IllegalArgumentException(output + ": cannot write a file there");
    }
    try (CheckpointModel checkpoint = open()) {
      int moeIndex = moeIndex(checkpoint);
      HiddenStatesFile in = HiddenStatesFile.read(input, checkpoint.hidden());
      TokenSplit split = TokenSplit.of(in.tokens(), ranks);
      int k = checkpoint.topK();
      Distributed result = run(OneLayerModel.of(checkpoint, moeIndex), in, split);
      Float64Output reference =
          Float64MoeBlock.load(checkpoint.checkpoint(), layer).forward(in.values(), in.tokens());
      ReferenceComparison check =
          ReferenceComparison.of(reference, result.hiddenStates, result.ids, result.weights);
      HiddenStatesFile.writeOutput(
          output, in.tokens(), in.hidden(), result.hiddenStates, k, result.ids, result.weights);
      out.printf(
          "layer %d of %s: %d tokens on %d ranks %s over %s in %.3f s; float64 check: %s%n",
          layer,
          checkpoint.describe(),
          in.tokens(),
          ranks,
          split,
          transport,
          result.seconds,
          check.describe());
      ReferenceTolerance tolerance = ReferenceTolerance.forWire(wire.format());
      if (!check.within(tolerance)) {
        spec.commandLine()
            .getErr()
            .printf(
                "moeflux forward: outside the %s-wire tolerance of the float64 reference (ids"
                    + " equal, weights %.0e, outputs %.0e of RMS): %s; inputs whose top-k is"
                    + " decided by less than 1e-3 may legitimately differ%n",
                wire.format().label(),
                tolerance.weightRelative(),
                tolerance.outputRelativeToRms(),
                check.describe());
      }
      out.println(
          new JsonLine()
              .put("model_type", checkpoint.family().modelType())
              .put("layer", layer)
              .put("tokens", in.tokens())
              .put("ranks", ranks)
              .put("wire", wire.format().label())
              .put("seconds", result.seconds)
              .put("max_rel_err_vs_float64", check.maxOutputRelativeToRms()));
      out.flush();
      return 0;
    } catch (CheckpointException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  private CheckpointModel open() {
    if (!Files.isDirectory(model)) {
      throw new IllegalArgumentException(model + ": not a model directory");
    }
    return CheckpointModel.open(model);
  }

  /** The position of --layer among the MoE layers; refuses a dense or missing layer naming it. */
  private int moeIndex(CheckpointModel checkpoint) {
    return checkpoint.checkpoint().moeIndex(layer);
  }

  /** The distributed block's outputs, gathered in token order. */
  private record Distributed(float[] hiddenStates, int[] ids, float[] weights, double seconds) {}

  private Distributed run(MoeModel oneLayer, HiddenStatesFile in, TokenSplit split) {
    int hidden = in.hidden();
    int k = oneLayer.topK();
    PipelineConfig config =
        PipelineConfig.builder(oneLayer, Math.max(1, split.largest())).wire(wire.format()).build();
    MoeGroup group = MoeGroup.start(ranks, transport, config).block(START_TIMEOUT);
    if (group == null) {
      throw new IllegalStateException("the rank group did not start");
    }
    try {
      List<Flux<TokenBatch>> inputs = new ArrayList<>();
      for (int r = 0; r < ranks; r++) {
        int n = split.tokens(r);
        TokenBatch batch =
            n == 0
                ? TokenBatch.empty(0, hidden)
                : TokenBatch.of(0, n, hidden, in.rows(split.start(r), n));
        inputs.add(Flux.just(batch.atLayer(layer)));
      }
      long started = System.nanoTime();
      List<TokenBatch> outputs = group.forward(inputs).blockLast(RUN_TIMEOUT);
      double seconds = (System.nanoTime() - started) / 1e9;
      if (outputs == null) {
        throw new IllegalStateException("the rank group returned no outputs");
      }
      float[] hiddenStates = new float[in.tokens() * hidden];
      int[] ids = new int[in.tokens() * k];
      float[] weights = new float[in.tokens() * k];
      for (int r = 0; r < ranks; r++) {
        TokenBatch o = outputs.get(r);
        int from = split.start(r);
        System.arraycopy(o.data(), 0, hiddenStates, from * hidden, o.tokens() * hidden);
        System.arraycopy(o.topkIds(), 0, ids, from * k, o.tokens() * k);
        System.arraycopy(o.topkWeights(), 0, weights, from * k, o.tokens() * k);
      }
      group.close().block(Duration.ofSeconds(30));
      return new Distributed(hiddenStates, ids, weights, seconds);
    } finally {
      group.dispose();
    }
  }
}
