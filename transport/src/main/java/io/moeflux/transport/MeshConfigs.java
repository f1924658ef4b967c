package io.moeflux.transport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** Configurations for a whole group of ranks in one JVM, and starting them together. */
public final class MeshConfigs {
  private MeshConfigs() {}

  /** One TCP config per rank on free loopback ports. */
  public static List<MeshConfig> loopbackTcp(int worldSize, String fingerprint) {
    List<ServerSocket> held = new ArrayList<>();
    List<String> addresses = new ArrayList<>();
    try {
      for (int r = 0; r < worldSize; r++) {
        ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        socket.setReuseAddress(true);
        held.add(socket);
        addresses.add("127.0.0.1:" + socket.getLocalPort());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("no free loopback port", e);
    } finally {
      for (ServerSocket socket : held) {
        try {
          socket.close();
        } catch (IOException ignored) {
          // the port was only borrowed to learn a free number
        }
      }
    }
    List<MeshConfig> configs = new ArrayList<>();
    for (int r = 0; r < worldSize; r++) {
      configs.add(MeshConfig.tcp(r, addresses, fingerprint));
    }
    return configs;
  }

  /** One in-JVM config per rank, in a group named {@code groupName}. */
  public static List<MeshConfig> local(String groupName, int worldSize, String fingerprint) {
    List<MeshConfig> configs = new ArrayList<>();
    for (int r = 0; r < worldSize; r++) {
      configs.add(MeshConfig.local(groupName, r, worldSize, fingerprint));
    }
    return configs;
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
