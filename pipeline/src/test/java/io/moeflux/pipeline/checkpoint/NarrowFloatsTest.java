package io.moeflux.pipeline.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class NarrowFloatsTest {

  @Test
  void everyBf16PatternSurvivesWideningAndNarrowing() {
    for (int bits = 0; bits < 1 << 16; bits++) {
      float wide = NarrowFloats.bf16ToFloat((short) bits);
      if (!Float.isNaN(wide)) {
        assertThat(NarrowFloats.floatToBf16(wide) & 0xffff).isEqualTo(bits);
      }
    }
  }

  @Test
  void bf16RoundsToNearestEven() {
    // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to the even mantissa, 1
    assertThat(NarrowFloats.bf16ToFloat(NarrowFloats.floatToBf16(1f + 0x1p-8f))).isEqualTo(1f);
    // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: ties to 1 + 2^-6
    assertThat(NarrowFloats.bf16ToFloat(NarrowFloats.floatToBf16(1f + 3 * 0x1p-8f)))
        .isEqualTo(1f + 0x1p-6f);
    assertThat(NarrowFloats.bf16ToFloat(NarrowFloats.floatToBf16(1f + 0x1p-8f + 0x1p-20f)))
        .isEqualTo(1f + 0x1p-7f);
    assertThat(NarrowFloats.bf16ToFloat(NarrowFloats.floatToBf16(Float.NaN))).isNaN();
  }

  @Test
  void everyF16PatternSurvivesWideningAndNarrowing() {
    for (int bits = 0; bits < 1 << 16; bits++) {
      float wide = NarrowFloats.f16ToFloat((short) bits);
      if (!Float.isNaN(wide)) {
        assertThat(NarrowFloats.floatToF16(wide) & 0xffff).as("bits %x", bits).isEqualTo(bits);
      }
    }
  }

  @Test
  void f16KnownValues() {
    assertThat(NarrowFloats.f16ToFloat((short) 0x3c00)).isEqualTo(1f);
    assertThat(NarrowFloats.f16ToFloat((short) 0x7bff)).isEqualTo(65504f);
    assertThat(NarrowFloats.f16ToFloat((short) 0x0001)).isEqualTo(0x1p-24f);
    assertThat(NarrowFloats.f16ToFloat((short) 0xc000)).isEqualTo(-2f);
    assertThat(NarrowFloats.floatToF16(65520f)).isEqualTo((short) 0x7c00);
    assertThat(NarrowFloats.floatToF16(65519f)).isEqualTo((short) 0x7bff);
    assertThat(NarrowFloats.floatToF16(0x1p-25f)).isEqualTo((short) 0);
    assertThat(NarrowFloats.floatToF16(0x1.000002p-25f)).isEqualTo((short) 1);
  }

  /** Narrowing picks the nearest representable value (ties to the even pattern). */
  @Test
  void f16NarrowingIsNearest() {
    SplittableRandom random = new SplittableRandom(7);
    for (int n = 0; n < 200_000; n++) {
      float x = (float) ((random.nextDouble() * 2 - 1) * Math.pow(2, random.nextInt(-26, 17)));
      if (Math.abs(x) >= 65520f) {
        // beyond the largest half (and its rounding margin): overflows to infinity, tested above
        continue;
      }
      short h = NarrowFloats.floatToF16(x);
      double got = NarrowFloats.f16ToFloat(h);
      double below = NarrowFloats.f16ToFloat((short) (h - 1));
      double above = NarrowFloats.f16ToFloat((short) (h + 1));
      double error = Math.abs(got - x);
      if (!Double.isNaN(below) && (h & 0x7fff) != 0) {
        assertThat(error).as("x=%s", x).isLessThanOrEqualTo(Math.abs(below - x));
      }
      if (!Double.isInfinite(above) && !Double.isNaN(above)) {
        assertThat(error).as("x=%s", x).isLessThanOrEqualTo(Math.abs(above - x));
      }
    }
  }

  @Test
  void e4m3CodesAndRounding() {
    assertThat(NarrowFloats.e4m3ToFloat((byte) 0x38)).isEqualTo(1f);
    assertThat(NarrowFloats.e4m3ToFloat((byte) 0x7e)).isEqualTo(448f);
    assertThat(NarrowFloats.e4m3ToFloat((byte) 0x01)).isEqualTo(0x1p-9f);
    assertThat(NarrowFloats.e4m3ToFloat((byte) 0xb8)).isEqualTo(-1f);
    assertThat(NarrowFloats.e4m3ToFloat((byte) 0x7f)).isNaN();
    assertThat(NarrowFloats.e4m3ToFloat((byte) 0xff)).isNaN();
    for (int code = 0; code < 256; code++) {
      float wide = NarrowFloats.e4m3ToFloat((byte) code);
      if (!Float.isNaN(wide) && code != 0x80) {
        assertThat(NarrowFloats.floatToE4m3(wide) & 0xff).isEqualTo(code);
      }
    }
    assertThat(NarrowFloats.floatToE4m3(1000f)).isEqualTo((byte) 0x7e);
    assertThat(NarrowFloats.floatToE4m3(-1000f)).isEqualTo((byte) 0xfe);
    // 1.0625 is halfway between 1 (code 0x38) and 1.125 (0x39): ties to the even code
    assertThat(NarrowFloats.floatToE4m3(1.0625f)).isEqualTo((byte) 0x38);
    assertThat(NarrowFloats.floatToE4m3(1.07f)).isEqualTo((byte) 0x39);
  }
}
