package io.moeflux.transport;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Everything two ranks must agree on before they exchange a frame, as ordered key → value entries
 * (for example {@code model}, {@code capacity}, {@code switch}, {@code redundant}). The handshake
 * carries it both ways; a rank refuses a peer whose entries differ, naming every entry that differs
 * with both values. Order is kept for display only: two fingerprints with the same entries in
 * another order agree.
 *
 * <p>Immutable. Keys are non-empty; keys and values are bounded ({@link #MAX_KEY_BYTES}, {@link
 * #MAX_VALUE_BYTES}, {@link #MAX_ENTRIES}) so that a handshake is bounded before it is held.
 */
public final class MeshFingerprint {
  public static final int MAX_ENTRIES = 64;
  public static final int MAX_KEY_BYTES = 64;
  public static final int MAX_VALUE_BYTES = 1024;

  /** No entries: every rank agrees with every other. */
  public static final MeshFingerprint EMPTY = new MeshFingerprint(new LinkedHashMap<>());

  private final Map<String, String> entries;

  private MeshFingerprint(LinkedHashMap<String, String> entries) {
    this.entries = Collections.unmodifiableMap(entries);
  }

  public static Builder builder() {
    return new Builder(new LinkedHashMap<>());
  }

  /** A fingerprint of one entry. */
  public static MeshFingerprint of(String key, String value) {
    return builder().put(key, value).build();
  }

  /** A builder holding these entries, to add more. */
  public Builder toBuilder() {
    return new Builder(new LinkedHashMap<>(entries));
  }

  /** The entries, in the order they were put. */
  public Map<String, String> entries() {
    return entries;
  }

  public @Nullable String value(String key) {
    return entries.get(key);
  }

  /**
   * The entries that differ between this ({@code here}) and {@code there}: this fingerprint's keys
   * in order, then the keys only {@code there} has. Empty when they agree.
   */
  public List<Difference> differences(MeshFingerprint there) {
    Objects.requireNonNull(there, "there");
    List<Difference> differences = new ArrayList<>();
    for (Map.Entry<String, String> entry : entries.entrySet()) {
      String theirs = there.entries.get(entry.getKey());
      if (!entry.getValue().equals(theirs)) {
        differences.add(new Difference(entry.getKey(), entry.getValue(), theirs));
      }
    }
    for (Map.Entry<String, String> entry : there.entries.entrySet()) {
      if (!entries.containsKey(entry.getKey())) {
        differences.add(new Difference(entry.getKey(), null, entry.getValue()));
      }
    }
    return differences;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof MeshFingerprint that && entries.equals(that.entries);
  }

  @Override
  public int hashCode() {
    return entries.hashCode();
  }

  /** {@code model=3fa2…, capacity=8}. */
  @Override
  public String toString() {
    StringBuilder text = new StringBuilder();
    entries.forEach(
        (key, value) -> text.append(text.length() == 0 ? "" : ", ").append(key + "=" + value));
    return text.toString();
  }

  /** One entry two fingerprints disagree on; a side that lacks the entry has {@code null}. */
  public record Difference(String key, @Nullable String here, @Nullable String there) {
    /** {@code capacity '8' here, '16' there}. */
    @Override
    public String toString() {
      return key + " " + quoted(here) + " here, " + quoted(there) + " there";
    }

    private static String quoted(@Nullable String value) {
      return value == null ? "(absent)" : "'" + value + "'";
    }
  }

  /** Collects entries in order; {@link #build()} checks the bounds. */
  public static final class Builder {
    private final LinkedHashMap<String, String> entries;

    private Builder(LinkedHashMap<String, String> entries) {
      this.entries = entries;
    }

    /**
     * Adds an entry.
     *
     * @throws IllegalArgumentException when the key is empty, already present, or a key or value is
     *     over its bound
     */
    public Builder put(String key, String value) {
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(value, "value");
      if (key.isEmpty()) {
        throw new IllegalArgumentException("fingerprint key must not be empty");
      }
      if (entries.containsKey(key)) {
        throw new IllegalArgumentException("fingerprint key '" + key + "' is already present");
      }
      checkBytes("key", key, MAX_KEY_BYTES);
      checkBytes("value of '" + key + "'", value, MAX_VALUE_BYTES);
      if (entries.size() == MAX_ENTRIES) {
        throw new IllegalArgumentException(
            "a fingerprint holds at most " + MAX_ENTRIES + " entries");
      }
      entries.put(key, value);
      return this;
    }

    /** Adds an entry whose value is a number. */
    public Builder put(String key, long value) {
      return put(key, Long.toString(value));
    }

    public MeshFingerprint build() {
      return new MeshFingerprint(new LinkedHashMap<>(entries));
    }

    private static void checkBytes(String what, String text, int max) {
      int bytes = text.getBytes(StandardCharsets.UTF_8).length;
      if (bytes > max) {
        throw new IllegalArgumentException(
            "fingerprint " + what + " is " + bytes + " bytes, over the limit of " + max);
      }
    }
  }
}
