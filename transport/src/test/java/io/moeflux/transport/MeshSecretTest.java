package io.moeflux.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.transport.local.LocalMeshTransport;
import io.moeflux.transport.tcp.TcpMeshTransport;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MeshSecretTest {
  @TempDir Path dir;

  @Test
  void aSecretFileIsReadWithoutItsTrailingLineBreak() throws Exception {
    Path file = dir.resolve("secret");
    Files.writeString(file, "0123456789abcdef-group\n", StandardCharsets.UTF_8);
    MeshSecret secret = MeshSecret.fromFile(file);
    assertThat(secret.key()).isEqualTo("0123456789abcdef-group".getBytes(StandardCharsets.UTF_8));
    assertThat(secret).isEqualTo(MeshSecret.of(secret.key()));
    assertThat(secret.toString()).isEqualTo("secret(22 bytes)").doesNotContain("0123");
  }

  @Test
  void aShortMissingOrHugeSecretFileIsRefusedNamingTheFile() throws Exception {
    Path shortFile = dir.resolve("short");
    Files.writeString(shortFile, "abc\n");
    assertThatThrownBy(() -> MeshSecret.fromFile(shortFile))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(shortFile.toString())
        .hasMessageContaining("3 bytes, at least 16");
    assertThatThrownBy(() -> MeshSecret.fromFile(dir.resolve("absent")))
        .hasMessageContaining("cannot read secret file");
    Path huge = dir.resolve("huge");
    Files.write(huge, new byte[MeshSecret.MAX_BYTES + 1]);
    assertThatThrownBy(() -> MeshSecret.fromFile(huge)).hasMessageContaining("more than 4096");
  }

  @Test
  void aRankOnANonLoopbackAddressRefusesToStartWithoutASecret() {
    TcpMeshTransport wide = TcpMeshTransport.of(List.of("10.77.0.1:7000", "10.77.0.2:7000"));
    MeshConfig.Builder builder = MeshConfig.builder().rank(0).worldSize(2).transport(wide);
    assertThatThrownBy(builder::build)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("rank 0 (10.77.0.1:7000) is not a loopback address")
        .hasMessageContaining("--secret-file");
    assertThat(builder.secret(MeshSecret.random()).build().secret().isNone()).isFalse();
    TcpMeshTransport loopback = TcpMeshTransport.of(List.of("127.0.0.1:7000", "localhost:7001"));
    assertThat(MeshConfig.builder().rank(1).worldSize(2).transport(loopback).build().secret())
        .isSameAs(MeshSecret.NONE);
    assertThat(
            MeshConfig.builder()
                .rank(1)
                .worldSize(2)
                .transport(LocalMeshTransport.unique())
                .build()
                .secret())
        .isSameAs(MeshSecret.NONE);
  }

  @Test
  void aGroupInOneJvmGetsItsOwnRandomSecret() {
    List<MeshConfig> one = MeshConfigs.group(TransportKind.LOCAL, 2, MeshFingerprint.EMPTY);
    List<MeshConfig> two = MeshConfigs.group(TransportKind.LOCAL, 2, MeshFingerprint.EMPTY);
    assertThat(one.get(0).secret())
        .isEqualTo(one.get(1).secret())
        .isNotEqualTo(two.get(0).secret());
    assertThat(one.get(0).toString()).contains("secret=secret(32 bytes)");
  }
}
