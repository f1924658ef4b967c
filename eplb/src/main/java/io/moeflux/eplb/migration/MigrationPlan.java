package io.moeflux.eplb.migration;

import io.moeflux.pipeline.model.Placement;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Which expert weights move where when switching from one placement to another. Every rank computes
 * the same plan from the same two placements, so no plan needs to be sent.
 *
 * <p>A rank that will hold logical expert e in layer l and does not hold it now receives it from
 * the lowest rank that holds it now; an expert that stays on a rank is copied locally, and an
 * expert already in place does not move at all.
 */
public final class MigrationPlan {
  /** One expert's weights, sent from one rank to another. */
  public record Transfer(int layer, int logical, int source, int target) {}

  private final Placement from;
  private final Placement to;
  private final List<Transfer> transfers;

  private MigrationPlan(Placement from, Placement to, List<Transfer> transfers) {
    this.from = from;
    this.to = to;
    this.transfers = List.copyOf(transfers);
  }

  public static MigrationPlan between(Placement from, Placement to) {
    Objects.requireNonNull(from, "from");
    Objects.requireNonNull(to, "to");
    if (from.layers() != to.layers()
        || from.experts() != to.experts()
        || from.ranks() != to.ranks()
        || from.slots() != to.slots()) {
      throw new IllegalArgumentException(
          "placements differ in shape: " + describe(from) + " vs " + describe(to));
    }
    List<Transfer> transfers = new ArrayList<>();
    int ranks = to.ranks();
    for (int layer = 0; layer < to.layers(); layer++) {
      for (int rank = 0; rank < ranks; rank++) {
        boolean[] needed = new boolean[to.experts()];
        for (int i = 0; i < to.slotsPerRank(); i++) {
          needed[to.logicalOf(layer, rank * to.slotsPerRank() + i)] = true;
        }
        for (int e = 0; e < needed.length; e++) {
          if (needed[e] && !holds(from, layer, rank, e)) {
            transfers.add(new Transfer(layer, e, lowestHolder(from, layer, e), rank));
          }
        }
      }
    }
    return new MigrationPlan(from, to, transfers);
  }

  static boolean holds(Placement p, int layer, int rank, int logical) {
    for (int i = 0; i < p.slotsPerRank(); i++) {
      if (p.logicalOf(layer, rank * p.slotsPerRank() + i) == logical) {
        return true;
      }
    }
    return false;
  }

  private static int lowestHolder(Placement p, int layer, int logical) {
    return p.rankOfSlot(p.replica(layer, logical, 0));
  }

  private static String describe(Placement p) {
    return p.layers()
        + " layers × "
        + p.slots()
        + " slots of "
        + p.experts()
        + " experts on "
        + p.ranks()
        + " ranks";
  }

  public Placement from() {
    return from;
  }

  public Placement to() {
    return to;
  }

  public List<Transfer> transfers() {
    return transfers;
  }

  /** Transfers from {@code source} to {@code target}, in plan order. */
  public List<Transfer> between(int source, int target) {
    return transfers.stream().filter(t -> t.source() == source && t.target() == target).toList();
  }

  /** Bytes that cross the mesh, for experts of {@code expertBytes} each. */
  public long bytesToMove(long expertBytes) {
    return transfers.size() * expertBytes;
  }
}
