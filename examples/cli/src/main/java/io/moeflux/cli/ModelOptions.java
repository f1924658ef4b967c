package io.moeflux.cli;

import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.model.ExpertKind;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.workload.SyntheticWorkload;
import picocli.CommandLine.Option;

/** The model and capacity every rank of a group must share (the handshake compares them). */
final class ModelOptions {
  @Option(
      names = {"--max-tokens", "--tokens"},
      description = "Capacity: most tokens per rank per step (default: ${DEFAULT-VALUE}).")
  int maxTokens = 64;

  @Option(names = "--hidden", description = "Hidden size (default: ${DEFAULT-VALUE}).")
  int hidden = 256;

  @Option(
      names = "--intermediate",
      description = "Expert intermediate size (default: ${DEFAULT-VALUE}).")
  int intermediate = 128;

  @Option(
      names = "--experts-per-rank",
      description = "Logical experts per rank (default: ${DEFAULT-VALUE}).")
  int expertsPerRank = 4;

  @Option(names = "--topk", description = "Experts per token (default: ${DEFAULT-VALUE}).")
  int topK = 2;

  @Option(names = "--layers", description = "MoE layers (default: ${DEFAULT-VALUE}).")
  int layers = 2;

  @Option(
      names = "--experts",
      description = "Expert function: SWIGLU or IDENTITY (default: ${DEFAULT-VALUE}).")
  ExpertKind expertKind = ExpertKind.SWIGLU;

  @Option(names = "--gate-skew", description = "Zipf-like gate bias (default: ${DEFAULT-VALUE}).")
  double gateSkew = 0;

  @Option(
      names = "--redundant-slots",
      description =
          "Extra expert slots for replicas, a multiple of the ranks (default: ${DEFAULT-VALUE}).")
  int redundantSlots = 0;

  @Option(
      names = "--seed",
      description = "Seed for weights and tokens (default: ${DEFAULT-VALUE}).")
  long seed = 1;

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
    return SyntheticWorkload.random(seed, hidden, maxTokens, idleSteps);
  }

  PipelineConfig pipeline(int ranks) {
    if (maxTokens < 1) {
      throw new IllegalArgumentException("--max-tokens must be >= 1, got " + maxTokens);
    }
    return PipelineConfig.builder(model(ranks), maxTokens).redundantSlots(redundantSlots).build();
  }
}
