package io.moeflux.cli.fuzz;

import io.moeflux.cli.MoefluxCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A {@code moeflux} command in its own JVM (this jar, paranoid leak detection), so that its memory
 * and its leak reports are its own: the target a fuzz run attacks.
 */
final class TargetProcess implements AutoCloseable {
  private final Process process;
  private final Path out;
  private final Path err;

  private TargetProcess(Process process, Path out, Path err) {
    this.process = process;
    this.out = out;
    this.err = err;
  }

  /**
   * Starts {@code moeflux <args>} with a heap of {@code heap} (e.g. "256m"), its output in {@code
   * dir}.
   */
  static TargetProcess start(Path dir, String heap, List<String> args) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    // the whole heap resident from the start: what the peak then shows is memory an attack made
    // the target take beyond its heap (direct buffers, native memory), not the heap filling up
    command.add("-Xms" + heap);
    command.add("-Xmx" + heap);
    command.add("-XX:+AlwaysPreTouch");
    command.add("-Dio.netty.leakDetection.level=paranoid");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(MoefluxCommand.class.getName());
    command.addAll(args);
    Path out = dir.resolve("target.out");
    Path err = dir.resolve("target.err");
    try {
      Process process =
          new ProcessBuilder(command)
              .redirectOutput(out.toFile())
              .redirectError(err.toFile())
              .start();
      return new TargetProcess(process, out, err);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the target: " + command, e);
    }
  }

  /** The first output line that contains {@code text}, waiting up to {@code timeout}. */
  String awaitLine(String text, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      for (String line : lines(out)) {
        if (line.contains(text)) {
          return line;
        }
      }
      if (!process.isAlive()) {
        throw new IllegalStateException("the target exited: " + String.join("\n", lines(err)));
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("the target printed no '" + text + "' in " + timeout);
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** Peak resident memory so far (VmHWM), MB; -1 where /proc does not say. */
  double peakRssMb() {
    return procStatus("VmHWM:");
  }

  /** Resident memory now (VmRSS), MB. */
  double rssMb() {
    return procStatus("VmRSS:");
  }

  /** Leak reports in the target's log. */
  long leakReports() {
    return lines(err).stream().filter(line -> line.contains("LEAK:")).count();
  }

  /** Lines of the target's log that hold {@code text}. */
  long logLines(String text) {
    return lines(err).stream().filter(line -> line.contains(text)).count();
  }

  /** Lines in the target's log. */
  long logLineCount() {
    return lines(err).size();
  }

  private double procStatus(String field) {
    Path status = Path.of("/proc", Long.toString(process.pid()), "status");
    for (String line : lines(status)) {
      if (line.startsWith(field)) {
        String[] parts = line.substring(field.length()).trim().split("\\s+");
        return Math.round(Long.parseLong(parts[0]) / 102.4) / 10.0;
      }
    }
    return -1;
  }

  private static List<String> lines(Path file) {
    try {
      return Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
    } catch (IOException e) {
      return List.of();
    }
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(20, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }
}
