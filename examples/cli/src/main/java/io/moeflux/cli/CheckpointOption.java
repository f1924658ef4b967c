package io.moeflux.cli;

import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.family.CheckpointModel;
import io.moeflux.pipeline.model.MoeModel;
import io.moeflux.pipeline.model.SyntheticModel;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Option;

/**
 * {@code --model DIR}, for the commands that can run a checkpoint's MoE layers instead of the
 * synthetic model ({@code verify}, {@code rank}, {@code serve}). The checkpoint is opened once, on
 * first use; the command closes it.
 */
final class CheckpointOption implements AutoCloseable {
  @Option(names = "--model", paramLabel = "DIR")
  @Nullable Path directory;

  private @Nullable CheckpointModel opened;

  /** Whether {@code --model} names a checkpoint. */
  boolean given() {
    return directory != null;
  }

  /** The checkpoint's model, or the synthetic model {@code options} describe for {@code ranks}. */
  MoeModel model(ModelOptions options, int ranks) {
    if (directory == null) {
      return SyntheticModel.of(options.model(ranks));
    }
    if (opened == null) {
      opened = CheckpointModel.open(directory);
    }
    return opened;
  }

  /** The pipeline of {@link #model}, with the capacity and redundant slots of {@code options}. */
  PipelineConfig pipeline(ModelOptions options, int ranks) {
    return options.pipeline(model(options, ranks));
  }

  @Override
  public void close() {
    if (opened != null) {
      opened.close();
    }
  }
}
