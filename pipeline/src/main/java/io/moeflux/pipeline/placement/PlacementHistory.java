package io.moeflux.pipeline.placement;

import io.moeflux.pipeline.model.Placement;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * The placements one rank has had in force: the initial one from step 0, then one entry per switch
 * the rank applied, at its switch step. Every rank of a group must have the same history (DESIGN.md
 * invariant 6); {@link #sameAs} compares two histories in one process, {@link #digest()} lets
 * separate processes compare theirs.
 *
 * <p>Immutable: {@link #with} returns a longer history.
 */
public final class PlacementHistory {
  /** A placement in force from {@code step} on (until the next entry's step). */
  public record Entry(long step, Placement placement) {
    public Entry {
      Objects.requireNonNull(placement, "placement");
    }
  }

  private final List<Entry> entries;

  private PlacementHistory(List<Entry> entries) {
    this.entries = List.copyOf(entries);
  }

  /** A history with {@code initial} in force from step 0 and no switch yet. */
  public static PlacementHistory startingWith(Placement initial) {
    return new PlacementHistory(List.of(new Entry(0, initial)));
  }

  /**
   * This history followed by a switch to {@code next} at {@code step}.
   *
   * @throws IllegalArgumentException when {@code step} is not after the last entry's step
   */
  public PlacementHistory with(long step, Placement next) {
    long last = entries.get(entries.size() - 1).step();
    if (step <= last) {
      throw new IllegalArgumentException(
          "a switch at step " + step + " does not follow the last one, at step " + last);
    }
    List<Entry> longer = new ArrayList<>(entries);
    longer.add(new Entry(step, next));
    return new PlacementHistory(longer);
  }

  /** Every entry, the initial placement first. */
  public List<Entry> entries() {
    return entries;
  }

  /** Switches applied (entries after the initial one). */
  public int switches() {
    return entries.size() - 1;
  }

  /** The placement in force at {@code step} according to this history. */
  public Placement inForceAt(long step) {
    Placement inForce = entries.get(0).placement();
    for (Entry entry : entries) {
      if (entry.step() > step) {
        break;
      }
      inForce = entry.placement();
    }
    return inForce;
  }

  /** Same switch steps, and at each the same placement version and maps. */
  public boolean sameAs(PlacementHistory other) {
    Objects.requireNonNull(other, "other");
    if (entries.size() != other.entries.size()) {
      return false;
    }
    for (int i = 0; i < entries.size(); i++) {
      Entry mine = entries.get(i);
      Entry theirs = other.entries.get(i);
      if (mine.step() != theirs.step()
          || mine.placement().version() != theirs.placement().version()
          || !mine.placement().samePlacementAs(theirs.placement())) {
        return false;
      }
    }
    return true;
  }

  /**
   * 16 hex digits of a SHA-256 over every entry's step, placement version, ranks, experts and
   * physical-to-logical map: equal histories ({@link #sameAs}) have equal digests on any JVM.
   */
  public String digest() {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
    for (Entry entry : entries) {
      Placement p = entry.placement();
      ByteBuffer head = ByteBuffer.allocate(Long.BYTES * 2 + Integer.BYTES * 4);
      head.putLong(entry.step()).putLong(p.version());
      head.putInt(p.ranks()).putInt(p.experts()).putInt(p.layers()).putInt(p.slots());
      sha.update(head.array());
      ByteBuffer map = ByteBuffer.allocate(p.layers() * p.slots() * Integer.BYTES);
      for (int[] layer : p.phy2log()) {
        for (int logical : layer) {
          map.putInt(logical);
        }
      }
      sha.update(map.array());
    }
    return HexFormat.of().formatHex(sha.digest(), 0, 8);
  }

  @Override
  public String toString() {
    StringBuilder text = new StringBuilder("PlacementHistory{");
    for (int i = 0; i < entries.size(); i++) {
      Entry entry = entries.get(i);
      text.append(i == 0 ? "" : ", ")
          .append("step ")
          .append(entry.step())
          .append(": v")
          .append(entry.placement().version());
    }
    return text.append('}').toString();
  }
}
