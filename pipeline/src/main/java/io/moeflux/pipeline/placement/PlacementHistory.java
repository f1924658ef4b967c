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
 * <p>Bounded: a rank that rebalances for as long as it serves keeps the last {@value #KEPT}
 * entries, and a digest chained over every entry it ever had, so histories still compare whole.
 * {@link #inForceAt} answers for the steps of the entries kept.
 *
 * <p>Immutable: {@link #with} returns a longer history.
 */
public final class PlacementHistory {
  /** Entries kept, the most recent: plenty for every step still to be checked. */
  public static final int KEPT = 256;

  private static final int DIGEST_HEX = 16;

  /** A placement in force from {@code step} on (until the next entry's step). */
  public record Entry(long step, Placement placement) {
    public Entry {
      Objects.requireNonNull(placement, "placement");
    }
  }

  private final List<Entry> entries;
  private final int switches;
  private final byte[] chain;

  private PlacementHistory(List<Entry> entries, int switches, byte[] chain) {
    this.entries = List.copyOf(entries);
    this.switches = switches;
    this.chain = chain;
  }

  /** A history with {@code initial} in force from step 0 and no switch yet. */
  public static PlacementHistory startingWith(Placement initial) {
    Entry first = new Entry(0, initial);
    return new PlacementHistory(List.of(first), 0, link(new byte[0], first));
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
    Entry entry = new Entry(step, next);
    List<Entry> longer =
        new ArrayList<>(entries.subList(entries.size() == KEPT ? 1 : 0, entries.size()));
    longer.add(entry);
    return new PlacementHistory(longer, switches + 1, link(chain, entry));
  }

  /** The entries kept (at most {@value #KEPT}), oldest first. */
  public List<Entry> entries() {
    return entries;
  }

  /** Switches applied since the initial placement, all of them. */
  public int switches() {
    return switches;
  }

  /**
   * The placement in force at {@code step} according to this history.
   *
   * @throws IllegalArgumentException when {@code step} is before the oldest entry kept
   */
  public Placement inForceAt(long step) {
    Entry oldest = entries.get(0);
    if (step < oldest.step()) {
      throw new IllegalArgumentException(
          "step " + step + " is older than the " + KEPT + " switches this history keeps");
    }
    Placement inForce = oldest.placement();
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
    return switches == other.switches && MessageDigest.isEqual(chain, other.chain);
  }

  /**
   * 16 hex digits of a SHA-256 chained over every entry's step, placement version, ranks, experts
   * and physical-to-logical map: equal histories ({@link #sameAs}) have equal digests on any JVM.
   */
  public String digest() {
    return HexFormat.of().formatHex(chain, 0, DIGEST_HEX / 2);
  }

  /** SHA-256 of {@code previous} and {@code entry}: the digest of the history up to it. */
  private static byte[] link(byte[] previous, Entry entry) {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
    sha.update(previous);
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
    return sha.digest();
  }

  @Override
  public String toString() {
    StringBuilder text = new StringBuilder("PlacementHistory{");
    if (switches + 1 > entries.size()) {
      text.append(switches + 1 - entries.size()).append(" older, ");
    }
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
