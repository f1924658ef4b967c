package io.moeflux.eplb.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class PlacementPolicyTest {
  /** DeepSeek EPLB's README example: 2 layers, 12 experts, 16 slots, 4 groups, 2 nodes, 8 ranks. */
  static final double[][] README_LOAD = {
    {90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86},
    {20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27}
  };

  /** How many of {@link #randomShapes()} the builder refuses (seed 11). */
  private static final int REFUSED_RANDOM_SHAPES = 11;

  static final PlacementProblem README =
      PlacementProblem.builder(README_LOAD).replicas(16).ranks(8).groups(4).nodes(2).build();

  @Test
  void theDeepSeekPortReproducesItsReadmeFigures() {
    PlacementPlan plan = new DeepSeekPolicy().plan(README);
    assertThat(plan.balancedness()[0]).isCloseTo(0.83, within(0.01));
    assertThat(plan.balancedness()[1]).isCloseTo(0.81, within(0.01));
  }

  @Test
  void theBalancedPolicyBeatsDeepSeekOnItsOwnExample() {
    PlacementPlan deepSeek = new DeepSeekPolicy().plan(README);
    PlacementPlan ours = new BalancedPolicy().plan(README);
    PlanValidator.validate(README, ours);
    for (int l = 0; l < 2; l++) {
      assertThat(ours.balancedness()[l]).isGreaterThanOrEqualTo(deepSeek.balancedness()[l]);
    }
    assertThat(ours.meanBalancedness()).isGreaterThan(deepSeek.meanBalancedness());
  }

  /**
   * 60 random shapes, some of which the builder refuses (more slots per rank than a node has
   * experts): each entry is the problem, or the refusal.
   */
  private static List<Object> randomShapes() {
    SplittableRandom random = new SplittableRandom(11);
    List<Object> shapes = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      int ranks = 1 + random.nextInt(16);
      int nodes = 0;
      int groups = 0;
      int experts = 4 + random.nextInt(61);
      if (random.nextBoolean()) {
        nodes = divisorOf(ranks, random);
        groups = nodes * (1 + random.nextInt(4));
        experts = groups * Math.max(1, experts / groups);
      }
      int spare = ranks * random.nextInt(3);
      int replicas = ((experts + ranks - 1) / ranks) * ranks + spare;
      replicas = Math.min(replicas, experts * (ranks / Math.max(1, nodes)) * Math.max(1, nodes));
      double[][] load = new double[1 + random.nextInt(4)][experts];
      int hot = random.nextInt(experts);
      for (double[] layer : load) {
        for (int e = 0; e < experts; e++) {
          layer[e] = random.nextInt(5) == 0 ? 0 : random.nextDouble() * 100;
        }
        layer[hot] *= 1 + random.nextInt(20);
      }
      try {
        shapes.add(
            PlacementProblem.builder(load)
                .replicas(replicas)
                .ranks(ranks)
                .groups(groups)
                .nodes(nodes)
                .build());
      } catch (IllegalArgumentException infeasible) {
        shapes.add(infeasible);
      }
    }
    return shapes;
  }

  static Stream<Arguments> randomProblems() {
    return randomShapes().stream().filter(PlacementProblem.class::isInstance).map(Arguments::of);
  }

  /**
   * The property below runs only on the shapes the builder accepts: count the others, so that a
   * generator (or a builder) that refuses more shapes than before shows here instead of shrinking
   * the property test in silence.
   */
  @Test
  void mostRandomShapesAreFeasibleAndEveryRefusalSaysWhy() {
    List<Object> shapes = randomShapes();
    List<IllegalArgumentException> refused =
        shapes.stream()
            .filter(IllegalArgumentException.class::isInstance)
            .map(IllegalArgumentException.class::cast)
            .toList();
    assertThat(shapes).hasSize(60);
    assertThat(refused).as("refused shapes: %s", refused).hasSize(REFUSED_RANDOM_SHAPES);
    // the generator's only infeasible shapes: a node with fewer experts than slots per rank
    assertThat(refused)
        .allSatisfy(
            error ->
                assertThat(error)
                    .hasMessageContaining("without two replicas of one expert on a rank"));
  }

  private static int divisorOf(int n, SplittableRandom random) {
    List<Integer> divisors = new ArrayList<>();
    for (int d = 1; d <= n; d++) {
      if (n % d == 0) {
        divisors.add(d);
      }
    }
    return divisors.get(random.nextInt(divisors.size()));
  }

  @ParameterizedTest
  @MethodSource("randomProblems")
  void balancedPlansAreValidAndNeverWorseThanDeepSeek(PlacementProblem problem) {
    PlacementPlan ours = new BalancedPolicy().plan(problem);
    PlanValidator.validate(problem, ours);
    PlacementPlan deepSeek = new DeepSeekPolicy().plan(problem);
    for (int l = 0; l < problem.layers(); l++) {
      if (!distinctPerRank(deepSeek.phy2log()[l], problem.slotsPerRank())) {
        continue; // DeepSeek broke the one-replica-per-rank rule here: not a comparable plan
      }
      assertThat(ours.balancedness()[l])
          .as("layer %d", l)
          .isGreaterThanOrEqualTo(deepSeek.balancedness()[l] - 1e-12);
    }
  }

  static boolean distinctPerRank(int[] phy2log, int slotsPerRank) {
    for (int r = 0; r < phy2log.length / slotsPerRank; r++) {
      java.util.Set<Integer> seen = new java.util.HashSet<>();
      for (int i = 0; i < slotsPerRank; i++) {
        if (!seen.add(phy2log[r * slotsPerRank + i])) {
          return false;
        }
      }
    }
    return true;
  }

  @Test
  void minimalMovementMovesLessAndStaysWithinTolerance() {
    SplittableRandom random = new SplittableRandom(5);
    double[][] load = new double[3][32];
    for (double[] layer : load) {
      for (int e = 0; e < 32; e++) {
        layer[e] = 10 + random.nextDouble() * 100;
      }
      layer[3] = 900;
    }
    int[][] current = new int[3][40];
    for (int[] layer : current) {
      for (int s = 0; s < 40; s++) {
        layer[s] = (s / 5 * 4 + s % 5) % 32;
      }
    }
    PlacementProblem problem =
        PlacementProblem.builder(load)
            .replicas(40)
            .ranks(8)
            .current(io.moeflux.pipeline.model.Placement.of(current, 32, 8, 0))
            .build();
    PlacementPlan best = new BalancedPolicy().plan(problem);
    PlacementPlan minimal = new MinimalMovementPolicy(0.05, ShareMode.WEIGHTED).plan(problem);
    PlanValidator.validate(problem, minimal);
    long bestBytes = MigrationCost.bytesToMove(current, best.phy2log(), 8, 1);
    long minimalBytes = MigrationCost.bytesToMove(current, minimal.phy2log(), 8, 1);
    assertThat(minimalBytes).isLessThan(bestBytes);
    for (int l = 0; l < 3; l++) {
      assertThat(minimal.balancedness()[l]).isGreaterThanOrEqualTo(best.balancedness()[l] - 0.05);
    }
  }

  @Test
  void badProblemsSayWhatIsWrong() {
    assertThatThrownBy(() -> PlacementProblem.builder(new double[0][]).replicas(4).ranks(2).build())
        .hasMessageContaining("empty");
    assertThatThrownBy(
            () ->
                PlacementProblem.builder(new double[][] {{1, 2}, {1}}).replicas(4).ranks(2).build())
        .hasMessageContaining("ragged");
    assertThatThrownBy(
            () -> PlacementProblem.builder(new double[][] {{1, -2}}).replicas(4).ranks(2).build())
        .hasMessageContaining("non-negative");
    assertThatThrownBy(
            () ->
                PlacementProblem.builder(new double[][] {{1, Double.NaN}})
                    .replicas(4)
                    .ranks(2)
                    .build())
        .hasMessageContaining("non-negative");
    assertThatThrownBy(
            () -> PlacementProblem.builder(new double[][] {{1, 2, 3}}).replicas(2).ranks(2).build())
        .hasMessageContaining("at least the number of experts");
    assertThatThrownBy(
            () -> PlacementProblem.builder(new double[][] {{1, 2, 3}}).replicas(5).ranks(2).build())
        .hasMessageContaining("multiple of ranks");
    assertThatThrownBy(
            () ->
                PlacementProblem.builder(new double[][] {{1, 2, 3}})
                    .replicas(4)
                    .ranks(2)
                    .groups(2)
                    .build())
        .hasMessageContaining("must divide the number of experts");
    assertThatThrownBy(
            () ->
                PlacementProblem.builder(new double[][] {{1, 2, 3, 4}})
                    .replicas(6)
                    .ranks(3)
                    .groups(2)
                    .nodes(2)
                    .build())
        .hasMessageContaining("must divide ranks");
  }

  @Test
  void theValidatorNamesTheFirstViolation() {
    PlacementProblem problem =
        PlacementProblem.builder(new double[][] {{1, 2, 3, 4}}).replicas(4).ranks(2).build();
    assertThatThrownBy(
            () ->
                PlanValidator.validate(
                    problem, PlacementPlan.of(problem, new int[][] {{0, 0, 1, 2}})))
        .hasMessageContaining("layer 0 has no slot for logical expert 3");
    PlacementProblem spare =
        PlacementProblem.builder(new double[][] {{1, 2, 3, 4}}).replicas(6).ranks(2).build();
    assertThatThrownBy(
            () ->
                PlanValidator.validate(
                    spare, PlacementPlan.of(spare, new int[][] {{0, 0, 1, 2, 3, 1}})))
        .hasMessageContaining("rank 0 holds two replicas of expert 0");
    assertThatThrownBy(
            () ->
                PlanValidator.validate(
                    spare,
                    PlacementPlan.of(
                        spare,
                        new int[][] {{0, 1, 2, 3, 0, 1}},
                        new int[][] {{100, 256, 256, 256, 100, 0}})))
        .hasMessageContaining("the shares of expert 0 sum to 200/256");
  }
}
