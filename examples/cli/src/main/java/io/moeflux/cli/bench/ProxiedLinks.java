package io.moeflux.cli.bench;

import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.tcp.TcpMeshTransport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * A loopback TCP group whose ranks reach each other through {@link LinkProxy}s: links between
 * hosts, with a one-way delay and a rate, on one machine. One proxy per rank stands in front of its
 * server; every other rank dials the proxy instead.
 */
public final class ProxiedLinks implements AutoCloseable {
  private final List<LinkProxy> proxies = new ArrayList<>();
  private final List<MeshConfig> configs = new ArrayList<>();

  /**
   * {@code direct}: one config per rank of a group over one {@link TcpMeshTransport}; the same
   * configs come back with each peer's address replaced by its proxy's.
   */
  public ProxiedLinks(List<MeshConfig> direct, long delayMicros, long bytesPerSecond) {
    if (direct.isEmpty() || !(direct.get(0).transport() instanceof TcpMeshTransport tcp)) {
      throw new IllegalArgumentException("links between ranks need a TCP group");
    }
    List<String> addresses = tcp.addresses();
    List<String> viaProxy = new ArrayList<>();
    try {
      for (int rank = 0; rank < addresses.size(); rank++) {
        LinkProxy proxy =
            new LinkProxy(
                new InetSocketAddress(tcp.host(rank), tcp.port(rank)), delayMicros, bytesPerSecond);
        proxies.add(proxy);
        viaProxy.add(proxy.address());
      }
    } catch (IOException e) {
      close();
      throw new UncheckedIOException("cannot open a link proxy: " + e.getMessage(), e);
    }
    for (MeshConfig config : direct) {
      List<String> seen = new ArrayList<>(viaProxy);
      seen.set(config.rank(), addresses.get(config.rank()));
      configs.add(config.toBuilder().transport(TcpMeshTransport.of(seen)).build());
    }
  }

  /** The group's configs, each rank reaching its peers through their proxies. */
  public List<MeshConfig> configs() {
    return List.copyOf(configs);
  }

  @Override
  public void close() {
    proxies.forEach(LinkProxy::close);
  }
}
