package io.moeflux.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.pipeline.kernel.ExpertKernels;
import io.moeflux.pipeline.kernel.ScalarExpertKernel;
import io.moeflux.pipeline.model.ExpertBank;
import io.moeflux.pipeline.model.ExpertKind;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.model.SyntheticModel;
import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.MeshConfigs;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.testkit.LeakRecorder;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The kernel is in the handshake: a group computes with one kernel, so its bits are one set. */
class ExpertKernelHandshakeTest {
  private final ModelConfig model = ModelConfig.small();

  @AfterEach
  void noLeaks() {
    LeakRecorder.assertNoLeaks();
  }

  private PipelineConfig config(ExpertBank bank) {
    return PipelineConfig.of(SyntheticModel.of(bank), 4);
  }

  @Test
  void theFingerprintNamesTheKernelOfSwigluModels() {
    assertThat(MoeRank.fingerprint(PipelineConfig.of(model, 4)).value("kernel"))
        .isEqualTo(ExpertKernels.preferred().name());
    ModelConfig identity = model.toBuilder().expertKind(ExpertKind.IDENTITY).build();
    assertThat(MoeRank.fingerprint(PipelineConfig.of(identity, 4)).value("kernel")).isNull();
  }

  @Test
  void ranksWithDifferentKernelsRefuseEachOther() {
    PipelineConfig vector = config(new ExpertBank(model, ExpertKernels.preferred()));
    PipelineConfig scalar = config(new ExpertBank(model, ScalarExpertKernel.INSTANCE));
    List<MeshConfig> meshes =
        MeshConfigs.group(TransportKind.LOCAL, 2, MoeRank.fingerprint(vector)).stream()
            .map(m -> m.toBuilder().connectTimeout(Duration.ofSeconds(5)).build())
            .toList();
    assertThatThrownBy(
            () ->
                MoeGroup.start(meshes, r -> r == 0 ? vector : scalar, RankExtensions.none())
                    .block(Duration.ofSeconds(30)))
        .hasMessageContaining("kernel '")
        .hasMessageContaining(ScalarExpertKernel.INSTANCE.name());
  }
}
