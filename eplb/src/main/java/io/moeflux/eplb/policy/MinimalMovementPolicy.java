package io.moeflux.eplb.policy;

import java.util.Objects;

/**
 * Prefers keeping experts where they are: the {@link BalancedPolicy} with a tolerance, so that a
 * plan up to {@code tolerance} less balanced (absolute, per layer) than the best one found wins
 * when it moves fewer expert copies from the current placement, which the problem must give.
 */
public final class MinimalMovementPolicy implements PlacementPolicy {
  private final BalancedPolicy policy;

  /**
   * @param tolerance how much balancedness (absolute, per layer) to give up for fewer moves, in
   *     {@code [0, 1)}
   */
  public MinimalMovementPolicy(double tolerance, ShareMode shares) {
    this.policy = BalancedPolicy.builder().shares(shares).tolerance(tolerance).build();
  }

  @Override
  public PlacementPlan plan(PlacementProblem problem) {
    Objects.requireNonNull(problem, "problem");
    if (problem.current() == null) {
      throw new IllegalArgumentException("the minimal-movement policy needs the current placement");
    }
    return policy.plan(problem);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof MinimalMovementPolicy m && policy.equals(m.policy);
  }

  @Override
  public int hashCode() {
    return policy.hashCode();
  }

  @Override
  public String toString() {
    return "MinimalMovementPolicy[" + policy + "]";
  }
}
