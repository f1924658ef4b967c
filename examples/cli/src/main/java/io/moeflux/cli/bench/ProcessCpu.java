package io.moeflux.cli.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;

/** The CPU time this JVM process has used, every thread, user and system. */
final class ProcessCpu {
  private ProcessCpu() {}

  /** CPU nanoseconds so far, or 0 where the JVM does not tell (then every reading is 0). */
  static long nanos() {
    OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean process) {
      return Math.max(0, process.getProcessCpuTime());
    }
    return 0;
  }
}
