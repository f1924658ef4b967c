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
    assertThat(c).isEqualTo(new ModelConfig(64, 128, 2, 8, 2, 0, 0, 0.0, ExpertKind.SWIGLU, 42L));
    assertThat(c.grouped()).isFalse();
    assertThat(c.expertsPerGroup()).isEqualTo(8);
  }

  @Test
  void withersChangeOneFieldEach() {
    ModelConfig c = ModelConfig.small();
    assertThat(c.withHidden(32).hidden()).isEqualTo(32);
    assertThat(c.withIntermediate(16).intermediate()).isEqualTo(16);
    assertThat(c.withLayers(5).layers()).isEqualTo(5);
    assertThat(c.withExperts(16).experts()).isEqualTo(16);
    assertThat(c.withTopK(3).topK()).isEqualTo(3);
    ModelConfig grouped = c.withGroups(4, 2);
    assertThat(grouped.groups()).isEqualTo(4);
    assertThat(grouped.topkGroups()).isEqualTo(2);
    assertThat(grouped.grouped()).isTrue();
    assertThat(grouped.expertsPerGroup()).isEqualTo(2);
    assertThat(c.withGateSkew(1.5).gateSkew()).isEqualTo(1.5);
    assertThat(c.withExpertKind(ExpertKind.IDENTITY).expertKind()).isEqualTo(ExpertKind.IDENTITY);
    assertThat(c.withSeed(7).seed()).isEqualTo(7);
    assertThat(c.withSeed(7).withSeed(42)).isEqualTo(c);
  }

  @Test
  void rejectsBadSizes() {
    ModelConfig c = ModelConfig.small();
    assertThatThrownBy(() -> c.withHidden(0)).hasMessage("hidden must be >= 1, got 0");
    assertThatThrownBy(() -> c.withIntermediate(-1))
        .hasMessage("intermediate must be >= 1, got -1");
    assertThatThrownBy(() -> c.withLayers(0)).hasMessage("layers must be >= 1, got 0");
    assertThatThrownBy(() -> c.withExperts(0)).hasMessage("experts must be >= 1, got 0");
    assertThatThrownBy(() -> c.withExperts(1)).hasMessage("topK must be in 1..experts (1), got 2");
    assertThatThrownBy(() -> c.withTopK(0)).hasMessage("topK must be in 1..experts (8), got 0");
    assertThatThrownBy(() -> c.withTopK(9)).hasMessage("topK must be in 1..experts (8), got 9");
    assertThatThrownBy(() -> c.withHidden(1 << 16).withIntermediate(1 << 14))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("do not fit in a Java array");
    assertThatThrownBy(() -> c.withExpertKind(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("expertKind");
  }

  @Test
  void rejectsBadGroups() {
    ModelConfig c = ModelConfig.small();
    assertThatThrownBy(() -> c.withGroups(-1, 0)).hasMessage("groups must be >= 0, got -1");
    assertThatThrownBy(() -> c.withGroups(0, 2))
        .hasMessage("topkGroups must be 0 or 1 without expert groups (groups = 0), got 2");
    assertThatThrownBy(() -> c.withGroups(3, 1)).hasMessage("groups (3) must divide experts (8)");
    assertThatThrownBy(() -> c.withGroups(4, 0))
        .hasMessage("topkGroups must be in 1..groups (4), got 0");
    assertThatThrownBy(() -> c.withGroups(4, 5))
        .hasMessage("topkGroups must be in 1..groups (4), got 5");
    assertThatThrownBy(() -> c.withTopK(3).withGroups(8, 2))
        .hasMessage(
            "topkGroups * experts / groups = 2 * 8 / 8 = 2 experts to choose from, fewer than topK"
                + " (3)");
    assertThat(c.withGroups(1, 1).grouped()).isFalse();
    assertThat(c.withTopK(4).withGroups(4, 2).grouped()).isTrue();
  }

  @Test
  void rejectsBadSkew() {
    ModelConfig c = ModelConfig.small();
    assertThatThrownBy(() -> c.withGateSkew(-0.5))
        .hasMessage("gateSkew must be finite and >= 0, got -0.5");
    assertThatThrownBy(() -> c.withGateSkew(Double.NaN))
        .hasMessage("gateSkew must be finite and >= 0, got NaN");
    assertThatThrownBy(() -> c.withGateSkew(Double.POSITIVE_INFINITY))
        .hasMessage("gateSkew must be finite and >= 0, got Infinity");
  }

  @Test
  void negativeZeroSkewIsZeroSkew() {
    ModelConfig c = ModelConfig.small();
    assertThat(c.withGateSkew(-0.0)).isEqualTo(c);
    assertThat(c.withGateSkew(-0.0).fingerprint()).isEqualTo(c.fingerprint());
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
    ModelConfig c = ModelConfig.small().withExperts(16).withTopK(4);
    List<ModelConfig> variants =
        List.of(
            c,
            c.withHidden(65),
            c.withIntermediate(129),
            c.withLayers(3),
            c.withExperts(32),
            c.withTopK(3),
            c.withGroups(1, 1),
            c.withGroups(4, 2),
            c.withGroups(4, 3),
            c.withGroups(8, 2),
            c.withGateSkew(0.5),
            c.withGateSkew(Math.nextUp(0.5)),
            c.withExpertKind(ExpertKind.IDENTITY),
            c.withSeed(43),
            c.withSeed(-42));
    Set<String> prints = new HashSet<>();
    for (ModelConfig v : variants) {
      prints.add(v.fingerprint());
    }
    assertThat(prints).hasSize(variants.size());
  }
}
