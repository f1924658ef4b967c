package io.moeflux.cli.bench;

/**
 * The wall time of each measured step of one stream: from the previous step's outputs (or, for the
 * very first step of the stream, from its start) to this step's outputs. The first {@code warmup}
 * steps are not measured; {@link #measuringSince()} is when measuring began (the end of the last
 * warm-up step, or the start when there is none), for rates over the measured steps.
 */
public final class StepTimes {
  private final int warmup;
  private final long[] samples;
  private int steps;
  private long last;
  private long measuringSince;

  public StepTimes(int warmup, int measured) {
    if (warmup < 0 || measured < 0) {
      throw new IllegalArgumentException(
          "warm-up and measured steps must be >= 0, got " + warmup + " and " + measured);
    }
    this.warmup = warmup;
    this.samples = new long[measured];
  }

  /** Call once, just before the first step starts. */
  public void start(long nanos) {
    last = nanos;
    if (warmup == 0) {
      measuringSince = nanos;
    }
  }

  /**
   * Call when a step's outputs are out. Returns true when this step ended the warm-up (measuring
   * begins after it).
   */
  public boolean stepDone(long nanos) {
    int step = steps++;
    boolean warmupEnds = step == warmup - 1;
    if (warmupEnds) {
      measuringSince = nanos;
    } else if (step >= warmup && step - warmup < samples.length) {
      samples[step - warmup] = nanos - last;
    }
    last = nanos;
    return warmupEnds;
  }

  /** Measured steps so far. */
  public int measured() {
    return Math.max(0, Math.min(samples.length, steps - warmup));
  }

  /** When measuring began, in {@link System#nanoTime()} terms. */
  public long measuringSince() {
    return measuringSince;
  }

  /** The percentiles of the measured steps. */
  public Percentiles percentiles() {
    return new Percentiles(samples, measured());
  }
}
