package io.moeflux.transport.protocol;

import java.util.concurrent.atomic.LongAdder;

/**
 * Bytes of hidden values this JVM copied without changing them, on the data path, since it started:
 * float32 rows written into frames or read out of them ({@link RowCoder}), frames assembled from
 * several socket reads, bodies merged out of fragments. Conversions to and from bf16 and fp8 are
 * not copies and are not counted. Benchmarks divide it by the payload they moved.
 */
public final class CopiedBytes {
  private static final LongAdder TOTAL = new LongAdder();

  private CopiedBytes() {}

  /** Counts {@code bytes} copied. */
  public static void add(long bytes) {
    TOTAL.add(bytes);
  }

  /** Bytes copied since the JVM started. */
  public static long total() {
    return TOTAL.sum();
  }
}
