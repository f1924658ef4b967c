package io.moeflux.examples.cli;

import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.model.ExpertKind;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.transport.TransportKind;
import picocli.CommandLine.Option;

/** The shape of a rank group and its model, shared by the commands that run one. */
final class GroupOptions {
  @Option(names = "--ranks", description = "Ranks in this JVM (default: ${DEFAULT-VALUE}).")
  int ranks = 4;

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

  @Option(names = "--seed", description = "Seed for weights and tokens (default: ${DEFAULT-VALUE}).")
  long seed = 1;

  @Option(
      names = "--transport",
      description = "TCP (loopback) or LOCAL (in-JVM) (default: ${DEFAULT-VALUE}).")
  TransportKind transport = TransportKind.TCP;

  ModelConfig model() {
    if (ranks < 1 || ranks > 64) {
      throw new IllegalArgumentException("--ranks must be in 1..64, got " + ranks);
    }
    if (expertsPerRank < 1) {
      throw new IllegalArgumentException("--experts-per-rank must be >= 1, got " + expertsPerRank);
    }
    return new ModelConfig(
        hidden,
        intermediate,
        layers,
        expertsPerRank * ranks,
        topK,
        0,
        0,
        gateSkew,
        expertKind,
        seed);
  }

  PipelineConfig pipeline() {
    if (maxTokens < 1) {
      throw new IllegalArgumentException("--max-tokens must be >= 1, got " + maxTokens);
    }
    return PipelineConfig.of(model(), maxTokens);
  }
}
