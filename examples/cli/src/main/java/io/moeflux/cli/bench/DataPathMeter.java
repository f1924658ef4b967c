package io.moeflux.cli.bench;

import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.MoeRank;
import io.moeflux.transport.DirectMemory;
import io.moeflux.transport.protocol.CopiedBytes;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the data path of the groups a benchmark runs moved while it measured: hidden rows and bytes
 * that crossed a socket, bytes copied without being changed ({@link CopiedBytes}), and the peak of
 * the JVM's direct memory, sampled every millisecond by a thread of its own (and at every {@link
 * #sample()} the benchmark adds, at step ends); and the CPU time the whole process used meanwhile,
 * which tells a CPU-bound run (every core busy) from one that waits.
 */
public final class DataPathMeter implements AutoCloseable {
  private static final long SAMPLE_MILLIS = 1;

  private final List<MoeGroup> groups;
  private final AtomicLong peak = new AtomicLong();
  private final Thread sampler;
  private volatile boolean running = true;
  private long rows;
  private long bytes;
  private long copied;
  private long cpuNanos;

  private DataPathMeter(List<MoeGroup> groups) {
    this.groups = List.copyOf(groups);
    this.sampler = new Thread(this::sampleUntilClosed, "direct-memory-sampler");
    this.sampler.setDaemon(true);
    mark();
    sampler.start();
  }

  /** Starts measuring {@code groups}' data path now. */
  public static DataPathMeter start(List<MoeGroup> groups) {
    return new DataPathMeter(groups);
  }

  /** Restarts the counters (after a warm-up); the direct-memory peak counts from the start. */
  public void mark() {
    rows = rowsSent();
    bytes = bytesSent();
    copied = CopiedBytes.total();
    cpuNanos = ProcessCpu.nanos();
    sample();
  }

  /** Takes one direct-memory sample now. */
  public void sample() {
    peak.accumulateAndGet(DirectMemory.used(), Math::max);
  }

  /** What moved since {@link #mark()}, and the direct-memory peak so far. */
  public Reading read() {
    sample();
    return new Reading(
        rowsSent() - rows,
        bytesSent() - bytes,
        CopiedBytes.total() - copied,
        peak.get(),
        ProcessCpu.nanos() - cpuNanos);
  }

  private long rowsSent() {
    long total = 0;
    for (MoeGroup group : groups) {
      for (MoeRank rank : group.ranks()) {
        total += rank.status().hiddenRowsSent();
      }
    }
    return total;
  }

  private long bytesSent() {
    long total = 0;
    for (MoeGroup group : groups) {
      for (MoeRank rank : group.ranks()) {
        total += rank.status().hiddenBytesSent();
      }
    }
    return total;
  }

  private void sampleUntilClosed() {
    while (running) {
      sample();
      try {
        Thread.sleep(SAMPLE_MILLIS);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  @Override
  public void close() {
    running = false;
    sampler.interrupt();
  }

  /**
   * @param rows hidden rows that crossed a socket, over every rank
   * @param bytes their bytes in the wire precision (the payload)
   * @param copied bytes of hidden values copied without change
   * @param directPeak the most direct memory the JVM held at a sample
   * @param cpuNanos CPU time (user and system) of the whole process, every thread
   */
  public record Reading(long rows, long bytes, long copied, long directPeak, long cpuNanos) {
    /** Copied bytes per payload byte. */
    public double copiesPerPayloadByte() {
      return bytes == 0 ? 0 : (double) copied / bytes;
    }

    /** Cores kept busy on average over {@code seconds} of wall time. */
    public double coresBusy(double seconds) {
      return seconds <= 0 ? 0 : cpuNanos / 1e9 / seconds;
    }
  }
}
