package io.moeflux.cli;

import io.moeflux.cli.bench.DataPathMeter;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.StepMemory;
import io.moeflux.pipeline.kernel.ExpertKernels;
import io.moeflux.transport.DirectMemory;
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
   * The data-path fields every benchmark that exchanges rows reports: the wire precision and
   * overlap, hidden rows per step and per second over {@code seconds}, copied bytes per payload
   * byte, the direct-memory peak against {@link StepMemory}'s bound for {@code groups} groups of
   * this configuration in this JVM, and the cores the process kept busy (of the machine's {@code
   * cores}): at every core busy, work cannot be overlapped into idle time.
   */
  void putDataPath(
      JsonLine json,
      PipelineConfig config,
      DataPathMeter.Reading reading,
      long measuredSteps,
      double seconds,
      int groups) {
    long bound = groups * group.ranks * StepMemory.directBytesPerRank(config, group.ranks);
    json.put("wire", config.wire().label())
        .put("overlap", config.overlap().label())
        .put("rows_per_step", reading.rows() / Math.max(1, measuredSteps))
        .put("rows_per_s", Math.round(reading.rows() / seconds))
        .put(
            "copied_bytes_per_payload_byte",
            Math.round(reading.copiesPerPayloadByte() * 1000) / 1000.0)
        .put("direct_bytes_peak", reading.directPeak())
        .put("direct_bytes_bound", bound)
        .put("direct_bytes_limit", DirectMemory.limit())
        .put("cores_busy", Math.round(reading.coresBusy(seconds) * 100) / 100.0)
        .put("cores", Runtime.getRuntime().availableProcessors());
  }

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
