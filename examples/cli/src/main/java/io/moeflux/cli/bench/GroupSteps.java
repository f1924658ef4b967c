package io.moeflux.cli.bench;

import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.workload.SyntheticWorkload;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import reactor.core.publisher.Flux;

/**
 * Runs a block of steps on a group and records each step's wall time (from one step's outputs to
 * the next's). Benchmarks that compare two groups alternate blocks, so both see the same machine.
 */
public final class GroupSteps {
  /** Steps a group runs before the other group's turn, when two groups alternate. */
  public static final int ALTERNATION_BLOCK = 50;

  private GroupSteps() {}

  /**
   * Runs steps {@code 0 .. steps-1} of {@code workload} on both groups, {@link #ALTERNATION_BLOCK}
   * steps at a time each, first {@code a} then {@code b}, so that both see the same machine; writes
   * each group's step times to its array. Returns the tokens each group carried, over all ranks.
   */
  public static long alternate(
      MoeGroup a, MoeGroup b, SyntheticWorkload workload, int steps, long[] aTimes, long[] bTimes) {
    long tokens = 0;
    for (int first = 0; first < steps; first += ALTERNATION_BLOCK) {
      int count = Math.min(ALTERNATION_BLOCK, steps - first);
      run(a, workload, first, count, aTimes);
      tokens += run(b, workload, first, count, bTimes);
    }
    return tokens;
  }

  /**
   * Runs steps {@code first .. first+count-1} of {@code workload} (batches made before the clock
   * starts) and writes their times, in nanoseconds, to {@code times[first ..]}. Returns the tokens
   * the block carried, over all ranks.
   */
  public static long run(
      MoeGroup group, SyntheticWorkload workload, int first, int count, long[] times) {
    List<Flux<TokenBatch>> inputs = new ArrayList<>();
    long tokens = 0;
    for (int r = 0; r < group.size(); r++) {
      List<TokenBatch> batches = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        TokenBatch batch = workload.batch(r, first + i);
        tokens += batch.tokens();
        batches.add(batch);
      }
      inputs.add(Flux.fromIterable(batches));
    }
    long[] last = {System.nanoTime()};
    int[] index = {first};
    group
        .forward(inputs)
        .doOnNext(
            outputs -> {
              long now = System.nanoTime();
              times[index[0]++] = now - last[0];
              last[0] = now;
            })
        .blockLast(Duration.ofMinutes(5));
    return tokens;
  }
}
