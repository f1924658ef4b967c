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

  /** The step times of two groups that ran the same steps, and the tokens each carried. */
  public record Alternation(Percentiles first, Percentiles second, long tokens) {}

  /**
   * Runs steps {@code 0 .. steps-1} of {@code workload} on both groups, {@link #ALTERNATION_BLOCK}
   * steps at a time each, {@code first} then {@code second}, so that both see the same machine.
   */
  public static Alternation alternate(
      MoeGroup first, MoeGroup second, SyntheticWorkload workload, int steps) {
    long[] firstTimes = new long[steps];
    long[] secondTimes = new long[steps];
    long tokens = 0;
    for (int from = 0; from < steps; from += ALTERNATION_BLOCK) {
      int count = Math.min(ALTERNATION_BLOCK, steps - from);
      run(first, workload, from, count, firstTimes);
      tokens += run(second, workload, from, count, secondTimes);
    }
    return new Alternation(
        new Percentiles(firstTimes, steps), new Percentiles(secondTimes, steps), tokens);
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
