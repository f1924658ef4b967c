package io.moeflux.transport.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.MeshConfigs;
import io.moeflux.transport.MeshException;
import io.moeflux.transport.MeshFingerprint;
import io.moeflux.transport.MeshTransport;
import io.moeflux.transport.RankMesh;
import io.moeflux.transport.TlsConfig;
import io.moeflux.transport.testkit.MeshAuthContract;
import io.moeflux.transport.testkit.MeshStarts;
import io.moeflux.transport.testkit.TestCertificates;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The authentication contract over TLS, and what TLS itself refuses. */
class TlsMeshAuthTest extends MeshAuthContract {
  @TempDir static Path dir;
  private static TestCertificates authority;
  private static TlsConfig tls;

  private static synchronized TlsConfig tls() {
    if (tls == null) {
      authority = TestCertificates.authority(dir, "mesh CA");
      tls = authority.issue("rank").mutual(true).build();
    }
    return tls;
  }

  @Override
  protected MeshTransport transport(int worldSize) {
    return TlsMeshTransport.of(TcpMeshTransport.loopback(worldSize), tls());
  }

  @Test
  void aRankWithACertificateFromAnotherAuthorityIsRefusedByTls() {
    TlsConfig foreign =
        TestCertificates.authority(dir, "other CA").issue("intruder").mutual(true).build();
    TcpMeshTransport tcp = TcpMeshTransport.loopback(2);
    List<MeshConfig> configs =
        MeshConfigs.group(TlsMeshTransport.of(tcp, tls()), 2, MeshFingerprint.EMPTY);
    List<MeshConfig> mixed = new ArrayList<>();
    mixed.add(configs.get(0).toBuilder().connectTimeout(Duration.ofSeconds(3)).build());
    mixed.add(
        configs.get(1).toBuilder()
            .transport(TlsMeshTransport.of(tcp, foreign))
            .connectTimeout(Duration.ofSeconds(3))
            .build());
    List<RankMesh> started = new ArrayList<>();
    List<Throwable> errors = MeshStarts.failures(mixed, started);
    started.forEach(RankMesh::dispose);
    assertThat(errors).hasSize(2).allSatisfy(e -> assertThat(e).isInstanceOf(MeshException.class));
  }
}
