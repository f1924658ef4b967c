package io.moeflux.transport.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The vector row conversions give the scalar ones' bits: on grids of float bit patterns that hold
 * every rounding tie of bf16 and e4m3, subnormals, the largest values and infinities, on every
 * 16-bit and 8-bit code, cut into rows of random lengths at random offsets so that tails shorter
 * than a vector are covered.
 */
class RowKernelTest {
  private static final RowKernel SCALAR = ScalarRowKernel.INSTANCE;
  private RowKernel vector = SCALAR;

  @BeforeEach
  void vectorKernel() {
    RowKernel created = VectorRowKernel.create();
    assumeTrue(created != null, "this machine's vectors hold fewer than 8 floats");
    vector = created;
  }

  @Test
  void theVectorKernelIsPreferredWhenTheModuleIsEnabled() {
    assertThat(RowKernels.preferred()).isInstanceOf(VectorRowKernel.class);
  }

  @Test
  void narrowsToBf16LikeTheScalarRule() {
    // every bf16 value, each with the low halves that round down, tie, and round up
    int[] lows = {0x0000, 0x0001, 0x7fff, 0x8000, 0x8001, 0xffff};
    float[] values = new float[65536 * lows.length];
    for (int upper = 0; upper < 65536; upper++) {
      for (int k = 0; k < lows.length; k++) {
        values[upper * lows.length + k] = Float.intBitsToFloat(upper << 16 | lows[k]);
      }
    }
    forEachRow(
        values,
        1,
        (off, n) -> {
          short[] expected = new short[n];
          short[] actual = new short[n];
          SCALAR.narrowBf16(values, off, expected, n);
          vector.narrowBf16(values, off, actual, n);
          assertThat(actual).as("row at %d of %d", off, n).isEqualTo(expected);
        });
  }

  @Test
  void widensEveryBf16Value() {
    short[] halves = new short[65536];
    for (int h = 0; h < halves.length; h++) {
      halves[h] = (short) h;
    }
    forEachRow(
        new float[halves.length],
        2,
        (off, n) -> {
          short[] row = Arrays.copyOfRange(halves, off, off + n);
          float[] expected = new float[n + 3];
          float[] actual = new float[n + 3];
          SCALAR.widenBf16(row, expected, 3, n);
          vector.widenBf16(row, actual, 3, n);
          assertThat(bits(actual)).isEqualTo(bits(expected));
        });
  }

  @Test
  void encodesE4m3LikeTheScalarRule() {
    // every float from 0 past the saturation at 448 whose low 11 bits are 0: the e4m3 ties (low 20
    // bits 0x80000 on normals, odd multiples of 2^-10 on subnormals) are among them; both signs
    int count = 0x44000000 >>> 11;
    float[] values = new float[2 * count];
    for (int i = 0; i < count; i++) {
      values[2 * i] = Float.intBitsToFloat(i << 11);
      values[2 * i + 1] = -Float.intBitsToFloat(i << 11);
    }
    for (float factor : new float[] {1f, 0.75f, 3.5f}) {
      forEachRow(
          values,
          3,
          (off, n) -> {
            byte[] expected = new byte[n];
            byte[] actual = new byte[n];
            SCALAR.encodeE4m3(values, off, factor, expected, n);
            vector.encodeE4m3(values, off, factor, actual, n);
            assertThat(actual).as("row at %d of %d, factor %s", off, n, factor).isEqualTo(expected);
          });
    }
  }

  @Test
  void decodesEveryE4m3Code() {
    byte[] codes = new byte[256 * 4];
    for (int i = 0; i < codes.length; i++) {
      codes[i] = (byte) i;
    }
    for (float scale : new float[] {1f, 0.3f, 1e-40f, Float.MAX_VALUE / 448, 0f, Float.NaN}) {
      forEachRow(
          new float[codes.length],
          4,
          (off, n) -> {
            byte[] row = Arrays.copyOfRange(codes, off, off + n);
            float[] expected = new float[n + 1];
            float[] actual = new float[n + 1];
            SCALAR.decodeE4m3(row, scale, expected, 1, n);
            vector.decodeE4m3(row, scale, actual, 1, n);
            assertThat(bits(actual))
                .as("codes from %d, scale %s", off, scale)
                .isEqualTo(bits(expected));
          });
    }
  }

  @Test
  void findsTheLargestMagnitudeLikeTheScalarLoop() {
    Random random = new Random(5);
    float[] specials = {
      0f,
      -0f,
      Float.MIN_VALUE,
      Float.MIN_NORMAL,
      Float.MAX_VALUE,
      -Float.MAX_VALUE,
      Float.POSITIVE_INFINITY,
      Float.NEGATIVE_INFINITY,
      Float.NaN
    };
    float[] values = new float[100_000];
    for (int i = 0; i < values.length; i++) {
      values[i] =
          random.nextInt(50) == 0
              ? specials[random.nextInt(specials.length)]
              : (float) (random.nextGaussian() * Math.scalb(1.0, random.nextInt(60) - 30));
    }
    forEachRow(
        values,
        6,
        (off, n) ->
            assertThat(Float.floatToIntBits(vector.absMax(values, off, n)))
                .as("row at %d of %d", off, n)
                .isEqualTo(Float.floatToIntBits(SCALAR.absMax(values, off, n))));
  }

  private interface RowCheck {
    void check(int off, int n);
  }

  /** Cuts {@code values} into rows of random lengths, empty rows and vector tails included. */
  private static void forEachRow(float[] values, long seed, RowCheck check) {
    Random random = new Random(seed);
    int off = 0;
    while (off < values.length) {
      int n = Math.min(values.length - off, random.nextInt(200));
      check.check(off, n);
      off += n;
    }
  }

  private static int[] bits(float[] values) {
    int[] bits = new int[values.length];
    for (int i = 0; i < values.length; i++) {
      bits[i] = Float.floatToRawIntBits(values[i]);
    }
    return bits;
  }
}
