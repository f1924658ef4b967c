package io.moeflux.cli;

import io.moeflux.pipeline.Overlap;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.model.ExpertKind;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.model.MoeModel;
import io.moeflux.pipeline.model.SyntheticModel;
import io.moeflux.pipeline.workload.SyntheticWorkload;
import io.moeflux.transport.protocol.WireFormat;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The model, capacity, wire precision and overlap every rank of a group must share (the handshake
 * compares them).
 */
final class ModelOptions {
  @Option(names = {"--max-tokens", "--tokens"})
  int maxTokens = 64;

  @Option(names = "--hidden")
  int hidden = 256;

  @Option(names = "--intermediate")
  int intermediate = 128;

  @Option(names = "--experts-per-rank")
  int expertsPerRank = 4;

  @Option(names = "--topk")
  int topK = 2;

  @Option(names = "--layers")
  int layers = 2;

  @Option(names = "--experts")
  ExpertKind expertKind = ExpertKind.SWIGLU;

  @Option(names = "--gate-skew")
  double gateSkew = 0;

  @Option(names = "--redundant-slots")
  int redundantSlots = 0;

  @Option(names = "--seed")
  long seed = 1;

  @Option(names = "--expert-threads")
  int expertThreads = 0;

  @Mixin WireFlags wire = new WireFlags();

  @Option(names = "--overlap", converter = WireOptions.OverlapConverter.class)
  @Nullable Overlap overlap;

  /** The overlap when --overlap is not given: off, or what a rank's peers suggest. */
  Overlap defaultOverlap = Overlap.off();

  /** {@code --wire} for both phases (fp8 combining in bf16), {@code --combine-wire} overriding. */
  WireFormat wire() {
    return wire.format();
  }

  ModelConfig model(int ranks) {
    if (ranks < 1 || ranks > 64) {
      throw new IllegalArgumentException("ranks must be in 1..64, got " + ranks);
    }
    if (expertsPerRank < 1) {
      throw new IllegalArgumentException("--experts-per-rank must be >= 1, got " + expertsPerRank);
    }
    return ModelConfig.builder()
        .hidden(hidden)
        .intermediate(intermediate)
        .layers(layers)
        .experts(expertsPerRank * ranks)
        .topK(topK)
        .groups(0)
        .topkGroups(0)
        .gateSkew(gateSkew)
        .expertKind(expertKind)
        .seed(seed)
        .build();
  }

  /**
   * The seeded random workload for this model and capacity; a step is idle on every rank with
   * probability {@code idleSteps}.
   */
  SyntheticWorkload workload(double idleSteps) {
    return workload(idleSteps, hidden);
  }

  /** The seeded random workload for a model of hidden size {@code hiddenSize} (a checkpoint's). */
  SyntheticWorkload workload(double idleSteps, int hiddenSize) {
    return SyntheticWorkload.random(seed, hiddenSize, maxTokens, idleSteps);
  }

  PipelineConfig pipeline(int ranks) {
    return pipeline(SyntheticModel.of(model(ranks)));
  }

  /** The pipeline of {@code model} with this capacity and these redundant slots. */
  PipelineConfig pipeline(MoeModel model) {
    if (maxTokens < 1) {
      throw new IllegalArgumentException("--max-tokens must be >= 1, got " + maxTokens);
    }
    return PipelineConfig.builder(model, maxTokens)
        .redundantSlots(redundantSlots)
        .expertThreads(expertThreads)
        .wire(wire())
        .overlap(overlap != null ? overlap : defaultOverlap)
        .build();
  }
}
