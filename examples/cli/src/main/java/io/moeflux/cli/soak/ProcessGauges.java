package io.moeflux.cli.soak;

import io.netty.util.internal.PlatformDependent;
import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * What this process holds at one moment: heap in use after a full collection, direct memory (NIO
 * buffers and Netty's own), live threads, open file descriptors.
 */
public record ProcessGauges(double heapMb, double directMb, int threads, long fds) {
  private static final double MB = 1024.0 * 1024.0;

  /** Collects garbage, then reads the gauges. */
  public static ProcessGauges read() {
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    long direct = PlatformDependent.usedDirectMemory();
    for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
      if (pool.getName().equals("direct")) {
        direct += pool.getMemoryUsed();
      }
    }
    return new ProcessGauges(
        round(heap / MB),
        round(Math.max(0, direct) / MB),
        ManagementFactory.getThreadMXBean().getThreadCount(),
        openFds());
  }

  private static long openFds() {
    try (Stream<Path> open = Files.list(Path.of("/proc/self/fd"))) {
      return open.count();
    } catch (IOException | UnsupportedOperationException e) {
      return -1;
    }
  }

  private static double round(double value) {
    return Math.round(value * 10) / 10.0;
  }
}
