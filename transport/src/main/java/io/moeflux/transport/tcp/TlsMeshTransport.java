package io.moeflux.transport.tcp;

import io.moeflux.transport.MeshTransport;
import io.moeflux.transport.TlsConfig;
import io.rsocket.Closeable;
import io.rsocket.transport.ClientTransport;
import io.rsocket.transport.ServerTransport;
import io.rsocket.transport.netty.client.TcpClientTransport;
import io.rsocket.transport.netty.server.TcpServerTransport;
import java.util.Objects;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/**
 * RSocket over TLS over TCP: the addresses of a {@link TcpMeshTransport}, every connection
 * encrypted (reactor-netty's {@code SslProvider}). A connecting rank checks the accepting rank's
 * certificate against its trusted certificates and its host name (or IP address) in {@code
 * --peers}; with {@link TlsConfig#mutual()} the accepting rank requires the connecting rank's
 * certificate too. The group secret is still proven on top ({@link
 * io.moeflux.transport.MeshSecret}).
 */
public final class TlsMeshTransport implements MeshTransport {
  private final TcpMeshTransport tcp;
  private final TlsConfig tls;

  private TlsMeshTransport(TcpMeshTransport tcp, TlsConfig tls) {
    this.tcp = tcp;
    this.tls = tls;
  }

  /** {@code tcp}'s ranks, reached over TLS configured by {@code tls}. */
  public static TlsMeshTransport of(TcpMeshTransport tcp, TlsConfig tls) {
    return new TlsMeshTransport(
        Objects.requireNonNull(tcp, "tcp"), Objects.requireNonNull(tls, "tls"));
  }

  public TcpMeshTransport tcp() {
    return tcp;
  }

  @Override
  public ServerTransport<? extends Closeable> serverFor(int rank) {
    return TcpServerTransport.create(
        tcp.server(rank).secure(spec -> spec.sslContext(tls.server())));
  }

  @Override
  public ClientTransport clientTo(int peer) {
    return TcpClientTransport.create(
        tcp.client(peer)
            .secure(
                spec ->
                    spec.sslContext(tls.client())
                        .handlerConfigurator(handler -> checkHostName(handler.engine()))));
  }

  /** The peer's certificate must name the host (or IP) it is reached at, as HTTPS checks it. */
  private static void checkHostName(SSLEngine engine) {
    SSLParameters parameters = engine.getSSLParameters();
    parameters.setEndpointIdentificationAlgorithm("HTTPS");
    engine.setSSLParameters(parameters);
  }

  @Override
  public String describe(int rank) {
    return tcp.describe(rank);
  }

  @Override
  public boolean isLoopback(int rank) {
    return tcp.isLoopback(rank);
  }

  @Override
  public void checkWorldSize(int worldSize) {
    tcp.checkWorldSize(worldSize);
  }

  @Override
  public String toString() {
    return tls + tcp.toString();
  }
}
