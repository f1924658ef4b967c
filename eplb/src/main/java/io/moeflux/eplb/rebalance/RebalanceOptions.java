package io.moeflux.eplb.rebalance;

import io.moeflux.eplb.policy.BalancedPolicy;
import io.moeflux.eplb.policy.PlacementPolicy;
import java.util.Objects;

/**
 * How the online balancer decides.
 *
 * @param policy the placement policy
 * @param balancedEnough skip planning when the window's mean balancedness is at least this (users
 *     ask not to pay for a rebalance when balance is already good)
 * @param minimumGain plan only switches when it raises mean balancedness by at least this
 */
public record RebalanceOptions(PlacementPolicy policy, double balancedEnough, double minimumGain) {
  public RebalanceOptions {
    Objects.requireNonNull(policy, "policy");
    if (!(balancedEnough > 0 && balancedEnough <= 1)) {
      throw new IllegalArgumentException("balancedEnough must be in (0, 1], got " + balancedEnough);
    }
    if (!(minimumGain >= 0)) {
      throw new IllegalArgumentException("minimumGain must be >= 0, got " + minimumGain);
    }
  }

  public static RebalanceOptions defaults() {
    return new RebalanceOptions(new BalancedPolicy(), 0.95, 0.01);
  }
}
