package io.moeflux.pipeline.model;

import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;

/**
 * The threads that run one rank's experts: the calling thread and {@code threads - 1} helpers of
 * this rank's own, a bounded pool whose size {@link io.moeflux.pipeline.PipelineConfig} sets.
 * {@link #run} hands out the experts of a phase (largest first; an expert with many rows split into
 * row ranges, so a shared expert or a hot expert spreads over the workers) and returns when all
 * have run. Each row's output depends only on the row ({@link ExpertFfn}), so which thread ran
 * which rows never changes a bit.
 *
 * <p>Nothing is allocated per call once the task arrays and each worker's scratch have grown to the
 * largest phase seen. One phase at a time: {@link #run} is not reentrant. Helpers are daemon
 * threads that park between phases; {@link #close} ends them.
 */
public final class ExpertWorkers implements AutoCloseable {
  /** Below this many rows per part, an expert is not split: its weights would be streamed twice. */
  static final int MIN_ROWS_PER_PART = 32;

  private static final int SPINS_BEFORE_PARKING = 2_000;
  private static final float[] NONE = new float[0];

  private final int threads;
  private final Thread[] helpers;
  private final float[][] scratch;

  /**
   * The phase's task count (high half) and the next task to hand out (low half), in one word: a
   * worker claims a task with one compare-and-set, so a worker still looping from an earlier phase
   * can never take a task of this one by mistake, and whoever claims has seen the tasks published.
   */
  private final AtomicLong claims = new AtomicLong();

  private final AtomicInteger pending = new AtomicInteger();
  private final AtomicInteger running = new AtomicInteger();

  private @Nullable ExpertFfn[] taskExpert = new ExpertFfn[0];
  private int[] taskFirstRow = new int[0];
  private int[] taskRows = new int[0];
  private int taskCount;
  private int hidden;
  private float[] x = NONE;
  private float[] y = NONE;

  private volatile int generation;
  private volatile @Nullable Thread caller;
  private volatile @Nullable Throwable failure;
  private volatile boolean closed;

  private ExpertWorkers(String name, int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("expert threads must be >= 1, got " + threads);
    }
    this.threads = threads;
    this.scratch = new float[threads][0];
    this.helpers = new Thread[threads - 1];
    for (int w = 1; w < threads; w++) {
      int worker = w;
      Thread t = new Thread(() -> help(worker), name + "-" + w);
      t.setDaemon(true);
      helpers[w - 1] = t;
      t.start();
    }
  }

  /**
   * {@code threads} workers: the caller and {@code threads - 1} helper threads named {@code
   * name-i}.
   */
  public static ExpertWorkers start(String name, int threads) {
    return new ExpertWorkers(Objects.requireNonNull(name, "name"), threads);
  }

  /** The caller alone: no helper threads. */
  public static ExpertWorkers callerOnly() {
    return new ExpertWorkers("unused", 1);
  }

  /**
   * One rank's share of this machine's cores when {@code ranks} ranks share the JVM: at least 1.
   */
  public static int shareOfCores(int ranks) {
    if (ranks < 1) {
      throw new IllegalArgumentException("ranks must be >= 1, got " + ranks);
    }
    return Math.max(1, Runtime.getRuntime().availableProcessors() / ranks);
  }

  public int threads() {
    return threads;
  }

  /**
   * Runs {@code experts[e]} over rows {@code [firstRow[e], firstRow[e] + rows[e])} of {@code x}
   * into the same rows of {@code y}, rows of {@code hidden} floats, for every {@code e < count}
   * with rows; returns when all have run.
   *
   * @throws RuntimeException the first failure of an expert, after every other task finished
   */
  public void run(
      @Nullable ExpertFfn[] experts,
      int[] firstRow,
      int[] rows,
      int count,
      int hidden,
      float[] x,
      float[] y) {
    begin(hidden, x, y);
    try {
      for (int e = 0; e < count; e++) {
        if (rows[e] > 0) {
          addTasks(Objects.requireNonNull(experts[e]), firstRow[e], rows[e]);
        }
      }
      execute();
    } finally {
      end();
    }
  }

  /** Runs {@code expert} over rows {@code [0, rows)} of {@code x} into {@code y}. */
  public void run(ExpertFfn expert, int rows, float[] x, float[] y) {
    begin(expert.hidden(), x, y);
    try {
      addTasks(expert, 0, rows);
      execute();
    } finally {
      end();
    }
  }

  private void begin(int hidden, float[] x, float[] y) {
    if (closed) {
      throw new IllegalStateException("the expert workers are closed");
    }
    if (!running.compareAndSet(0, 1)) {
      throw new IllegalStateException("one phase at a time: the expert workers are busy");
    }
    this.hidden = hidden;
    this.x = x;
    this.y = y;
    taskCount = 0;
  }

  private void end() {
    for (int t = 0; t < taskCount; t++) {
      taskExpert[t] = null;
    }
    x = y = NONE;
    running.set(0);
  }

  /**
   * One task, or row ranges of at least {@link #MIN_ROWS_PER_PART} rows, one per worker at most.
   */
  private void addTasks(ExpertFfn expert, int first, int rows) {
    int parts = Math.max(1, Math.min(threads, rows / MIN_ROWS_PER_PART));
    int per = (rows + parts - 1) / parts;
    for (int from = 0; from < rows; from += per) {
      add(expert, first + from, Math.min(per, rows - from));
    }
  }

  private void add(ExpertFfn expert, int first, int rows) {
    if (taskCount == taskRows.length) {
      int capacity = Math.max(16, taskCount * 2);
      taskExpert = Arrays.copyOf(taskExpert, capacity);
      taskFirstRow = Arrays.copyOf(taskFirstRow, capacity);
      taskRows = Arrays.copyOf(taskRows, capacity);
    }
    // Insertion by descending rows: the largest tasks go first, so the last ones to finish are
    // small.
    int at = taskCount++;
    while (at > 0 && taskRows[at - 1] < rows) {
      taskExpert[at] = taskExpert[at - 1];
      taskFirstRow[at] = taskFirstRow[at - 1];
      taskRows[at] = taskRows[at - 1];
      at--;
    }
    taskExpert[at] = expert;
    taskFirstRow[at] = first;
    taskRows[at] = rows;
  }

  private void execute() {
    if (taskCount == 0) {
      return;
    }
    if (threads == 1 || taskCount == 1) {
      for (int t = 0; t < taskCount; t++) {
        runTask(t, 0);
      }
      return;
    }
    failure = null;
    caller = Thread.currentThread();
    pending.set(taskCount);
    claims.set((long) taskCount << 32);
    generation++;
    for (Thread helper : helpers) {
      LockSupport.unpark(helper);
    }
    work(0);
    for (int spins = 0; pending.get() != 0; spins++) {
      if (spins < SPINS_BEFORE_PARKING) {
        Thread.onSpinWait();
      } else {
        LockSupport.park(this);
      }
    }
    Throwable failed = failure;
    if (failed instanceof RuntimeException e) {
      throw e;
    }
    if (failed instanceof Error e) {
      throw e;
    }
  }

  private void help(int worker) {
    int seen = 0;
    while (!closed) {
      int g = generation;
      if (g == seen) {
        LockSupport.park(this);
        continue;
      }
      seen = g;
      work(worker);
    }
  }

  private void work(int worker) {
    while (true) {
      long v = claims.get();
      int t = (int) v;
      if (t >= (int) (v >>> 32)) {
        return;
      }
      if (!claims.compareAndSet(v, v + 1)) {
        continue;
      }
      try {
        runTask(t, worker);
      } catch (Throwable e) {
        if (failure == null) {
          failure = e;
        }
      } finally {
        if (pending.decrementAndGet() == 0) {
          LockSupport.unpark(caller);
        }
      }
    }
  }

  private void runTask(int t, int worker) {
    ExpertFfn expert = Objects.requireNonNull(taskExpert[t]);
    int rows = taskRows[t];
    int need = expert.scratchLength(rows);
    if (scratch[worker].length < need) {
      scratch[worker] = new float[need];
    }
    int offset = taskFirstRow[t] * hidden;
    expert.forward(x, offset, rows, y, offset, scratch[worker]);
  }

  /** Ends the helper threads; a later {@link #run} fails. */
  @Override
  public void close() {
    closed = true;
    for (Thread helper : helpers) {
      LockSupport.unpark(helper);
    }
  }

  @Override
  public String toString() {
    return "ExpertWorkers{threads=" + threads + (closed ? ", closed" : "") + "}";
  }
}
