package io.moeflux.cli.bench;

import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.toggle.StepToggle;
import io.moeflux.pipeline.workload.SyntheticWorkload;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import reactor.core.publisher.Flux;

/**
 * One running group compares A with B: the thing compared is switched at run time by a {@link
 * StepToggle} every rank applies at the same step (A where it is off, B where it is on), in blocks
 * in the order A B B A. The stream starts with warm-up steps (blocks of both kinds, not measured),
 * then the measured blocks. Blocks {@code 2p} and {@code 2p+1} form pair p, one A and one B; both
 * carry the same batches (re-stamped with their own step ids), so a pair's ratio compares the two
 * arms on the same work, and with the ABBA order a drift over time lands on A first in half of the
 * pairs and on B first in the other half.
 *
 * <p>A step's time runs from the previous step's outputs to its own. A block's time is the sum of
 * its steps' times; a pair's ratio is its B block's time over its A block's.
 */
public final class AbbaSteps {
  /** What a run measured. */
  public record Result(
      long[] offTimes,
      int offSteps,
      long[] onTimes,
      int onSteps,
      double[] pairRatios,
      long tokensInOnSteps) {

    /** Percentiles of the measured steps with the thing off (A). */
    public Percentiles off() {
      return new Percentiles(offTimes, offSteps);
    }

    /** Percentiles of the measured steps with the thing on (B). */
    public Percentiles on() {
      return new Percentiles(onTimes, onSteps);
    }
  }

  private AbbaSteps() {}

  /** Warm-up steps rounded up to whole pairs of blocks, so that measuring starts with a pair. */
  public static int warmupSteps(StepToggle toggle, int atLeast) {
    int pair = 2 * toggle.blockSteps();
    return (atLeast + pair - 1) / pair * pair;
  }

  /** Measured steps rounded down to whole pairs of blocks (at least one pair). */
  public static int measuredSteps(StepToggle toggle, int atMost) {
    int pair = 2 * toggle.blockSteps();
    return Math.max(pair, atMost / pair * pair);
  }

  /**
   * Runs {@code warmup + measured} steps of {@code workload} on {@code group} (whose ranks switch
   * by {@code toggle}); both counts must be whole pairs of blocks ({@link #warmupSteps}, {@link
   * #measuredSteps}). Every batch is made before the clock starts.
   */
  public static Result run(
      MoeGroup group, SyntheticWorkload workload, StepToggle toggle, int warmup, int measured) {
    int block = toggle.blockSteps();
    if (block < 1 || warmup % (2 * block) != 0 || measured % (2 * block) != 0 || measured == 0) {
      throw new IllegalArgumentException(
          "warm-up ("
              + warmup
              + ") and measured steps ("
              + measured
              + ") must be whole pairs of blocks of "
              + block);
    }
    int steps = warmup + measured;
    long tokensInOnSteps = 0;
    List<Flux<TokenBatch>> inputs = new ArrayList<>();
    for (int r = 0; r < group.size(); r++) {
      List<TokenBatch> batches = new ArrayList<>(steps);
      for (int s = 0; s < steps; s++) {
        TokenBatch content =
            s % (2 * block) < block
                ? workload.batch(r, sameWorkAs(s, block))
                : batches.get(s - block);
        TokenBatch batch =
            TokenBatch.of(s, content.tokens(), content.hidden(), content.data(), content.prefill());
        tokensInOnSteps += toggle.isOn(s) ? batch.tokens() : 0;
        batches.add(batch);
      }
      inputs.add(Flux.fromIterable(batches));
    }
    long[] times = new long[steps];
    long[] last = {System.nanoTime()};
    int[] index = {0};
    group
        .forward(inputs)
        .doOnNext(
            outputs -> {
              long now = System.nanoTime();
              times[index[0]++] = now - last[0];
              last[0] = now;
            })
        .blockLast(Duration.ofMinutes(30));
    return result(times, toggle, warmup, measured, tokensInOnSteps);
  }

  /** The content step both blocks of {@code step}'s pair use: pair p runs steps p×block + i. */
  static long sameWorkAs(long step, int block) {
    long pair = step / (2L * block);
    return pair * block + step % block;
  }

  static Result result(
      long[] times, StepToggle toggle, int warmup, int measured, long tokensInOnSteps) {
    int block = toggle.blockSteps();
    long[] off = new long[measured];
    long[] on = new long[measured];
    int offSteps = 0;
    int onSteps = 0;
    double[] ratios = new double[measured / (2 * block)];
    for (int p = 0; p < ratios.length; p++) {
      long offSum = 0;
      long onSum = 0;
      for (int i = 0; i < 2 * block; i++) {
        int step = warmup + p * 2 * block + i;
        if (toggle.isOn(step)) {
          onSum += times[step];
          on[onSteps++] = times[step];
        } else {
          offSum += times[step];
          off[offSteps++] = times[step];
        }
      }
      ratios[p] = (double) onSum / offSum;
    }
    return new Result(off, offSteps, on, onSteps, ratios, tokensInOnSteps);
  }
}
