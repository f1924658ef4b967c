package io.moeflux.cli;

import io.moeflux.pipeline.kernel.ExpertKernels;
import picocli.CommandLine.Option;

/**
 * A benchmark on a rank group in this JVM: how many steps it measures (each benchmark's default is
 * in {@code command-defaults.properties}), and how it reports (a sentence for people unless {@code
 * --json}, then one JSON object, the last line).
 */
abstract class GroupBench extends GroupCommand {
  @Option(names = "--steps")
  int steps = 200;

  @Option(names = "--json")
  boolean jsonOnly;

  /**
   * Prints {@code summary} unless only JSON was asked for, then {@code json}, with the expert
   * kernel this JVM runs, as the last line.
   */
  void report(String summary, JsonLine json) {
    json.put("kernel", ExpertKernels.preferred().name());
    if (!jsonOnly) {
      out().println(summary);
    }
    out().println(json);
    out().flush();
  }
}
