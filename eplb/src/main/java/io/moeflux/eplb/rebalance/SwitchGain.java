package io.moeflux.eplb.rebalance;

import io.moeflux.eplb.policy.Balancedness;
import io.moeflux.pipeline.model.Placement;
import java.util.Arrays;
import java.util.Objects;

/**
 * What switching from the placement in force to a planned one gains, both scored on the same
 * snapshot's load with their own shares: the mean over layers of balancedness (mean/max of tokens
 * per rank). A plan that only reorders slots within ranks gains exactly 0.
 *
 * @param current the placement in force, scored on the load
 * @param planned the planned placement, scored on the same load
 * @param sameSlotsPerRank whether every rank would hold the same replicas with the same shares
 */
public record SwitchGain(double current, double planned, boolean sameSlotsPerRank) {

  /** Scores {@code now} and {@code next} on {@code load} ({@code [layers × logical experts]}). */
  public static SwitchGain of(double[][] load, Placement now, Placement next) {
    Objects.requireNonNull(load, "load");
    double current = balancedness(load, now);
    boolean same = sameSlotsPerRank(now, next);
    return new SwitchGain(current, same ? current : balancedness(load, next), same);
  }

  /** {@code planned - current}. */
  public double gain() {
    return planned - current;
  }

  /**
   * Worth migrating for: the ranks would hold something else, and balancedness rises by more than 0
   * and by at least {@code minimumGain}.
   */
  public boolean worthIt(double minimumGain) {
    return !sameSlotsPerRank && gain() > 0 && gain() >= minimumGain;
  }

  private static double balancedness(double[][] load, Placement p) {
    double sum = 0;
    for (int l = 0; l < load.length; l++) {
      sum += Balancedness.of(load[l], p.phy2log()[l], p.shares()[l], p.ranks());
    }
    return sum / load.length;
  }

  /** Whether each rank holds the same (expert, share) pairs in both, in any slot order. */
  private static boolean sameSlotsPerRank(Placement a, Placement b) {
    if (a.layers() != b.layers() || a.ranks() != b.ranks() || a.slots() != b.slots()) {
      return false;
    }
    int perRank = a.slotsPerRank();
    for (int l = 0; l < a.layers(); l++) {
      for (int r = 0; r < a.ranks(); r++) {
        long[] mine = new long[perRank];
        long[] theirs = new long[perRank];
        for (int i = 0; i < perRank; i++) {
          int s = r * perRank + i;
          mine[i] = ((long) a.logicalOf(l, s) << 32) | a.share(l, s);
          theirs[i] = ((long) b.logicalOf(l, s) << 32) | b.share(l, s);
        }
        Arrays.sort(mine);
        Arrays.sort(theirs);
        if (!Arrays.equals(mine, theirs)) {
          return false;
        }
      }
    }
    return true;
  }
}
