package io.moeflux.cli;

import io.moeflux.pipeline.workload.SyntheticWorkload;
import picocli.CommandLine.Option;

/**
 * The seeded random workload {@code verify} checks in one JVM and {@code rank} checks one process
 * at a time: the same steps, so that both check the same outputs.
 */
final class WorkloadOptions {
  @Option(names = "--steps")
  int steps = 50;

  @Option(names = "--idle-steps")
  double idleSteps = 0.1;

  /** The workload for {@code model}'s seed and capacity, of hidden size {@code hidden}. */
  SyntheticWorkload workload(ModelOptions model, int hidden) {
    if (steps < 0) {
      throw new IllegalArgumentException("--steps must be >= 0, got " + steps);
    }
    return model.workload(idleSteps, hidden);
  }
}
