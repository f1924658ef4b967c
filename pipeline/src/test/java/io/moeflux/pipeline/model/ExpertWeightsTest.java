package io.moeflux.pipeline.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ExpertWeightsTest {
  private final ModelConfig config = ModelConfig.builder().hidden(16).intermediate(24).build();

  @Test
  void generationIsDeterministic() {
    ExpertWeights a = ExpertWeights.generate(config, 1, 3);
    ExpertWeights b = ExpertWeights.generate(config, 1, 3);
    assertThat(a).isNotSameAs(b);
    assertThat(a.sameBits(b)).isTrue();
    assertThat(a.hidden()).isEqualTo(16);
    assertThat(a.intermediate()).isEqualTo(24);
    assertThat(a.floatCount()).isEqualTo(3 * 16 * 24);
  }

  @Test
  void layerExpertAndSeedEachChangeTheWeights() {
    ExpertWeights base = ExpertWeights.generate(config, 1, 3);
    assertThat(base.sameBits(ExpertWeights.generate(config, 0, 3))).isFalse();
    assertThat(base.sameBits(ExpertWeights.generate(config, 1, 2))).isFalse();
    assertThat(base.sameBits(ExpertWeights.generate(config.toBuilder().seed(43).build(), 1, 3)))
        .isFalse();
  }

  @Test
  void valuesAreBoundedByOneOverSqrtFanIn() {
    ExpertWeights w = ExpertWeights.generate(config, 0, 0);
    float inBound = (float) (1 / Math.sqrt(16));
    float outBound = (float) (1 / Math.sqrt(24));
    assertThat(maxAbs(w.gate())).isLessThanOrEqualTo(inBound).isGreaterThan(0.9f * inBound);
    assertThat(maxAbs(w.up())).isLessThanOrEqualTo(inBound).isGreaterThan(0.9f * inBound);
    assertThat(maxAbs(w.down())).isLessThanOrEqualTo(outBound).isGreaterThan(0.9f * outBound);
    // Not degenerate: spread over the range, roughly centred, gate and up independent.
    double mean = 0;
    double square = 0;
    for (float v : w.gate()) {
      mean += v;
      square += (double) v * v;
    }
    mean /= w.gate().length;
    square /= w.gate().length;
    assertThat(mean).isBetween(-0.05 * inBound, 0.05 * inBound);
    assertThat(square).isBetween(0.8 * inBound * inBound / 3, 1.2 * inBound * inBound / 3);
    assertThat(w.gate()).isNotEqualTo(w.up());
  }

  @Test
  void copyToAndCopyOfRoundTripBitwise() {
    ExpertWeights w = ExpertWeights.generate(config, 1, 5);
    float[] buffer = new float[w.floatCount() + 10];
    w.copyTo(buffer, 7);
    assertThat(buffer[6]).isZero();
    assertThat(buffer[7 + w.floatCount()]).isZero();
    assertThat(buffer[7]).isEqualTo(w.gate()[0]);
    assertThat(buffer[7 + 16 * 24]).isEqualTo(w.up()[0]);
    assertThat(buffer[7 + 2 * 16 * 24]).isEqualTo(w.down()[0]);
    ExpertWeights copy = ExpertWeights.copyOf(16, 24, buffer, 7);
    assertThat(copy.sameBits(w)).isTrue();
    assertThat(w.sameBits(copy)).isTrue();
  }

  @Test
  void sameBitsSeesOneFlippedBitAndShape() {
    ExpertWeights w = ExpertWeights.generate(config, 0, 1);
    float[] buffer = new float[w.floatCount()];
    w.copyTo(buffer, 0);
    buffer[buffer.length - 1] =
        Float.intBitsToFloat(Float.floatToRawIntBits(buffer[buffer.length - 1]) ^ 1);
    assertThat(ExpertWeights.copyOf(16, 24, buffer, 0).sameBits(w)).isFalse();
    w.copyTo(buffer, 0);
    assertThat(ExpertWeights.copyOf(24, 16, buffer, 0).sameBits(w)).isFalse();
  }

  @Test
  void rejectsBadArguments() {
    ExpertWeights w = ExpertWeights.generate(config, 0, 0);
    assertThatThrownBy(() -> ExpertWeights.generate(config, 2, 0))
        .isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> ExpertWeights.generate(config, 0, 8))
        .isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> w.copyTo(new float[w.floatCount()], 1))
        .isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> ExpertWeights.copyOf(16, 24, new float[10], 0))
        .isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> ExpertWeights.copyOf(0, 24, new float[10], 0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static float maxAbs(float[] values) {
    float max = 0;
    for (float v : values) {
      max = Math.max(max, Math.abs(v));
    }
    return max;
  }
}
