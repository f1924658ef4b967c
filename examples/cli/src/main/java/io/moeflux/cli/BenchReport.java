package io.moeflux.cli;

import java.io.PrintWriter;
import picocli.CommandLine.Option;

/** How a benchmark reports: a sentence for people (unless {@code --json}), then one JSON object. */
final class BenchReport {
  @Option(names = "--json", description = "Only the JSON line.")
  boolean jsonOnly;

  /** Prints {@code summary} unless only JSON was asked for, then {@code json} as the last line. */
  void print(PrintWriter out, String summary, JsonLine json) {
    if (!jsonOnly) {
      out.println(summary);
    }
    out.println(json);
    out.flush();
  }
}
