package io.moeflux.pipeline.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ModelConfigTest {
  /** small()'s fingerprint, pinned: it must not change with the JVM, platform or a refactoring. */
  private static final String GOLDEN_SMALL_FINGERPRINT = "888543ce01317038";

  @Test
  void smallHasTheDocumentedShape() {
    ModelConfig c = ModelConfig.small();
    assertThat(c)
        .isEqualTo(
            ModelConfig.builder()
                .hidden(64)
                .intermediate(128)
                .layers(2)
                .experts(8)
                .topK(2)
                .groups(0)
                .topkGroups(0)
                .gateSkew(0.0)
                .expertKind(ExpertKind.SWIGLU)
                .seed(42L)
                .build());
    assertThat(c.grouped()).isFalse();
    assertThat(c.expertsPerGroup()).isEqualTo(8);
  }

  @Test
  void toBuilderChangesOneFieldEach() {
    ModelConfig c = ModelConfig.small();
    assertThat(c.toBuilder().hidden(32).build().hidden()).isEqualTo(32);
    assertThat(c.toBuilder().intermediate(16).build().intermediate()).isEqualTo(16);
    assertThat(c.toBuilder().layers(5).build().layers()).isEqualTo(5);
    assertThat(c.toBuilder().experts(16).build().experts()).isEqualTo(16);
    assertThat(c.toBuilder().topK(3).build().topK()).isEqualTo(3);
    ModelConfig grouped = c.toBuilder().groups(4).topkGroups(2).build();
    assertThat(grouped.groups()).isEqualTo(4);
    assertThat(grouped.topkGroups()).isEqualTo(2);
    assertThat(grouped.grouped()).isTrue();
    assertThat(grouped.expertsPerGroup()).isEqualTo(2);
    assertThat(c.toBuilder().gateSkew(1.5).build().gateSkew()).isEqualTo(1.5);
    assertThat(c.toBuilder().expertKind(ExpertKind.IDENTITY).build().expertKind())
        .isEqualTo(ExpertKind.IDENTITY);
    assertThat(c.toBuilder().seed(7).build().seed()).isEqualTo(7);
    assertThat(c.toBuilder().seed(7).build().toBuilder().seed(42).build()).isEqualTo(c);
  }

  @Test
  void theBuilderDefaultsAreSmallAndToBuilderKeepsEveryField() {
    assertThat(ModelConfig.builder().build()).isEqualTo(ModelConfig.small());
    ModelConfig c =
        ModelConfig.builder()
            .hidden(32)
            .intermediate(48)
            .layers(3)
            .experts(16)
            .topK(4)
            .groups(4)
            .topkGroups(2)
            .gateSkew(0.5)
            .expertKind(ExpertKind.IDENTITY)
            .seed(7)
            .build();
    ModelConfig copy = c.toBuilder().build();
    assertThat(copy).isEqualTo(c).hasSameHashCodeAs(c);
    assertThat(copy.fingerprint()).isEqualTo(c.fingerprint());
  }

  @Test
  void rejectsBadSizes() {
    ModelConfig c = ModelConfig.small();
    assertThatThrownBy(() -> c.toBuilder().hidden(0).build())
        .hasMessage("hidden must be >= 1, got 0");
    assertThatThrownBy(() -> c.toBuilder().intermediate(-1).build())
        .hasMessage("intermediate must be >= 1, got -1");
    assertThatThrownBy(() -> c.toBuilder().layers(0).build())
        .hasMessage("layers must be >= 1, got 0");
    assertThatThrownBy(() -> c.toBuilder().experts(0).build())
        .hasMessage("experts must be >= 1, got 0");
    assertThatThrownBy(() -> c.toBuilder().experts(1).build())
        .hasMessage("topK must be in 1..experts (1), got 2");
    assertThatThrownBy(() -> c.toBuilder().topK(0).build())
        .hasMessage("topK must be in 1..experts (8), got 0");
    assertThatThrownBy(() -> c.toBuilder().topK(9).build())
        .hasMessage("topK must be in 1..experts (8), got 9");
    assertThatThrownBy(() -> c.toBuilder().hidden(1 << 16).intermediate(1 << 14).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("do not fit in a Java array");
    assertThatThrownBy(() -> c.toBuilder().expertKind(null).build())
        .isInstanceOf(NullPointerException.class)
        .hasMessage("expertKind");
  }

  @Test
  void rejectsBadGroups() {
    ModelConfig c = ModelConfig.small();
    assertThatThrownBy(() -> c.toBuilder().groups(-1).topkGroups(0).build())
        .hasMessage("groups must be >= 0, got -1");
    assertThatThrownBy(() -> c.toBuilder().groups(0).topkGroups(2).build())
        .hasMessage("topkGroups must be 0 or 1 without expert groups (groups = 0), got 2");
    assertThatThrownBy(() -> c.toBuilder().groups(3).topkGroups(1).build())
        .hasMessage("groups (3) must divide experts (8)");
    assertThatThrownBy(() -> c.toBuilder().groups(4).topkGroups(0).build())
        .hasMessage("topkGroups must be in 1..groups (4), got 0");
    assertThatThrownBy(() -> c.toBuilder().groups(4).topkGroups(5).build())
        .hasMessage("topkGroups must be in 1..groups (4), got 5");
    assertThatThrownBy(() -> c.toBuilder().topK(3).groups(8).topkGroups(2).build())
        .hasMessage(
            "topkGroups * experts / groups = 2 * 8 / 8 = 2 experts to choose from, fewer than topK"
                + " (3)");
    assertThat(c.toBuilder().groups(1).topkGroups(1).build().grouped()).isFalse();
    assertThat(c.toBuilder().topK(4).groups(4).topkGroups(2).build().grouped()).isTrue();
  }

  @Test
  void rejectsBadSkew() {
    ModelConfig c = ModelConfig.small();
    assertThatThrownBy(() -> c.toBuilder().gateSkew(-0.5).build())
        .hasMessage("gateSkew must be finite and >= 0, got -0.5");
    assertThatThrownBy(() -> c.toBuilder().gateSkew(Double.NaN).build())
        .hasMessage("gateSkew must be finite and >= 0, got NaN");
    assertThatThrownBy(() -> c.toBuilder().gateSkew(Double.POSITIVE_INFINITY).build())
        .hasMessage("gateSkew must be finite and >= 0, got Infinity");
  }

  @Test
  void negativeZeroSkewIsZeroSkew() {
    ModelConfig c = ModelConfig.small();
    assertThat(c.toBuilder().gateSkew(-0.0).build()).isEqualTo(c);
    assertThat(c.toBuilder().gateSkew(-0.0).build().fingerprint()).isEqualTo(c.fingerprint());
  }

  @Test
  void fingerprintIsStableAcrossInstancesAndRuns() {
    ModelConfig c = ModelConfig.small();
    assertThat(c.fingerprint()).isEqualTo(ModelConfig.small().fingerprint());
    assertThat(c.fingerprint()).matches("[0-9a-f]{16}");
    assertThat(c.fingerprint()).isEqualTo(GOLDEN_SMALL_FINGERPRINT);
  }

  @Test
  void fingerprintIsSensitiveToEveryField() {
    ModelConfig c = ModelConfig.builder().experts(16).topK(4).build();
    List<ModelConfig> variants =
        List.of(
            c,
            c.toBuilder().hidden(65).build(),
            c.toBuilder().intermediate(129).build(),
            c.toBuilder().layers(3).build(),
            c.toBuilder().experts(32).build(),
            c.toBuilder().topK(3).build(),
            c.toBuilder().groups(1).topkGroups(1).build(),
            c.toBuilder().groups(4).topkGroups(2).build(),
            c.toBuilder().groups(4).topkGroups(3).build(),
            c.toBuilder().groups(8).topkGroups(2).build(),
            c.toBuilder().gateSkew(0.5).build(),
            c.toBuilder().gateSkew(Math.nextUp(0.5)).build(),
            c.toBuilder().expertKind(ExpertKind.IDENTITY).build(),
            c.toBuilder().seed(43).build(),
            c.toBuilder().seed(-42).build());
    Set<String> prints = new HashSet<>();
    for (ModelConfig v : variants) {
      prints.add(v.fingerprint());
    }
    assertThat(prints).hasSize(variants.size());
  }
}
