package io.moeflux.transport.tcp;

import io.moeflux.transport.MeshTransport;
import io.moeflux.transport.TlsConfig;
import io.moeflux.transport.testkit.RankMeshContract;
import io.moeflux.transport.testkit.TestCertificates;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;

/** The whole transport contract over mutual TLS, with certificates made for the test. */
class TlsRankMeshTest extends RankMeshContract {
  @TempDir static Path dir;
  private static TlsConfig tls;

  private static synchronized TlsConfig tls() {
    if (tls == null) {
      tls = TestCertificates.authority(dir, "mesh CA").issue("rank").mutual(true).build();
    }
    return tls;
  }

  @Override
  protected MeshTransport transport(int worldSize) {
    return TlsMeshTransport.of(TcpMeshTransport.loopback(worldSize), tls());
  }

  @Override
  protected MeshTransport grownByOne(MeshTransport group) {
    List<String> addresses = new ArrayList<>(((TlsMeshTransport) group).tcp().addresses());
    addresses.add("127.0.0.1:1");
    return TlsMeshTransport.of(TcpMeshTransport.of(addresses), tls());
  }
}
