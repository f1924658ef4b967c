package io.moeflux.cli;

import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.placement.SwitchSchedule;
import io.moeflux.transport.TransportKind;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** A group of ranks in this JVM and the model they run. */
final class GroupOptions {
  @Option(names = "--ranks")
  int ranks = 4;

  @Option(names = "--transport")
  TransportKind transport = TransportKind.TCP;

  @Mixin ModelOptions model = new ModelOptions();

  ModelConfig model() {
    return model.model(ranks);
  }

  PipelineConfig pipeline() {
    return model.pipeline(ranks);
  }

  /**
   * The pipeline with a placement switch every {@code interval} steps; a plan is made a quarter of
   * an interval (at least a step) ahead of its switch, so its weights have that long to move.
   */
  PipelineConfig pipelineSwitchingEvery(int interval) {
    return switchingEvery(pipeline(), interval);
  }

  /** {@code config} with a placement switch every {@code interval} steps (see above). */
  static PipelineConfig switchingEvery(PipelineConfig config, int interval) {
    return config.toBuilder()
        .switches(
            SwitchSchedule.builder().interval(interval).delay(Math.max(1, interval / 4)).build())
        .build();
  }
}
