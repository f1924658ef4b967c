package io.moeflux.transport;

import io.moeflux.transport.local.LocalMeshTransport;
import io.moeflux.transport.tcp.TcpMeshTransport;

/**
 * The transports a group of ranks in one JVM can use, by name (a CLI flag, a test parameter). Each
 * constant makes the {@link MeshTransport} for such a group; code that holds a transport never asks
 * which kind it is.
 */
public enum TransportKind {
  /** RSocket over loopback TCP (Reactor Netty): the same path as across processes and hosts. */
  TCP {
    @Override
    public MeshTransport forGroup(int worldSize) {
      return TcpMeshTransport.loopback(worldSize);
    }
  },
  /** RSocket over in-JVM connections: fast tests. */
  LOCAL {
    @Override
    public MeshTransport forGroup(int worldSize) {
      return LocalMeshTransport.unique();
    }
  };

  /** A transport for a new group of {@code worldSize} ranks in this JVM. */
  public abstract MeshTransport forGroup(int worldSize);
}
