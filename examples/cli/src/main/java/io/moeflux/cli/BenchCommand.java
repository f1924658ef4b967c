package io.moeflux.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Whole-pipeline benchmarks; each prints one JSON object as its last line. */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    subcommands = {
      DispatchBenchCommand.class,
      SyncBenchCommand.class,
      HeatBenchCommand.class,
      MemoryBenchCommand.class,
      EplbBenchCommand.class,
      ExpertsBenchCommand.class,
      ServeBenchCommand.class
    })
final class BenchCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }
}
