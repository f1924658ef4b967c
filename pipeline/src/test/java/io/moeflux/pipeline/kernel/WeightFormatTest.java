package io.moeflux.pipeline.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.pipeline.checkpoint.NarrowFloats;
import org.junit.jupiter.api.Test;

class WeightFormatTest {

  @Test
  void everySixteenBitPatternWidensAsTheCheckpointReaderDoes() {
    for (int b = 0; b < 65536; b++) {
      short bits = (short) b;
      assertThat(Float.floatToRawIntBits(WeightFormat.bf16ToFloat(bits)))
          .isEqualTo(Float.floatToRawIntBits(NarrowFloats.bf16ToFloat(bits)));
      float f16 = WeightFormat.f16ToFloat(bits);
      float expected = NarrowFloats.f16ToFloat(bits);
      if (Float.isNaN(expected)) {
        assertThat(f16).isNaN();
      } else {
        assertThat(Float.floatToRawIntBits(f16))
            .as("f16 %04x", b)
            .isEqualTo(Float.floatToRawIntBits(expected));
      }
    }
  }
}
