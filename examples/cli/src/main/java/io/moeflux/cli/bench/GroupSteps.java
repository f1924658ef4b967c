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
  private GroupSteps() {}

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
