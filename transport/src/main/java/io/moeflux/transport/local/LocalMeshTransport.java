package io.moeflux.transport.local;

import io.moeflux.transport.MeshTransport;
import io.rsocket.Closeable;
import io.rsocket.transport.ClientTransport;
import io.rsocket.transport.ServerTransport;
import io.rsocket.transport.local.LocalClientTransport;
import io.rsocket.transport.local.LocalServerTransport;
import java.util.Objects;
import java.util.UUID;

/**
 * RSocket over in-JVM connections: the ranks of one process, for fast tests. A group name keeps
 * several groups of one JVM apart; rank r's server is named {@code moeflux-<group>-<r>}.
 */
public final class LocalMeshTransport implements MeshTransport {
  private final String group;

  private LocalMeshTransport(String group) {
    this.group = group;
  }

  /** The group called {@code group}: every rank of it must use the same name. */
  public static LocalMeshTransport named(String group) {
    Objects.requireNonNull(group, "group");
    if (group.isEmpty()) {
      throw new IllegalArgumentException("local mesh group name must not be empty");
    }
    return new LocalMeshTransport(group);
  }

  /** A group with a name no other group of this JVM has. */
  public static LocalMeshTransport unique() {
    return new LocalMeshTransport(UUID.randomUUID().toString());
  }

  public String group() {
    return group;
  }

  @Override
  public ServerTransport<? extends Closeable> serverFor(int rank) {
    return LocalServerTransport.create(serverName(rank));
  }

  @Override
  public ClientTransport clientTo(int peer) {
    return LocalClientTransport.create(serverName(peer));
  }

  /** In-JVM connections: nothing outside this process reaches them. */
  @Override
  public boolean isLoopback(int rank) {
    return true;
  }

  @Override
  public String toString() {
    return "local(" + group + ")";
  }

  private String serverName(int rank) {
    return "moeflux-" + group + "-" + rank;
  }
}
