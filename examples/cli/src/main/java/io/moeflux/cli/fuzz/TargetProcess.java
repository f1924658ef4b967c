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
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A {@code moeflux} command in its own JVM (this jar, paranoid leak detection), so that its memory
 * and its leak reports are its own: the target a fuzz run attacks.
 */
public final class TargetProcess implements AutoCloseable {
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
    // the whole heap resident from the start: what the peak then shows is memory an attack made
    // the target take beyond its heap (direct buffers, native memory), not the heap filling up
    return start(
        dir,
        List.of(
            "-Xms" + heap,
            "-Xmx" + heap,
            "-XX:+AlwaysPreTouch",
            "-Dio.netty.leakDetection.level=paranoid"),
        args);
  }

  /** Starts {@code moeflux <args>} in a JVM with {@code jvmOptions}, its output in {@code dir}. */
  public static TargetProcess start(Path dir, List<String> jvmOptions, List<String> args) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmOptions);
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
  public String awaitLine(String text, Duration timeout) throws InterruptedException {
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

  public boolean isAlive() {
    return process.isAlive();
  }

  public long pid() {
    return process.pid();
  }

  /** Asks the process to stop (SIGTERM) without waiting for it. */
  public void terminate() {
    process.destroy();
  }

  /** Kills the process at once (SIGKILL): it gets no chance to say goodbye. */
  public void kill() throws InterruptedException {
    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
  }

  /** CPU time the process used so far, user plus system, in clock ticks (/proc/pid/stat). */
  public long cpuTicks() {
    List<String> stat = lines(Path.of("/proc", Long.toString(process.pid()), "stat"));
    if (stat.isEmpty()) {
      return -1;
    }
    return cpuTicksOf(stat.get(0));
  }

  /**
   * CPU ticks (user plus system) of each thread of the process so far, by "name (tid)"; threads
   * that ended are not in it.
   */
  public Map<String, Long> threadCpuTicks() {
    Map<String, Long> ticks = new TreeMap<>();
    Path tasks = Path.of("/proc", Long.toString(process.pid()), "task");
    try (Stream<Path> threads = Files.list(tasks)) {
      threads.forEach(
          thread -> {
            List<String> stat = lines(thread.resolve("stat"));
            if (!stat.isEmpty()) {
              String line = stat.get(0);
              String name = line.substring(line.indexOf('(') + 1, line.lastIndexOf(')'));
              ticks.put(name + " (" + thread.getFileName() + ")", cpuTicksOf(line));
            }
          });
    } catch (IOException | UncheckedIOException e) {
      // the process ended meanwhile: what was read stands
    }
    return ticks;
  }

  private static long cpuTicksOf(String statLine) {
    // fields after the command name, which is in parentheses and may hold spaces; utime and stime
    // are fields 14 and 15 of the whole line, 12 and 13 after the name
    String[] fields = statLine.substring(statLine.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
  }

  /** The process's standard output so far. */
  public List<String> output() {
    return lines(out);
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

  /** Asks the process to stop (SIGTERM) and waits for it, forcing it after 20 s. */
  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(20, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }
}
