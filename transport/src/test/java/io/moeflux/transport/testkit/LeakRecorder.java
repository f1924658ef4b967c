package io.moeflux.transport.testkit;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * Turns Netty's leak reports into test failures. Installed as a JUnit Platform launcher session
 * listener (so before any Netty class initialises, in every module that has the transport test-jar
 * on its test classpath); tests call {@link #assertNoLeaks()}, or extend with {@link NoLeaks}.
 */
public final class LeakRecorder implements LauncherSessionListener {
  private static final List<String> LEAKS = new CopyOnWriteArrayList<>();
  private static volatile boolean installed;

  @Override
  public void launcherSessionOpened(LauncherSession session) {
    install();
  }

  /** Installs the recording detector factory; idempotent. */
  public static synchronized void install() {
    if (installed) {
      return;
    }
    installed = true;
    ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new RecordingFactory());
  }

  public static boolean isInstalled() {
    return installed;
  }

  /**
   * Collects garbage, lets the detectors poll, and fails with every leak reported since the last
   * call.
   */
  public static void assertNoLeaks() {
    for (int round = 0; round < 3; round++) {
      System.gc();
      System.runFinalization();
      churn(ByteBufAllocator.DEFAULT);
      churn(PooledByteBufAllocator.DEFAULT);
      churn(UnpooledByteBufAllocator.DEFAULT);
    }
    List<String> found = drain();
    if (!found.isEmpty()) {
      throw new AssertionError(found.size() + " leaked buffer(s):\n" + String.join("\n\n", found));
    }
  }

  /** Returns and forgets the leaks reported so far. */
  public static List<String> drain() {
    List<String> found = new ArrayList<>(LEAKS);
    LEAKS.removeAll(found);
    return found;
  }

  private static void churn(ByteBufAllocator allocator) {
    // A detector polls its reference queue when it tracks a new buffer.
    for (int i = 0; i < 64; i++) {
      ByteBuf buf = allocator.directBuffer(16);
      buf.release();
      ByteBuf heap = allocator.heapBuffer(16);
      heap.release();
    }
  }

  private static final class RecordingFactory extends ResourceLeakDetectorFactory {
    @Override
    @SuppressWarnings("deprecation")
    public <T> ResourceLeakDetector<T> newResourceLeakDetector(
        Class<T> resource, int samplingInterval, long maxActive) {
      return new RecordingDetector<>(resource, samplingInterval);
    }
  }

  private static final class RecordingDetector<T> extends ResourceLeakDetector<T> {
    RecordingDetector(Class<T> resource, int samplingInterval) {
      super(resource, samplingInterval);
    }

    @Override
    protected void reportTracedLeak(String resourceType, String records) {
      LEAKS.add(resourceType + " leak:" + records);
      super.reportTracedLeak(resourceType, records);
    }

    @Override
    protected void reportUntracedLeak(String resourceType) {
      LEAKS.add(resourceType + " leak (untraced)");
      super.reportUntracedLeak(resourceType);
    }
  }
}
