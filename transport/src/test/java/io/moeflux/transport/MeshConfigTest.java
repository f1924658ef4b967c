package io.moeflux.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.transport.local.LocalMeshTransport;
import io.moeflux.transport.tcp.TcpMeshTransport;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class MeshConfigTest {
  private final MeshTransport local = LocalMeshTransport.named("g");

  @Test
  void defaultsAreTheDocumentedOnes() {
    MeshConfig config = MeshConfig.builder().rank(1).worldSize(2).transport(local).build();
    assertThat(config.rank()).isEqualTo(1);
    assertThat(config.worldSize()).isEqualTo(2);
    assertThat(config.transport()).isSameAs(local);
    assertThat(config.fingerprint()).isEqualTo(MeshFingerprint.EMPTY);
    assertThat(config.connectTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(config.phaseTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(config.keepAliveInterval()).isEqualTo(Duration.ofSeconds(1));
    assertThat(config.keepAliveMaxLifetime()).isEqualTo(Duration.ofSeconds(6));
  }

  @Test
  void toBuilderKeepsEveryFieldAndChangesOnlyWhatIsSet() {
    MeshConfig config =
        MeshConfig.builder()
            .rank(0)
            .worldSize(3)
            .transport(local)
            .fingerprint(MeshFingerprint.of("model", "m"))
            .connectTimeout(Duration.ofSeconds(5))
            .phaseTimeout(Duration.ofSeconds(7))
            .keepAlive(Duration.ofMillis(200), Duration.ofSeconds(2))
            .build();
    MeshConfig copy = config.toBuilder().phaseTimeout(Duration.ofMillis(300)).build();
    assertThat(copy.phaseTimeout()).isEqualTo(Duration.ofMillis(300));
    assertThat(copy.toString())
        .isEqualTo(config.toString().replace("phaseTimeout=PT7S", "phaseTimeout=PT0.3S"));
  }

  @Test
  void buildNamesTheFieldThatIsWrong() {
    assertThatThrownBy(() -> MeshConfig.builder().rank(0).transport(local).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("worldSize must be >= 1, got 0");
    assertThatThrownBy(() -> MeshConfig.builder().rank(2).worldSize(2).transport(local).build())
        .hasMessage("rank must be in [0, 2), got 2");
    assertThatThrownBy(() -> MeshConfig.builder().worldSize(2).transport(local).build())
        .hasMessage("rank must be in [0, 2), got -1");
    assertThatThrownBy(() -> MeshConfig.builder().rank(0).worldSize(2).build())
        .hasMessage("transport is required");
    assertThatThrownBy(
            () ->
                MeshConfig.builder()
                    .rank(0)
                    .worldSize(2)
                    .transport(local)
                    .phaseTimeout(Duration.ZERO)
                    .build())
        .hasMessage("phaseTimeout must be > 0, got PT0S");
    assertThatThrownBy(
            () ->
                MeshConfig.builder()
                    .rank(0)
                    .worldSize(3)
                    .transport(TcpMeshTransport.of(List.of("h:1", "h:2")))
                    .build())
        .hasMessageContaining("TCP mesh needs one host:port per rank: 3 ranks, 2 addresses");
  }

  @Test
  void tcpAddressesMustNameAHostAndAPort() {
    assertThatThrownBy(() -> TcpMeshTransport.of(List.of("h:1", "nohost")))
        .hasMessageContaining("rank 1 address 'nohost' is not host:port");
    assertThatThrownBy(() -> TcpMeshTransport.of(List.of("h:0")))
        .hasMessageContaining("rank 0 address 'h:0'");
    TcpMeshTransport tcp = TcpMeshTransport.of(List.of("10.0.0.1:7000", "[::1]:7001"));
    assertThat(tcp.describe(1)).isEqualTo("rank 1 ([::1]:7001)");
    assertThat(local.describe(1)).isEqualTo("rank 1");
  }

  @Test
  void eachTransportKindMakesATransportForAGroup() {
    assertThat(TransportKind.TCP.forGroup(3)).isInstanceOf(TcpMeshTransport.class);
    assertThat(((TcpMeshTransport) TransportKind.TCP.forGroup(3)).addresses()).hasSize(3);
    assertThat(TransportKind.LOCAL.forGroup(3))
        .isInstanceOf(LocalMeshTransport.class)
        .isNotEqualTo(TransportKind.LOCAL.forGroup(3));
  }
}
