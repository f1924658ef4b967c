package io.moeflux.cli;

import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.MoeRank;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * A command that runs a rank group in this JVM: the group's options ({@link GroupOptions}, with the
 * model it runs) and where the command reports. Its exit code is what {@link #call} returns.
 */
abstract class GroupCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin GroupOptions group = new GroupOptions();

  /** Where the command's lines go (standard output, or what a test set). */
  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  /** The model the group runs and, one line per rank, the weight memory it holds. */
  void printMemory(MoeGroup moe) {
    PrintWriter out = out();
    out.println("model: " + moe.model().describe());
    for (MoeRank rank : moe.ranks()) {
      out.println("memory " + rank.status().memory().describe());
    }
    out.flush();
  }
}
