package io.moeflux.cli.bench;

import java.lang.management.ManagementFactory;

/**
 * Bytes allocated on the Java heap by every live thread of this JVM, as HotSpot counts them. The
 * difference over a run, divided by its steps, is the allocation per step.
 */
public final class AllocationCounter {
  private AllocationCounter() {}

  public static long allocatedBytes() {
    if (!(ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean threads)) {
      return -1;
    }
    long total = 0;
    for (long bytes : threads.getThreadAllocatedBytes(threads.getAllThreadIds())) {
      if (bytes > 0) {
        total += bytes;
      }
    }
    return total;
  }
}
