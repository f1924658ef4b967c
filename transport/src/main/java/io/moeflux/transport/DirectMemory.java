package io.moeflux.transport;

import io.netty.util.internal.PlatformDependent;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.util.List;

/**
 * This JVM's direct (off-heap) memory: the limit ({@code -XX:MaxDirectMemorySize}, by default as
 * large as the heap) and what is in use now, whichever way Netty allocates (through {@code
 * ByteBuffer.allocateDirect}, counted by the JVM, or through its own cleaner-free path, counted by
 * Netty).
 */
public final class DirectMemory {
  private static final List<BufferPoolMXBean> POOLS =
      ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
          .filter(pool -> pool.getName().equals("direct"))
          .toList();

  private DirectMemory() {}

  /** The most direct memory this JVM may hold, in bytes. */
  public static long limit() {
    return PlatformDependent.maxDirectMemory();
  }

  /**
   * Direct memory in use now, in bytes. Netty counts what it allocates either way; the JVM counts
   * only buffers made through {@code ByteBuffer.allocateDirect}, which is also Netty's way unless
   * it may allocate without a cleaner. So Netty's count is added only when it allocates on its own
   * path: otherwise the same bytes would be counted twice.
   */
  public static long used() {
    long used = 0;
    for (BufferPoolMXBean pool : POOLS) {
      used += Math.max(0, pool.getMemoryUsed());
    }
    return PlatformDependent.useDirectBufferNoCleaner()
        ? used + Math.max(0, PlatformDependent.usedDirectMemory())
        : used;
  }
}
