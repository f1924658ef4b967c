package io.moeflux.cli.bench;

import io.moeflux.pipeline.checkpoint.ExpertTensors;
import io.moeflux.pipeline.checkpoint.StoredTensor;
import io.moeflux.pipeline.checkpoint.TensorDtype;
import io.moeflux.pipeline.family.StoredExpert;
import io.moeflux.pipeline.kernel.ExpertKernel;
import io.moeflux.pipeline.model.ExpertFfn;
import io.moeflux.pipeline.model.ExpertWorkers;
import io.moeflux.pipeline.model.RowMath;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * One rank's expert phase without the network, as {@code bench experts} times it: gather each
 * expert's rows (a counting sort of the picks, then a copy of each token's row per pick), run every
 * expert that received rows on the {@link ExpertWorkers}, and add each pick's output, times its
 * weight, back into its token ({@link RowMath}, k ascending, as the pipeline does). Experts are
 * checkpoint experts ({@link StoredExpert}) of random weights in the chosen precision, uniform in
 * {@code ±1/sqrt(fan_in)}; nothing is allocated per step.
 */
public final class ExpertStep {
  private final int hidden;
  private final long expertBytes;
  private final UniformPicks picks;
  private final ExpertFfn[] experts;
  private final float[] x;
  private final float[] y;
  private final float[] rowsIn;
  private final float[] rowsOut;
  private final int[] count;
  private final int[] first;
  private final int[] fill;
  private final int[] rowOf;

  public ExpertStep(
      ExpertKernel kernel,
      TensorDtype dtype,
      int hidden,
      int intermediate,
      int experts,
      UniformPicks picks,
      long seed) {
    this.hidden = hidden;
    this.expertBytes = 3L * hidden * intermediate * dtype.bytes();
    this.picks = picks;
    SplittableRandom random = new SplittableRandom(seed);
    this.experts = new ExpertFfn[experts];
    for (int e = 0; e < experts; e++) {
      this.experts[e] =
          new StoredExpert(
              new ExpertTensors(
                  matrix(random, dtype, intermediate, hidden),
                  matrix(random, dtype, intermediate, hidden),
                  matrix(random, dtype, hidden, intermediate)),
              kernel);
    }
    int tokens = picks.tokens();
    int choices = tokens * picks.topK();
    this.x = new float[tokens * hidden];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (random.nextDouble() * 2 - 1);
    }
    this.y = new float[tokens * hidden];
    this.rowsIn = new float[choices * hidden];
    this.rowsOut = new float[choices * hidden];
    this.count = new int[experts];
    this.first = new int[experts];
    this.fill = new int[experts];
    this.rowOf = new int[choices];
  }

  private static StoredTensor matrix(SplittableRandom random, TensorDtype dtype, int out, int in) {
    float[] values = new float[out * in];
    double scale = 1 / Math.sqrt(in);
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) ((random.nextDouble() * 2 - 1) * scale);
    }
    return StoredTensor.rounded(dtype, new long[] {out, in}, values);
  }

  /** Experts that receive at least one row. */
  public int activeExperts() {
    int active = 0;
    boolean[] seen = new boolean[experts.length];
    for (int t = 0; t < picks.tokens(); t++) {
      for (int k = 0; k < picks.topK(); k++) {
        if (!seen[picks.id(t, k)]) {
          seen[picks.id(t, k)] = true;
          active++;
        }
      }
    }
    return active;
  }

  /** Bytes of the stored weights of the experts that receive rows: what a step must read. */
  public long activeWeightBytes() {
    return expertBytes * activeExperts();
  }

  /** The tokens' outputs of the last step (for checks). */
  public float[] output() {
    return y;
  }

  /** One step: gather, experts, weighted sum back. */
  public void run(ExpertWorkers workers) {
    int tokens = picks.tokens();
    int topK = picks.topK();
    Arrays.fill(count, 0);
    for (int t = 0; t < tokens; t++) {
      for (int k = 0; k < topK; k++) {
        count[picks.id(t, k)]++;
      }
    }
    for (int e = 0, next = 0; e < experts.length; e++) {
      first[e] = next;
      fill[e] = next;
      next += count[e];
    }
    for (int t = 0; t < tokens; t++) {
      for (int k = 0; k < topK; k++) {
        int row = fill[picks.id(t, k)]++;
        rowOf[t * topK + k] = row;
        System.arraycopy(x, t * hidden, rowsIn, row * hidden, hidden);
      }
    }
    workers.run(experts, first, count, experts.length, hidden, rowsIn, rowsOut);
    for (int t = 0; t < tokens; t++) {
      int out = t * hidden;
      Arrays.fill(y, out, out + hidden, 0f);
      for (int k = 0; k < topK; k++) {
        RowMath.accumulateWeighted(
            y, out, picks.weight(t, k), rowsOut, rowOf[t * topK + k] * hidden, hidden);
      }
    }
  }
}
