package io.moeflux.cli.bench;

import java.time.Duration;

/**
 * The wall time of each measured step of one group's streams: from the previous step's outputs (or,
 * for the very first step, from the start) to this step's outputs, after a warm-up that is not
 * measured. {@link #measuringSince()} is when measuring began (the end of the last warm-up step, or
 * the start when there is none), for rates over the measured steps.
 *
 * <p>The warm-up lasts at least a number of steps and at least a wall time: a step count alone
 * ended it while the JIT was still compiling the step's hot paths (100 steps of the dispatch bench
 * take under a second, and its steady state came after several). Since the step that ends it is
 * known only while the streams run, every rank's input asks {@link #wants} before each step, and
 * rank 0's asking decides: when rank 0 asks for step i and the warm-up has lasted long enough,
 * steps 0 .. i are the warm-up and the next {@code measured} steps are measured. No other rank can
 * have asked for a step after i by then (it would need rank 0's frames of step i), so every rank
 * stops at the same last step.
 */
public final class StepTimes {
  private static final long UNDECIDED = Long.MAX_VALUE;

  private final int minWarmupSteps;
  private final long minWarmupNanos;
  private final long[] samples;
  private volatile long startedAt;
  private volatile long warmupSteps = UNDECIDED;
  private volatile long lastStep = UNDECIDED;
  private int steps;
  private long last;
  private long measuringSince;

  /** A warm-up of exactly {@code warmup} steps. */
  public StepTimes(int warmup, int measured) {
    this(warmup, Duration.ZERO, measured);
  }

  /** A warm-up of at least {@code minWarmupSteps} steps and at least {@code minWarmup}. */
  public StepTimes(int minWarmupSteps, Duration minWarmup, int measured) {
    if (minWarmupSteps < 0 || measured < 0 || minWarmup.isNegative()) {
      throw new IllegalArgumentException(
          "warm-up steps, warm-up time and measured steps must be >= 0, got "
              + minWarmupSteps
              + ", "
              + minWarmup
              + " and "
              + measured);
    }
    this.minWarmupSteps = minWarmupSteps;
    this.minWarmupNanos = minWarmup.toNanos();
    this.samples = new long[measured];
    if (minWarmupNanos == 0) {
      endWarmup(minWarmupSteps);
    }
  }

  /** Call once, just before the first step starts. */
  public void start(long nanos) {
    startedAt = nanos;
    last = nanos;
    if (warmupSteps == 0) {
      measuringSince = nanos;
    }
  }

  /**
   * Whether {@code rank} runs step {@code step} (steps are asked for in order, from 0): every step
   * of the warm-up and the measured steps after it. Rank 0's asking ends a warm-up by time.
   */
  public boolean wants(int rank, long step) {
    if (rank == 0
        && warmupSteps == UNDECIDED
        && step + 1 >= minWarmupSteps
        && System.nanoTime() - startedAt >= minWarmupNanos) {
      endWarmup(step + 1);
    }
    return step <= lastStep;
  }

  private void endWarmup(long steps) {
    lastStep = steps + samples.length - 1;
    warmupSteps = steps;
  }

  /** The steps of the warm-up, or -1 while it is not decided yet. */
  public long warmupSteps() {
    long warmup = warmupSteps;
    return warmup == UNDECIDED ? -1 : warmup;
  }

  /**
   * Call when a step's outputs are out. Returns true when this step ended the warm-up (measuring
   * begins after it).
   */
  public boolean stepDone(long nanos) {
    int step = steps++;
    long warmup = warmupSteps;
    boolean warmupEnds = step == warmup - 1;
    if (warmupEnds) {
      measuringSince = nanos;
    } else if (step >= warmup && step - warmup < samples.length) {
      samples[(int) (step - warmup)] = nanos - last;
    }
    last = nanos;
    return warmupEnds;
  }

  /** Measured steps so far. */
  public int measured() {
    long warmup = warmupSteps;
    return warmup == UNDECIDED ? 0 : (int) Math.max(0, Math.min(samples.length, steps - warmup));
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
