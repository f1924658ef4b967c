package io.moeflux.cli;

import java.io.PrintStream;
import java.util.function.IntConsumer;
import reactor.core.scheduler.Schedulers;

/**
 * A JVM error (out of memory) on any thread ends the command at once with one line saying so and
 * exit code 1: a Reactor worker that dies of it would otherwise leave the command waiting for
 * results that never come, until its timeout.
 */
final class FatalErrors {
  private FatalErrors() {}

  /** Installs the handler for this process: {@code exit} halts with the code given. */
  static void install(PrintStream err, IntConsumer exit) {
    Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
    Thread.setDefaultUncaughtExceptionHandler(
        (thread, error) -> {
          if (!handled(thread, error, err, exit) && previous != null) {
            previous.uncaughtException(thread, error);
          }
        });
    Schedulers.onHandleError("moeflux-fatal", (thread, error) -> handled(thread, error, err, exit));
  }

  /** Reports and exits when {@code error} is a JVM error; false when it is not one. */
  static boolean handled(Thread thread, Throwable error, PrintStream err, IntConsumer exit) {
    if (!(error instanceof VirtualMachineError)) {
      return false;
    }
    err.println(message(thread, error));
    err.flush();
    exit.accept(1);
    return true;
  }

  static String message(Thread thread, Throwable error) {
    String what =
        error instanceof OutOfMemoryError ? "out of memory" : error.getClass().getSimpleName();
    return "moeflux: "
        + what
        + " in thread "
        + thread.getName()
        + " ("
        + error.getMessage()
        + "): give the JVM more memory (-Xmx) or run a smaller model or capacity";
  }
}
