package io.moeflux.transport.protocol;

import static jdk.incubator.vector.VectorOperators.B2I;
import static jdk.incubator.vector.VectorOperators.EQ;
import static jdk.incubator.vector.VectorOperators.GT;
import static jdk.incubator.vector.VectorOperators.I2B;
import static jdk.incubator.vector.VectorOperators.I2S;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.LT;
import static jdk.incubator.vector.VectorOperators.MAX;
import static jdk.incubator.vector.VectorOperators.S2I;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.jspecify.annotations.Nullable;

/**
 * The row conversions with the JDK Vector API: the bit manipulations of {@link Bf16} and {@link
 * E4m3} on whole vectors of lanes (JDK 17's C2 does not vectorise loops that change the element
 * width), the tail of a row through {@link ScalarRowKernel}. Loaded by name by {@link RowKernels}
 * only when the incubator module is enabled.
 */
final class VectorRowKernel implements RowKernel {
  private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
  private static final int LANES = FLOATS.length();

  /** Fewest float lanes: the byte vector of as many lanes must be a shape the JDK has (64 bits). */
  static final int MIN_LANES = 8;

  private static final VectorSpecies<Short> HALVES =
      VectorSpecies.of(short.class, VectorShape.forBitSize(Math.max(64, LANES * Short.SIZE)));
  private static final VectorSpecies<Byte> CODES =
      VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, LANES * Byte.SIZE)));

  /** The bits of 2^-6, the smallest normal e4m3 value: below it, codes are multiples of 2^-9. */
  private static final int E4M3_MIN_NORMAL_BITS = Float.floatToRawIntBits(0x1p-6f);

  /** Adding 2^23 to a float in [0, 2^23) rounds it to an integer, ties to even, as rint does. */
  private static final float ROUND_TO_INTEGER = 0x1p23f;

  private static final int ROUND_TO_INTEGER_BITS = Float.floatToRawIntBits(ROUND_TO_INTEGER);

  /** float32 exponent bias 127 minus e4m3 bias 7, in the code's exponent position. */
  private static final int REBIAS = (127 - 7) << 3;

  private VectorRowKernel() {}

  /** The kernel, or null when this machine's vectors hold fewer than {@value #MIN_LANES} floats. */
  public static @Nullable RowKernel create() {
    return LANES >= MIN_LANES ? new VectorRowKernel() : null;
  }

  @Override
  public void narrowBf16(float[] src, int off, short[] out, int n) {
    int bound = FLOATS.loopBound(n);
    int j = 0;
    for (; j < bound; j += LANES) {
      IntVector bits = FloatVector.fromArray(FLOATS, src, off + j).reinterpretAsInts();
      IntVector upper = bits.lanewise(LSHR, 16);
      IntVector rounded = bits.add(upper.and(1)).add(0x7fff).lanewise(LSHR, 16);
      IntVector quietNaN = upper.or(0x0040);
      IntVector half = rounded.blend(quietNaN, bits.and(0x7fffffff).compare(GT, 0x7f800000));
      ((ShortVector) half.convertShape(I2S, HALVES, 0)).intoArray(out, j);
    }
    ScalarRowKernel.narrowBf16(src, off, out, j, n);
  }

  @Override
  public void widenBf16(short[] src, float[] dst, int off, int n) {
    int bound = FLOATS.loopBound(n);
    int j = 0;
    for (; j < bound; j += LANES) {
      IntVector half = (IntVector) ShortVector.fromArray(HALVES, src, j).convertShape(S2I, INTS, 0);
      half.lanewise(LSHL, 16).reinterpretAsFloats().intoArray(dst, off + j);
    }
    ScalarRowKernel.widenBf16(src, dst, off, j, n);
  }

  @Override
  public float absMax(float[] src, int off, int n) {
    int bound = FLOATS.loopBound(n);
    FloatVector max = FloatVector.zero(FLOATS);
    int j = 0;
    for (; j < bound; j += LANES) {
      max = max.max(FloatVector.fromArray(FLOATS, src, off + j).abs());
    }
    return ScalarRowKernel.absMax(src, off, j, n, max.reduceLanes(MAX));
  }

  @Override
  public void encodeE4m3(float[] src, int off, float factor, byte[] codes, int n) {
    int bound = FLOATS.loopBound(n);
    int j = 0;
    for (; j < bound; j += LANES) {
      FloatVector value = FloatVector.fromArray(FLOATS, src, off + j).mul(factor);
      IntVector sign = value.reinterpretAsInts().lanewise(LSHR, 24).and(0x80);
      FloatVector magnitude = value.abs().min(E4m3.MAX);
      IntVector bits = magnitude.reinterpretAsInts();
      IntVector subnormal =
          magnitude
              .mul(0x1p9f)
              .add(ROUND_TO_INTEGER)
              .reinterpretAsInts()
              .sub(ROUND_TO_INTEGER_BITS);
      IntVector normal =
          bits.add(bits.lanewise(LSHR, 20).and(1)).add(0x7ffff).lanewise(LSHR, 20).sub(REBIAS);
      IntVector code = normal.blend(subnormal, bits.compare(LT, E4M3_MIN_NORMAL_BITS)).or(sign);
      ((ByteVector) code.convertShape(I2B, CODES, 0)).intoArray(codes, j);
    }
    ScalarRowKernel.encodeE4m3(src, off, factor, codes, j, n);
  }

  @Override
  public void decodeE4m3(byte[] codes, float scale, float[] dst, int off, int n) {
    int bound = FLOATS.loopBound(n);
    int j = 0;
    for (; j < bound; j += LANES) {
      IntVector code = (IntVector) ByteVector.fromArray(CODES, codes, j).convertShape(B2I, INTS, 0);
      IntVector magnitude = code.and(0x7f);
      IntVector sign = code.and(0x80).lanewise(LSHL, 24);
      // exponent and mantissa in float32's places: times 2^120 rebiases them, subnormals included
      IntVector bits =
          magnitude
              .lanewise(LSHL, 20)
              .or(sign)
              .blend(sign.or(0x7fc00000), magnitude.compare(EQ, 0x7f));
      bits.reinterpretAsFloats().mul(0x1p120f).mul(scale).intoArray(dst, off + j);
    }
    ScalarRowKernel.decodeE4m3(codes, scale, dst, off, j, n);
  }

  @Override
  public String name() {
    return "vector" + FLOATS.vectorBitSize();
  }
}
