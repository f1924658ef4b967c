package io.moeflux.transport;

import io.rsocket.Closeable;
import io.rsocket.transport.ClientTransport;
import io.rsocket.transport.ServerTransport;

/**
 * How the ranks of one group reach each other: the RSocket server each rank binds, the client
 * connection to each peer, and how a message names a rank. One instance describes the whole group,
 * so that every rank's {@link MeshConfig} can hold the same one. Implementations: {@link
 * io.moeflux.transport.tcp.TcpMeshTransport} across processes and hosts, {@link
 * io.moeflux.transport.tcp.TlsMeshTransport} the same over TLS, {@link
 * io.moeflux.transport.local.LocalMeshTransport} within one JVM.
 */
public interface MeshTransport {

  /** The server {@code rank} binds, where its peers connect to. */
  ServerTransport<? extends Closeable> serverFor(int rank);

  /**
   * The server {@code rank} binds, reporting frames it receives but cannot hold to {@code
   * failures}. Transports that never drop a frame (in-JVM connections hand the sender's buffer
   * over) ignore it.
   */
  default ServerTransport<? extends Closeable> serverFor(int rank, InboundFailures failures) {
    return serverFor(rank);
  }

  /** A client connection to {@code peer}'s server. */
  ClientTransport clientTo(int peer);

  /** How messages name {@code rank}: {@code "rank 2"}, or with its address when there is one. */
  default String describe(int rank) {
    return "rank " + rank;
  }

  /**
   * Whether only this host can reach {@code rank}'s server (a loopback address, or in-JVM): such a
   * rank may run without a {@link MeshSecret}. False unless the transport knows better.
   */
  default boolean isLoopback(int rank) {
    return false;
  }

  /**
   * Checks that this transport can carry a world of {@code worldSize} ranks (for example, that it
   * knows an address for each).
   *
   * @throws IllegalArgumentException saying what is missing
   */
  default void checkWorldSize(int worldSize) {}
}
