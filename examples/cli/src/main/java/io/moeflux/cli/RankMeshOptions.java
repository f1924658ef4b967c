package io.moeflux.cli;

import io.moeflux.pipeline.Overlap;
import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.MeshSecret;
import io.moeflux.transport.MeshTransport;
import io.moeflux.transport.TlsConfig;
import io.moeflux.transport.tcp.TcpMeshTransport;
import io.moeflux.transport.tcp.TlsMeshTransport;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Option;

/**
 * One rank of a group whose ranks run in separate processes ({@code rank}, {@code serve --rank}):
 * which rank, how many, the peers' mesh addresses (this rank binds its own entry) and the mesh's
 * timeouts. Each also reads an environment variable, so that a pod template can set it.
 */
final class RankMeshOptions {
  @Option(names = "--rank", defaultValue = "${env:MOEFLUX_RANK}")
  @Nullable Integer rank;

  @Option(names = "--world", defaultValue = "${env:MOEFLUX_WORLD_SIZE}")
  @Nullable Integer world;

  @Option(names = "--peers", defaultValue = "${env:MOEFLUX_PEERS}")
  @Nullable String peers;

  @Option(names = "--connect-timeout")
  int connectTimeoutSeconds = 60;

  @Option(names = "--peer-timeout")
  int peerTimeoutSeconds = 8;

  /** Whether any of --rank, --world, --peers (or their variables) is set. */
  boolean given() {
    return rank != null || world != null || (peers != null && !peers.isBlank());
  }

  int rank() {
    checkGiven();
    return rank;
  }

  int world() {
    checkGiven();
    return world;
  }

  /** Tokens per rank from which a step is worth splitting across hosts. */
  static final int SPLIT_FROM_TOKENS = 128;

  /**
   * The overlap when {@code --overlap} is not given: the split for computing experts ({@link
   * Overlap#auto()}) when some peer is on another host and a step can carry {@code
   * maxTokensPerRank} >= {@value #SPLIT_FROM_TOKENS} tokens per rank; none otherwise. A loopback
   * link is CPU on the same cores (4 ranks kept 1.74 of 2 cores busy and the split cost 5 %); a
   * link between hosts leaves cores idle while frames travel (2 ranks × 256 tokens behind 50 MB/s
   * links: 0.74 of the step time), but a decode step of a few tokens only doubles its messages.
   * Decided from the text of --peers and the capacity, the same on every rank: a host name other
   * than {@code localhost} counts as another host.
   */
  Overlap defaultOverlap(int maxTokensPerRank) {
    if (maxTokensPerRank < SPLIT_FROM_TOKENS) {
      return Overlap.off();
    }
    TcpMeshTransport tcp = TcpMeshTransport.of(addresses());
    for (int r = 0; r < world(); r++) {
      if (!isLoopback(tcp.host(r))) {
        return Overlap.auto();
      }
    }
    return Overlap.off();
  }

  /**
   * By the text alone, unlike {@link TcpMeshTransport#isLoopback}, which resolves the name: every
   * rank must come to the same answer, whatever its own resolver says of the names.
   */
  private static boolean isLoopback(String host) {
    return host.equals("localhost")
        || host.startsWith("127.")
        || host.equals("::1")
        || host.equals("[::1]");
  }

  /** The mesh address of every rank, in rank order. */
  List<String> addresses() {
    checkGiven();
    List<String> addresses = Arrays.stream(peers.split(",")).map(String::trim).toList();
    if (addresses.size() != world) {
      throw new IllegalArgumentException(
          "--peers lists " + addresses.size() + " addresses for a world of " + world);
    }
    if (rank < 0 || rank >= world) {
      throw new IllegalArgumentException("--rank must be in 0.." + (world - 1) + ", got " + rank);
    }
    return addresses;
  }

  /** The port of this rank's own mesh address. */
  int meshPort() {
    return TcpMeshTransport.of(addresses()).port(rank());
  }

  Duration peerTimeout() {
    return Duration.ofSeconds(peerTimeoutSeconds);
  }

  Duration connectTimeout() {
    return Duration.ofSeconds(connectTimeoutSeconds);
  }

  /**
   * This rank's mesh over TCP, or TLS over TCP when {@code tls} is given; a receive that waits
   * longer than --peer-timeout fails, and so does a peer silent for as long (keep-alives every
   * second).
   */
  MeshConfig mesh(MeshSecret secret, @Nullable TlsConfig tls) {
    TcpMeshTransport tcp = TcpMeshTransport.of(addresses());
    MeshTransport transport = tls == null ? tcp : TlsMeshTransport.of(tcp, tls);
    return MeshConfig.builder()
        .rank(rank())
        .worldSize(world())
        .transport(transport)
        .secret(secret)
        .connectTimeout(connectTimeout())
        .phaseTimeout(peerTimeout())
        .keepAlive(Duration.ofSeconds(1), peerTimeout())
        .build();
  }

  private void checkGiven() {
    if (rank == null || world == null || peers == null || peers.isBlank()) {
      throw new IllegalArgumentException(
          "--rank, --world and --peers are required (or MOEFLUX_RANK, MOEFLUX_WORLD_SIZE,"
              + " MOEFLUX_PEERS)");
    }
  }
}
