package io.moeflux.transport;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Everything one rank needs to join a mesh. Immutable; the {@code with...} methods return copies.
 *
 * @param rank this rank, {@code 0 <= rank < worldSize}
 * @param worldSize number of ranks
 * @param transport TCP (default) or LOCAL
 * @param addresses for TCP, {@code host:port} of every rank in rank order (this rank's entry is its
 *     bind address; port 0 is not allowed because peers must know it); for LOCAL, ignored
 * @param groupName for LOCAL, the name that keeps several in-JVM groups apart; for TCP, ignored
 * @param fingerprint the model configuration's fingerprint: ranks with different ones refuse each
 *     other
 * @param connectTimeout how long start-up waits for every peer to come up and handshake
 * @param phaseTimeout how long a receive waits for a peer's frame before the step fails
 * @param keepAliveInterval RSocket keep-alive tick
 * @param keepAliveMaxLifetime a silent peer is declared lost after this long
 */
public record MeshConfig(
    int rank,
    int worldSize,
    TransportKind transport,
    List<String> addresses,
    String groupName,
    String fingerprint,
    Duration connectTimeout,
    Duration phaseTimeout,
    Duration keepAliveInterval,
    Duration keepAliveMaxLifetime) {

  /** Version of the framing and handshake; ranks with different versions refuse each other. */
  public static final int PROTOCOL_VERSION = 1;

  public MeshConfig {
    Objects.requireNonNull(transport, "transport");
    Objects.requireNonNull(addresses, "addresses");
    Objects.requireNonNull(groupName, "groupName");
    Objects.requireNonNull(fingerprint, "fingerprint");
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    Objects.requireNonNull(phaseTimeout, "phaseTimeout");
    Objects.requireNonNull(keepAliveInterval, "keepAliveInterval");
    Objects.requireNonNull(keepAliveMaxLifetime, "keepAliveMaxLifetime");
    if (worldSize < 1) {
      throw new IllegalArgumentException("worldSize must be >= 1, got " + worldSize);
    }
    if (rank < 0 || rank >= worldSize) {
      throw new IllegalArgumentException("rank must be in [0, " + worldSize + "), got " + rank);
    }
    if (transport == TransportKind.TCP && addresses.size() != worldSize) {
      throw new IllegalArgumentException(
          "TCP mesh needs one host:port per rank: "
              + worldSize
              + " ranks, "
              + addresses.size()
              + " addresses "
              + addresses);
    }
    addresses = List.copyOf(addresses);
  }

  /** A TCP mesh member with default timeouts. */
  public static MeshConfig tcp(int rank, List<String> addresses, String fingerprint) {
    return new MeshConfig(
        rank,
        addresses.size(),
        TransportKind.TCP,
        addresses,
        "",
        fingerprint,
        Duration.ofSeconds(30),
        Duration.ofSeconds(30),
        Duration.ofSeconds(1),
        Duration.ofSeconds(6));
  }

  /** An in-JVM mesh member with default timeouts. */
  public static MeshConfig local(String groupName, int rank, int worldSize, String fingerprint) {
    return new MeshConfig(
        rank,
        worldSize,
        TransportKind.LOCAL,
        List.of(),
        groupName,
        fingerprint,
        Duration.ofSeconds(30),
        Duration.ofSeconds(30),
        Duration.ofSeconds(1),
        Duration.ofSeconds(6));
  }

  public MeshConfig withPhaseTimeout(Duration timeout) {
    return new MeshConfig(
        rank,
        worldSize,
        transport,
        addresses,
        groupName,
        fingerprint,
        connectTimeout,
        timeout,
        keepAliveInterval,
        keepAliveMaxLifetime);
  }

  public MeshConfig withConnectTimeout(Duration timeout) {
    return new MeshConfig(
        rank,
        worldSize,
        transport,
        addresses,
        groupName,
        fingerprint,
        timeout,
        phaseTimeout,
        keepAliveInterval,
        keepAliveMaxLifetime);
  }

  public MeshConfig withKeepAlive(Duration interval, Duration maxLifetime) {
    return new MeshConfig(
        rank,
        worldSize,
        transport,
        addresses,
        groupName,
        fingerprint,
        connectTimeout,
        phaseTimeout,
        interval,
        maxLifetime);
  }

  public MeshConfig withFingerprint(String newFingerprint) {
    return new MeshConfig(
        rank,
        worldSize,
        transport,
        addresses,
        groupName,
        newFingerprint,
        connectTimeout,
        phaseTimeout,
        keepAliveInterval,
        keepAliveMaxLifetime);
  }
}
