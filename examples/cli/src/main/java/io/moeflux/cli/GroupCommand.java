package io.moeflux.cli;

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
}
