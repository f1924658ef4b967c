package io.moeflux.cli;

import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.transport.TransportKind;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** A group of ranks in this JVM and the model they run. */
final class GroupOptions {
  @Option(names = "--ranks", description = "Ranks in this JVM (default: ${DEFAULT-VALUE}).")
  int ranks = 4;

  @Option(
      names = "--transport",
      description = "TCP (loopback) or LOCAL (in-JVM) (default: ${DEFAULT-VALUE}).")
  TransportKind transport = TransportKind.TCP;

  @Mixin ModelOptions model = new ModelOptions();

  ModelConfig model() {
    return model.model(ranks);
  }

  PipelineConfig pipeline() {
    return model.pipeline(ranks);
  }
}
