package io.moeflux.pipeline.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RouterTest {
  private static final int TOKENS = 400;

  private final ModelConfig config = ModelConfig.builder().hidden(32).experts(16).topK(4).build();

  private static float[] randomHidden(ModelConfig c, int tokens, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    float[] x = new float[tokens * c.hidden()];
    for (int n = 0; n < x.length; n++) {
      x[n] = (float) (random.nextDouble() * 4 - 2);
    }
    return x;
  }

  private static final class Routes {
    final int[] ids;
    final float[] weights;

    Routes(Router router, float[] x, int tokens) {
      ids = new int[tokens * router.topK()];
      weights = new float[tokens * router.topK()];
      router.route(x, tokens, ids, weights, new float[router.scratchLength()]);
    }
  }

  /** Softmax probabilities in double, from the router's own gate weights and bias. */
  private static double[] probabilities(Router router, float[] x, int t) {
    int e = router.experts();
    int h = router.hidden();
    double[] p = new double[e];
    double max = Double.NEGATIVE_INFINITY;
    for (int n = 0; n < e; n++) {
      double logit = router.bias(n);
      for (int i = 0; i < h; i++) {
        logit += (double) x[t * h + i] * router.gateWeight(i, n);
      }
      p[n] = logit;
      max = Math.max(max, logit);
    }
    double sum = 0;
    for (int n = 0; n < e; n++) {
      p[n] = Math.exp(p[n] - max);
      sum += p[n];
    }
    for (int n = 0; n < e; n++) {
      p[n] /= sum;
    }
    return p;
  }

  @Test
  void routingIsDeterministic() {
    float[] x = randomHidden(config, TOKENS, 1);
    Routes a = new Routes(Router.of(config, 1), x, TOKENS);
    Routes b = new Routes(Router.of(config, 1), x, TOKENS);
    assertThat(a.ids).isEqualTo(b.ids);
    assertThat(ExpertFfnTest.bits(a.weights)).isEqualTo(ExpertFfnTest.bits(b.weights));
    Routes otherLayer = new Routes(Router.of(config, 0), x, TOKENS);
    assertThat(otherLayer.ids).isNotEqualTo(a.ids);
  }

  @Test
  void idsAreDistinctAndWeightsSumToOne() {
    float[] x = randomHidden(config, TOKENS, 2);
    Routes routes = new Routes(Router.of(config, 0), x, TOKENS);
    int k = config.topK();
    for (int t = 0; t < TOKENS; t++) {
      Set<Integer> ids = new HashSet<>();
      float sum = 0;
      for (int c = 0; c < k; c++) {
        assertThat(routes.ids[t * k + c]).isBetween(0, config.experts() - 1);
        ids.add(routes.ids[t * k + c]);
        assertThat(routes.weights[t * k + c]).isPositive();
        sum += routes.weights[t * k + c];
      }
      assertThat(ids).hasSize(k);
      assertThat(sum).isCloseTo(1f, offset(1e-6f));
    }
  }

  @Test
  void picksTheLargestProbabilitiesInDescendingOrder() {
    Router router = Router.of(config.toBuilder().gateSkew(0.7).build(), 1);
    float[] x = randomHidden(config, TOKENS, 3);
    Routes routes = new Routes(router, x, TOKENS);
    int k = config.topK();
    for (int t = 0; t < TOKENS; t++) {
      double[] p = probabilities(router, x, t);
      boolean[] chosen = new boolean[p.length];
      double chosenSum = 0;
      for (int c = 0; c < k; c++) {
        int id = routes.ids[t * k + c];
        chosen[id] = true;
        chosenSum += p[id];
        if (c > 0) {
          assertThat(p[id]).isLessThanOrEqualTo(p[routes.ids[t * k + c - 1]] + 1e-6);
        }
      }
      double smallestChosen = p[routes.ids[t * k + k - 1]];
      for (int n = 0; n < p.length; n++) {
        if (!chosen[n]) {
          assertThat(p[n])
              .as("token %d expert %d", t, n)
              .isLessThanOrEqualTo(smallestChosen + 1e-6);
        }
      }
      for (int c = 0; c < k; c++) {
        assertThat((double) routes.weights[t * k + c])
            .isCloseTo(p[routes.ids[t * k + c]] / chosenSum, offset(1e-5));
      }
    }
  }

  @Test
  void tiesGoToTheLowerId() {
    ModelConfig c = config.toBuilder().topK(3).build();
    float[] zeros = new float[2 * c.hidden()];
    Routes routes = new Routes(Router.of(c, 0), zeros, 2);
    assertThat(routes.ids).containsExactly(0, 1, 2, 0, 1, 2);
    for (float w : routes.weights) {
      assertThat(w).isCloseTo(1f / 3, offset(1e-7f));
    }
  }

  @Test
  void groupedTopKOnlyPicksFromTheKeptGroups() {
    ModelConfig grouped = config.toBuilder().groups(4).topkGroups(2).build();
    Router router = Router.of(grouped, 0);
    float[] x = randomHidden(grouped, TOKENS, 4);
    Routes routes = new Routes(router, x, TOKENS);
    Routes plain = new Routes(Router.of(config, 0), x, TOKENS);
    int k = grouped.topK();
    int perGroup = grouped.expertsPerGroup();
    int differsFromPlain = 0;
    for (int t = 0; t < TOKENS; t++) {
      double[] p = probabilities(router, x, t);
      Integer[] order = {0, 1, 2, 3};
      double[] score = new double[4];
      for (int g = 0; g < 4; g++) {
        double[] members = Arrays.copyOfRange(p, g * perGroup, (g + 1) * perGroup);
        Arrays.sort(members);
        score[g] = members[perGroup - 1] + members[perGroup - 2];
      }
      Arrays.sort(order, (a, b) -> Double.compare(score[b], score[a]));
      Set<Integer> groupsUsed = new HashSet<>();
      for (int c = 0; c < k; c++) {
        groupsUsed.add(routes.ids[t * k + c] / perGroup);
      }
      assertThat(groupsUsed.size()).isLessThanOrEqualTo(2);
      if (score[order[1]] - score[order[2]] > 1e-6) {
        assertThat(Set.of(order[0], order[1])).containsAll(groupsUsed);
      }
      if (!Arrays.equals(
          Arrays.copyOfRange(routes.ids, t * k, t * k + k),
          Arrays.copyOfRange(plain.ids, t * k, t * k + k))) {
        differsFromPlain++;
      }
    }
    assertThat(differsFromPlain).as("grouping changes some routes").isPositive();
  }

  @Test
  void singleExpertGroupsScoreByTheirOnlyProbability() {
    ModelConfig c = config.toBuilder().topK(2).groups(16).topkGroups(2).build();
    float[] x = randomHidden(c, TOKENS, 5);
    Routes grouped = new Routes(Router.of(c, 0), x, TOKENS);
    Routes plain =
        new Routes(Router.of(c.toBuilder().groups(0).topkGroups(0).build(), 0), x, TOKENS);
    assertThat(grouped.ids).isEqualTo(plain.ids);
  }

  @Test
  void skewMakesLowRankExpertsHotter() {
    ModelConfig skewed = config.toBuilder().topK(2).gateSkew(1.5).build();
    Router router = Router.of(skewed, 1);
    int e = skewed.experts();
    Set<Integer> ranks = new HashSet<>();
    boolean permuted = false;
    for (int n = 0; n < e; n++) {
      ranks.add(router.skewRank(n));
      permuted |= router.skewRank(n) != n;
      assertThat(router.bias(n))
          .isEqualTo((float) (-1.5 * Math.log(1 + router.skewRank(n))), offset(1e-6f));
    }
    assertThat(ranks).hasSize(e);
    assertThat(permuted).as("hot experts are not simply 0, 1, 2").isTrue();

    float[] x = randomHidden(skewed, 2000, 6);
    long[] skewedLoad = loadByRank(router, new Routes(router, x, 2000));
    long[] flatLoad =
        loadByRank(
            router, new Routes(Router.of(skewed.toBuilder().gateSkew(0).build(), 1), x, 2000));
    long hot = skewedLoad[0] + skewedLoad[1] + skewedLoad[2] + skewedLoad[3];
    long cold = skewedLoad[12] + skewedLoad[13] + skewedLoad[14] + skewedLoad[15];
    assertThat(hot).isGreaterThan(5 * cold);
    assertThat(skewedLoad[0]).isGreaterThan(flatLoad[0]);
    assertThat(skewedLoad[15]).isLessThan(flatLoad[15]);
  }

  private static long[] loadByRank(Router router, Routes routes) {
    long[] load = new long[router.experts()];
    for (int id : routes.ids) {
      load[router.skewRank(id)]++;
    }
    return load;
  }

  @Test
  void zeroTokensWritesNothing() {
    Router router = Router.of(config, 0);
    int[] ids = new int[2 * config.topK()];
    float[] weights = new float[2 * config.topK()];
    Arrays.fill(ids, -7);
    Arrays.fill(weights, -7f);
    router.route(
        new float[2 * config.hidden()], 0, ids, weights, new float[router.scratchLength()]);
    assertThat(ids).containsOnly(-7);
    assertThat(weights).containsOnly(-7f);
  }

  @Test
  void rejectsBadArguments() {
    Router router = Router.of(config, 0);
    float[] x = new float[2 * config.hidden()];
    int[] ids = new int[2 * config.topK()];
    float[] w = new float[2 * config.topK()];
    float[] scratch = new float[router.scratchLength()];
    assertThatThrownBy(() -> router.route(x, 3, new int[12], new float[12], scratch))
        .hasMessage("hidden has 64 elements, needs at least 96");
    assertThatThrownBy(() -> router.route(x, 2, new int[7], w, scratch))
        .hasMessage("topkIds has 7 elements, needs at least 8");
    assertThatThrownBy(() -> router.route(x, 2, ids, new float[1], scratch))
        .hasMessage("topkWeights has 1 elements, needs at least 8");
    assertThatThrownBy(() -> router.route(x, 2, ids, w, new float[1]))
        .hasMessage("scratch has 1 elements, needs at least " + router.scratchLength());
    assertThatThrownBy(() -> router.route(x, -1, ids, w, scratch))
        .hasMessage("first and tokens must be >= 0, got 0 and -1");
    assertThatThrownBy(() -> Router.of(config, 2)).isInstanceOf(IndexOutOfBoundsException.class);
  }
}
