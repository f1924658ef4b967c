package io.moeflux.transport;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** Configurations for a whole group of ranks in one JVM, and starting them together. */
public final class MeshConfigs {
  private MeshConfigs() {}

  /**
   * One config per rank of a group over {@code transport}, with default timeouts and a random
   * secret made for this group: its ranks all start here, so nothing else ever holds it.
   */
  public static List<MeshConfig> group(
      MeshTransport transport, int worldSize, MeshFingerprint fingerprint) {
    return group(transport, worldSize, fingerprint, MeshSecret.random());
  }

  /** One config per rank of a group over {@code transport} sharing {@code secret}. */
  public static List<MeshConfig> group(
      MeshTransport transport, int worldSize, MeshFingerprint fingerprint, MeshSecret secret) {
    Objects.requireNonNull(transport, "transport");
    Objects.requireNonNull(fingerprint, "fingerprint");
    Objects.requireNonNull(secret, "secret");
    List<MeshConfig> configs = new ArrayList<>();
    for (int r = 0; r < worldSize; r++) {
      configs.add(
          MeshConfig.builder()
              .rank(r)
              .worldSize(worldSize)
              .transport(transport)
              .fingerprint(fingerprint)
              .secret(secret)
              .build());
    }
    return configs;
  }

  /** One config per rank of a new group over a transport of {@code kind}. */
  public static List<MeshConfig> group(
      TransportKind kind, int worldSize, MeshFingerprint fingerprint) {
    Objects.requireNonNull(kind, "kind");
    return group(kind.forGroup(worldSize), worldSize, fingerprint);
  }

  /**
   * Starts every rank at once (each waits for its peers) and completes with the meshes in rank
   * order; if any fails, the ones that started are disposed.
   */
  public static Mono<List<RankMesh>> startAll(List<MeshConfig> configs) {
    Objects.requireNonNull(configs, "configs");
    return Flux.fromIterable(configs)
        .flatMap(RankMesh::start, Math.max(1, configs.size()))
        .collectSortedList((a, b) -> Integer.compare(a.rank(), b.rank()))
        .doOnDiscard(RankMesh.class, RankMesh::dispose);
  }
}
