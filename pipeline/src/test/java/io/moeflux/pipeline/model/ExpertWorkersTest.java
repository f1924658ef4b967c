package io.moeflux.pipeline.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.pipeline.kernel.ExpertKernels;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ExpertWorkersTest {
  private static final int HIDDEN = 40;

  private final ModelConfig config =
      ModelConfig.builder().hidden(HIDDEN).intermediate(24).experts(6).build();
  private final ExpertBank bank = new ExpertBank(config, ExpertKernels.preferred());

  @Test
  void anyNumberOfThreadsGivesTheBitsOfOne() {
    SplittableRandom random = new SplittableRandom(1);
    int[] rows = {0, 1, 3, 150, 40, 97};
    int[] first = new int[rows.length];
    int total = 0;
    for (int e = 0; e < rows.length; e++) {
      first[e] = total;
      total += rows[e];
    }
    ExpertFfn[] experts = new ExpertFfn[rows.length];
    for (int e = 0; e < rows.length; e++) {
      experts[e] = bank.expert(0, e);
    }
    float[] x = new float[total * HIDDEN];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (random.nextDouble() * 2 - 1);
    }
    float[] expected = new float[x.length];
    try (ExpertWorkers one = ExpertWorkers.callerOnly()) {
      one.run(experts, first, rows, rows.length, HIDDEN, x, expected);
    }
    for (int threads = 2; threads <= 4; threads++) {
      try (ExpertWorkers workers = ExpertWorkers.start("workers-test", threads)) {
        for (int repeat = 0; repeat < 5; repeat++) {
          float[] y = new float[x.length];
          workers.run(experts, first, rows, rows.length, HIDDEN, x, y);
          assertThat(y).as("%d threads", threads).containsExactly(expected);
        }
      }
    }
  }

  @Test
  void expertsWithManyRowsAreSplitAmongWorkersAndSmallOnesAreNot() {
    Recording big = new Recording();
    Recording small = new Recording();
    try (ExpertWorkers workers = ExpertWorkers.start("split-test", 3)) {
      workers.run(
          new ExpertFfn[] {big, small},
          new int[] {0, 100},
          new int[] {100, ExpertWorkers.MIN_ROWS_PER_PART + 5},
          2,
          HIDDEN,
          new float[200 * HIDDEN],
          new float[200 * HIDDEN]);
    }
    assertThat(big.rows).containsExactlyInAnyOrder(34, 34, 32);
    assertThat(small.rows).containsExactly(ExpertWorkers.MIN_ROWS_PER_PART + 5);
  }

  @Test
  void aFailingExpertFailsTheRunAndTheWorkersGoOn() {
    ExpertFfn failing =
        new Recording() {
          @Override
          public void forward(float[] x, int xo, int rows, float[] y, int yo, float[] scratch) {
            throw new IllegalStateException("expert broke");
          }
        };
    try (ExpertWorkers workers = ExpertWorkers.start("failure-test", 2)) {
      float[] x = new float[200 * HIDDEN];
      assertThatThrownBy(
              () ->
                  workers.run(
                      new ExpertFfn[] {new Recording(), failing},
                      new int[] {0, 100},
                      new int[] {100, 100},
                      2,
                      HIDDEN,
                      x,
                      new float[x.length]))
          .hasMessage("expert broke");
      Recording after = new Recording();
      workers.run(after, 100, x, new float[x.length]);
      assertThat(after.rows.stream().mapToInt(Integer::intValue).sum()).isEqualTo(100);
    }
  }

  @Test
  void closedWorkersRefuseToRun() {
    ExpertWorkers workers = ExpertWorkers.start("closed-test", 2);
    workers.close();
    assertThatThrownBy(() -> workers.run(new Recording(), 1, new float[HIDDEN], new float[HIDDEN]))
        .hasMessageContaining("closed");
    assertThatThrownBy(() -> ExpertWorkers.start("x", 0)).hasMessageContaining(">= 1");
    assertThat(ExpertWorkers.shareOfCores(1)).isEqualTo(Runtime.getRuntime().availableProcessors());
    assertThat(ExpertWorkers.shareOfCores(10_000)).isEqualTo(1);
  }

  @Test
  void onceWarmARunAllocatesNothingOnAnyThread() {
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    ExpertFfn copy = ExpertFfn.identity(HIDDEN);
    ExpertFfn[] experts = {copy, copy, copy};
    int[] first = {0, 100, 200};
    int[] rows = {100, 100, 64};
    float[] x = new float[264 * HIDDEN];
    float[] y = new float[x.length];
    try (ExpertWorkers workers = ExpertWorkers.start("alloc-test", 3)) {
      for (int i = 0; i < 20_000; i++) {
        workers.run(experts, first, rows, 3, HIDDEN, x, y);
      }
      long[] ids = workerThreadIds("alloc-test");
      long before = allocated(threads, ids);
      for (int i = 0; i < 1000; i++) {
        workers.run(experts, first, rows, 3, HIDDEN, x, y);
      }
      // less than a byte per run: only the counter's own result array (40 bytes) shows up
      assertThat(allocated(threads, ids) - before).isLessThan(1000);
    }
  }

  private static long[] workerThreadIds(String name) {
    List<Long> ids = new ArrayList<>();
    ids.add(Thread.currentThread().getId());
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().startsWith(name)) {
        ids.add(t.getId());
      }
    }
    assertThat(ids).hasSize(3);
    return ids.stream().mapToLong(Long::longValue).toArray();
  }

  private static long allocated(com.sun.management.ThreadMXBean threads, long[] ids) {
    long sum = 0;
    for (long a : threads.getThreadAllocatedBytes(ids)) {
      sum += a;
    }
    return sum;
  }

  /** An expert that records the row counts it was called with, and computes nothing. */
  private static class Recording extends IdentityExpert {
    final List<Integer> rows = Collections.synchronizedList(new ArrayList<>());

    Recording() {
      super(HIDDEN);
    }

    @Override
    public void forward(float[] x, int xOffset, int rows, float[] y, int yOffset, float[] scratch) {
      this.rows.add(rows);
    }
  }
}
