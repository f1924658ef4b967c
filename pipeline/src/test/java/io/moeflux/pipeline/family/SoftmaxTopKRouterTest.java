package io.moeflux.pipeline.family;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SoftmaxTopKRouterTest {
  private static final int H = 16;
  private static final int E = 8;
  private static final int K = 3;

  private static float[] random(SplittableRandom r, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (r.nextDouble() * 2 - 1);
    }
    return v;
  }

  /** softmax over every expert in double, then the top k, optionally renormalised. */
  private static void check(boolean renormalize) {
    SplittableRandom random = new SplittableRandom(renormalize ? 3 : 4);
    float[] w = random(random, E * H);
    int tokens = 20;
    float[] x = random(random, tokens * H);
    SoftmaxTopKRouter router = new SoftmaxTopKRouter(H, E, K, w, renormalize);
    int[] ids = new int[tokens * K];
    float[] weights = new float[tokens * K];
    router.route(x, tokens, ids, weights, new float[router.scratchLength()]);
    for (int t = 0; t < tokens; t++) {
      double[] p = new double[E];
      double sum = 0;
      for (int e = 0; e < E; e++) {
        double l = 0;
        for (int i = 0; i < H; i++) {
          l += (double) x[t * H + i] * w[e * H + i];
        }
        p[e] = Math.exp(l);
        sum += p[e];
      }
      Integer[] order = {0, 1, 2, 3, 4, 5, 6, 7};
      double[] probs = p.clone();
      double total = sum;
      Arrays.sort(order, (a, b) -> Double.compare(probs[b], probs[a]));
      double chosen = 0;
      for (int k = 0; k < K; k++) {
        chosen += p[order[k]] / total;
      }
      for (int k = 0; k < K; k++) {
        assertThat(ids[t * K + k]).isEqualTo(order[k]);
        double expected = p[order[k]] / total / (renormalize ? chosen : 1);
        assertThat((double) weights[t * K + k]).isCloseTo(expected, offset(1e-6));
      }
    }
  }

  @Test
  void theTopKOfTheSoftmaxRenormalised() {
    check(true);
  }

  @Test
  void theTopKOfTheSoftmaxAsTheyAre() {
    check(false);
  }

  @Test
  void tiesGoToTheLowerIdAndTokensDoNotInfluenceEachOther() {
    SplittableRandom random = new SplittableRandom(9);
    float[] w = random(random, E * H);
    // experts 2 and 5 have the same gate row: always tied, 2 first
    System.arraycopy(w, 2 * H, w, 5 * H, H);
    for (int i = 0; i < H; i++) {
      w[2 * H + i] *= 4;
      w[5 * H + i] = w[2 * H + i];
    }
    SoftmaxTopKRouter router = new SoftmaxTopKRouter(H, E, 2, w, true);
    int tokens = 9;
    float[] x = random(random, tokens * H);
    int[] ids = new int[tokens * 2];
    float[] weights = new float[tokens * 2];
    float[] scratch = new float[router.scratchLength()];
    router.route(x, tokens, ids, weights, scratch);
    int[] one = new int[2];
    float[] oneWeight = new float[2];
    for (int t = 0; t < tokens; t++) {
      if (ids[t * 2] == 2 || ids[t * 2] == 5) {
        assertThat(ids[t * 2]).isEqualTo(2);
        assertThat(ids[t * 2 + 1]).isEqualTo(5);
        assertThat(weights[t * 2]).isEqualTo(weights[t * 2 + 1]);
      }
      router.route(Arrays.copyOfRange(x, t * H, (t + 1) * H), 1, one, oneWeight, scratch);
      assertThat(one).containsExactly(ids[t * 2], ids[t * 2 + 1]);
      assertThat(oneWeight).containsExactly(weights[t * 2], weights[t * 2 + 1]);
    }
  }
}
