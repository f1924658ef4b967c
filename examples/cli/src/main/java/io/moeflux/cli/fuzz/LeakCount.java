package io.moeflux.cli.fuzz;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Netty's leak reports in this process, counted: installed before the first buffer is made, with
 * paranoid detection (every buffer tracked).
 */
final class LeakCount {
  private static final AtomicLong LEAKS = new AtomicLong();
  private static boolean installed;

  private LeakCount() {}

  static synchronized void install() {
    if (installed) {
      return;
    }
    installed = true;
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new CountingFactory());
  }

  /** Collects garbage, lets the detectors report, and returns the leaks reported so far. */
  static long leaks() {
    for (int round = 0; round < 3; round++) {
      System.gc();
      churn(ByteBufAllocator.DEFAULT);
      churn(PooledByteBufAllocator.DEFAULT);
      churn(UnpooledByteBufAllocator.DEFAULT);
    }
    return LEAKS.get();
  }

  private static void churn(ByteBufAllocator allocator) {
    // a detector polls its reference queue when it tracks a new buffer
    for (int i = 0; i < 64; i++) {
      ByteBuf buf = allocator.directBuffer(16);
      buf.release();
    }
  }

  private static final class CountingFactory extends ResourceLeakDetectorFactory {
    @Override
    @SuppressWarnings("deprecation")
    public <T> ResourceLeakDetector<T> newResourceLeakDetector(
        Class<T> resource, int samplingInterval, long maxActive) {
      return new ResourceLeakDetector<>(resource, samplingInterval) {
        @Override
        protected void reportTracedLeak(String resourceType, String records) {
          LEAKS.incrementAndGet();
          super.reportTracedLeak(resourceType, records);
        }

        @Override
        protected void reportUntracedLeak(String resourceType) {
          LEAKS.incrementAndGet();
          super.reportUntracedLeak(resourceType);
        }
      };
    }
  }
}
