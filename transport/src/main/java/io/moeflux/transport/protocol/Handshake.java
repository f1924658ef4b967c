package io.moeflux.transport.protocol;

import io.moeflux.transport.MeshFingerprint;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What two ranks tell each other before any frame: protocol version, rank, world size and the
 * fingerprint. Each side checks the other's with {@link #mismatch}.
 */
public record Handshake(int version, int rank, int worldSize, MeshFingerprint fingerprint) {

  public Handshake {
    Objects.requireNonNull(fingerprint, "fingerprint");
  }

  /** This build's handshake for {@code rank} of {@code worldSize}. */
  public static Handshake current(int rank, int worldSize, MeshFingerprint fingerprint) {
    return new Handshake(ProtocolVersion.CURRENT, rank, worldSize, fingerprint);
  }

  /**
   * Why this side ({@code here}) must refuse {@code there}, or empty when they may talk. The
   * version is compared first (a peer of another version may mean anything by the rest), then the
   * world size, then every fingerprint entry, then the rank.
   */
  public Optional<String> mismatch(Handshake there) {
    if (version != there.version) {
      return Optional.of(
          "protocol version differs: " + version + " here, " + there.version + " there");
    }
    if (worldSize != there.worldSize) {
      return Optional.of(
          "world size differs: " + worldSize + " here, " + there.worldSize + " there");
    }
    List<MeshFingerprint.Difference> differences = fingerprint.differences(there.fingerprint);
    if (!differences.isEmpty()) {
      StringBuilder text = new StringBuilder("fingerprint differs: ");
      for (int i = 0; i < differences.size(); i++) {
        text.append(i == 0 ? "" : "; ").append(differences.get(i));
      }
      return Optional.of(text.toString());
    }
    if (there.rank < 0 || there.rank >= worldSize) {
      return Optional.of("rank " + there.rank + " is outside the world of " + worldSize);
    }
    if (there.rank == rank) {
      return Optional.of("both claim rank " + rank);
    }
    return Optional.empty();
  }
}
