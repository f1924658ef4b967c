package io.moeflux.eplb.rebalance;

import io.moeflux.eplb.policy.BalancedPolicy;
import io.moeflux.eplb.policy.PlacementPolicy;
import java.util.Objects;

/**
 * How the online balancer decides.
 *
 * <p>Immutable; made by {@link #builder()} (defaults listed on {@link Builder}) or {@link
 * #defaults()}, and changed through {@link #toBuilder()}. Two options are equal when their policy
 * (by the policy's own {@code equals}) and thresholds are.
 */
public final class RebalanceOptions {
  private final PlacementPolicy policy;
  private final double balancedEnough;
  private final double minimumGain;

  private RebalanceOptions(Builder b) {
    this.policy = b.policy;
    this.balancedEnough = b.balancedEnough;
    this.minimumGain = b.minimumGain;
  }

  /** A builder holding the defaults listed on {@link Builder}. */
  public static Builder builder() {
    return new Builder();
  }

  /** The {@link Builder} defaults. */
  public static RebalanceOptions defaults() {
    return builder().build();
  }

  /** A builder holding these options' values. */
  public Builder toBuilder() {
    return new Builder().policy(policy).balancedEnough(balancedEnough).minimumGain(minimumGain);
  }

  /** The placement policy. */
  public PlacementPolicy policy() {
    return policy;
  }

  /**
   * Skip planning when the window's mean balancedness is at least this (users ask not to pay for a
   * rebalance when balance is already good).
   */
  public double balancedEnough() {
    return balancedEnough;
  }

  /**
   * A plan is migrated for only when its mean balancedness beats the placement in force's, both
   * scored on the same snapshot, by at least this (and by more than 0).
   */
  public double minimumGain() {
    return minimumGain;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RebalanceOptions r
        && policy.equals(r.policy)
        && Double.compare(balancedEnough, r.balancedEnough) == 0
        && Double.compare(minimumGain, r.minimumGain) == 0;
  }

  @Override
  public int hashCode() {
    return Objects.hash(policy, balancedEnough, minimumGain);
  }

  @Override
  public String toString() {
    return "RebalanceOptions[policy="
        + policy
        + ", balancedEnough="
        + balancedEnough
        + ", minimumGain="
        + minimumGain
        + "]";
  }

  /**
   * Collects {@link RebalanceOptions}. Defaults: {@link BalancedPolicy} (weighted shares),
   * balancedEnough 0.95, minimumGain 0.01.
   */
  public static final class Builder {
    private PlacementPolicy policy = new BalancedPolicy();
    private double balancedEnough = 0.95;
    private double minimumGain = 0.01;

    private Builder() {}

    /** The placement policy; default a {@link BalancedPolicy}. */
    public Builder policy(PlacementPolicy policy) {
      this.policy = Objects.requireNonNull(policy, "policy");
      return this;
    }

    /** Mean balancedness, in (0, 1], at which planning is skipped; default 0.95. */
    public Builder balancedEnough(double balancedEnough) {
      this.balancedEnough = balancedEnough;
      return this;
    }

    /**
     * Smallest gain in mean balancedness over the placement in force, on the same snapshot, {@code
     * >= 0}, worth a switch; default 0.01.
     */
    public Builder minimumGain(double minimumGain) {
      this.minimumGain = minimumGain;
      return this;
    }

    /**
     * @throws IllegalArgumentException naming the field that is out of range
     */
    public RebalanceOptions build() {
      if (!(balancedEnough > 0 && balancedEnough <= 1)) {
        throw new IllegalArgumentException(
            "balancedEnough must be in (0, 1], got " + balancedEnough);
      }
      if (!(minimumGain >= 0)) {
        throw new IllegalArgumentException("minimumGain must be >= 0, got " + minimumGain);
      }
      return new RebalanceOptions(this);
    }
  }
}
