package io.moeflux.transport.tcp;

import io.moeflux.transport.InboundFailures;
import io.moeflux.transport.MeshTransport;
import io.netty.channel.ChannelOption;
import io.rsocket.Closeable;
import io.rsocket.transport.ClientTransport;
import io.rsocket.transport.ServerTransport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import reactor.netty.tcp.TcpClient;
import reactor.netty.tcp.TcpServer;

/**
 * RSocket over TCP (Reactor Netty), across processes and hosts: rank r binds {@code addresses[r]}
 * and its peers connect there. Sockets run with {@code TCP_NODELAY} (frames are latency-bound,
 * never worth batching) on event loops shared by every TCP mesh of the JVM. Frames are cut from the
 * byte stream by a {@link FrameDecoder}, which reads large frames from the socket straight into
 * their buffers instead of copying them out of a cumulation buffer as RSocket's codec does.
 */
public final class TcpMeshTransport implements MeshTransport {
  private final List<String> addresses;
  private final String[] hosts;
  private final int[] ports;

  private TcpMeshTransport(List<String> addresses) {
    this.addresses = List.copyOf(addresses);
    this.hosts = new String[addresses.size()];
    this.ports = new int[addresses.size()];
    for (int rank = 0; rank < addresses.size(); rank++) {
      String address = Objects.requireNonNull(addresses.get(rank), "address of rank " + rank);
      int colon = address.lastIndexOf(':');
      int port = colon <= 0 ? -1 : parsePort(address.substring(colon + 1));
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException(
            "rank "
                + rank
                + " address '"
                + address
                + "' is not host:port with a port in 1..65535 (peers must know it)");
      }
      hosts[rank] = address.substring(0, colon);
      ports[rank] = port;
    }
  }

  /**
   * A group whose rank r is at {@code addresses.get(r)}, {@code host:port}. This rank's own entry
   * is its bind address; port 0 is not allowed because peers must know it.
   *
   * @throws IllegalArgumentException naming the first address that is not host:port
   */
  public static TcpMeshTransport of(List<String> addresses) {
    Objects.requireNonNull(addresses, "addresses");
    return new TcpMeshTransport(addresses);
  }

  /** The port rank {@code rank} binds and its peers connect to. */
  public int port(int rank) {
    return ports[rank];
  }

  /** A group of {@code worldSize} ranks on free loopback ports. */
  public static TcpMeshTransport loopback(int worldSize) {
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
    return new TcpMeshTransport(addresses);
  }

  /** {@code host:port} of every rank, in rank order. */
  public List<String> addresses() {
    return addresses;
  }

  /** The host part of {@code rank}'s address, as written. */
  public String host(int rank) {
    return hosts[rank];
  }

  @Override
  public ServerTransport<? extends Closeable> serverFor(int rank) {
    return serverFor(rank, InboundFailures.NONE);
  }

  @Override
  public ServerTransport<? extends Closeable> serverFor(int rank, InboundFailures failures) {
    return FramedTcp.server(server(rank), failures);
  }

  @Override
  public ClientTransport clientTo(int peer) {
    return FramedTcp.client(client(peer));
  }

  /** The TCP server {@code rank} binds, before any layer on top (TLS). */
  TcpServer server(int rank) {
    return TcpServer.create()
        .runOn(MeshLoops.shared())
        .host(hosts[rank])
        .port(ports[rank])
        .childOption(ChannelOption.TCP_NODELAY, true);
  }

  /** The TCP client to {@code peer}, before any layer on top (TLS). */
  TcpClient client(int peer) {
    return TcpClient.create()
        .runOn(MeshLoops.shared())
        .host(hosts[peer])
        .port(ports[peer])
        .option(ChannelOption.TCP_NODELAY, true);
  }

  /** Whether {@code rank}'s host is a loopback address (a name that does not resolve is not). */
  @Override
  public boolean isLoopback(int rank) {
    try {
      InetAddress address = InetAddress.getByName(hosts[rank]);
      return address.isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  @Override
  public String describe(int rank) {
    return "rank " + rank + " (" + addresses.get(rank) + ")";
  }

  @Override
  public void checkWorldSize(int worldSize) {
    if (addresses.size() != worldSize) {
      throw new IllegalArgumentException(
          "TCP mesh needs one host:port per rank: "
              + worldSize
              + " ranks, "
              + addresses.size()
              + " addresses "
              + addresses);
    }
  }

  @Override
  public String toString() {
    return "tcp" + addresses;
  }

  private static int parsePort(String text) {
    try {
      return Integer.parseInt(text);
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
