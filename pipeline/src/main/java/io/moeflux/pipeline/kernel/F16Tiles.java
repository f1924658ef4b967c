package io.moeflux.pipeline.kernel;

import static io.moeflux.pipeline.kernel.VectorLanes.FLOATS;
import static io.moeflux.pipeline.kernel.VectorLanes.HALVES;
import static io.moeflux.pipeline.kernel.VectorLanes.INTS;
import static io.moeflux.pipeline.kernel.VectorLanes.LANES;
import static io.moeflux.pipeline.kernel.VectorLanes.PANEL;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The tiles of {@link F32Tiles} over IEEE half-precision panels, decoded in registers from their
 * bits as {@link WeightFormat#f16ToFloat} does for finite values: exponent and mantissa shifted
 * into float32's positions, times 2^112, the sign put back. Infinite and NaN weights would need a
 * blend per vector; {@link VectorExpertKernel} gives an expert that has any to the scalar kernel
 * (same bits) instead. At most four rows per tile: decoding takes registers the sums would use.
 *
 * <p>A tile keeps {@code rows x 4} vectors of sums in registers: for each input index i of the
 * chunk it loads four vectors of weights (the panel's {@code 4 * LANES} outputs at i), broadcasts
 * each row's input i, and adds one fma per sum. Each sum thus grows over ascending i, one fma at a
 * time, whatever the tile's row count, which is why every tile and the scalar kernel agree to the
 * bit. The methods are unrolled by hand: the JIT keeps vectors in registers only when each is a
 * local variable of its own.
 */
final class F16Tiles {
  private F16Tiles() {}

  /** {@code LANES} finite half-precision weights from {@code w[at]} as float32 lanes. */
  private static FloatVector widen(short[] w, int at) {
    IntVector bits =
        (IntVector) ShortVector.fromArray(HALVES, w, at).convertShape(VectorOperators.S2I, INTS, 0);
    FloatVector magnitude =
        bits.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f);
    return magnitude
        .reinterpretAsInts()
        .or(bits.and(0x8000).lanewise(VectorOperators.LSHL, 16))
        .reinterpretAsFloats();
  }

  /** Runs the tile of {@code rows} rows (one of 4, 2, 1). */
  static void tile(
      int rows, float[] x, int xo, short[] w, int wo, int kc, float[] c, int co, int ldc) {
    switch (rows) {
      case 4 -> rows4(x, xo, w, wo, kc, c, co, ldc);
      case 2 -> rows2(x, xo, w, wo, kc, c, co, ldc);
      case 1 -> rows1(x, xo, w, wo, kc, c, co, ldc);
      default -> throw new IllegalArgumentException("no tile of " + rows + " rows");
    }
  }

  static void rows4(float[] x, int xo, short[] w, int wo, int kc, float[] c, int co, int ldc) {
    FloatVector c00 = FloatVector.fromArray(FLOATS, c, co);
    FloatVector c01 = FloatVector.fromArray(FLOATS, c, co + LANES);
    FloatVector c02 = FloatVector.fromArray(FLOATS, c, co + 2 * LANES);
    FloatVector c03 = FloatVector.fromArray(FLOATS, c, co + 3 * LANES);
    FloatVector c10 = FloatVector.fromArray(FLOATS, c, co + ldc);
    FloatVector c11 = FloatVector.fromArray(FLOATS, c, co + ldc + LANES);
    FloatVector c12 = FloatVector.fromArray(FLOATS, c, co + ldc + 2 * LANES);
    FloatVector c13 = FloatVector.fromArray(FLOATS, c, co + ldc + 3 * LANES);
    FloatVector c20 = FloatVector.fromArray(FLOATS, c, co + 2 * ldc);
    FloatVector c21 = FloatVector.fromArray(FLOATS, c, co + 2 * ldc + LANES);
    FloatVector c22 = FloatVector.fromArray(FLOATS, c, co + 2 * ldc + 2 * LANES);
    FloatVector c23 = FloatVector.fromArray(FLOATS, c, co + 2 * ldc + 3 * LANES);
    FloatVector c30 = FloatVector.fromArray(FLOATS, c, co + 3 * ldc);
    FloatVector c31 = FloatVector.fromArray(FLOATS, c, co + 3 * ldc + LANES);
    FloatVector c32 = FloatVector.fromArray(FLOATS, c, co + 3 * ldc + 2 * LANES);
    FloatVector c33 = FloatVector.fromArray(FLOATS, c, co + 3 * ldc + 3 * LANES);
    for (int i = 0, wi = wo, xi = xo; i < kc; i++, wi += PANEL, xi += 4) {
      FloatVector w0 = widen(w, wi);
      FloatVector w1 = widen(w, wi + LANES);
      FloatVector w2 = widen(w, wi + 2 * LANES);
      FloatVector w3 = widen(w, wi + 3 * LANES);
      FloatVector x0 = FloatVector.broadcast(FLOATS, x[xi]);
      c00 = w0.fma(x0, c00);
      c01 = w1.fma(x0, c01);
      c02 = w2.fma(x0, c02);
      c03 = w3.fma(x0, c03);
      FloatVector x1 = FloatVector.broadcast(FLOATS, x[xi + 1]);
      c10 = w0.fma(x1, c10);
      c11 = w1.fma(x1, c11);
      c12 = w2.fma(x1, c12);
      c13 = w3.fma(x1, c13);
      FloatVector x2 = FloatVector.broadcast(FLOATS, x[xi + 2]);
      c20 = w0.fma(x2, c20);
      c21 = w1.fma(x2, c21);
      c22 = w2.fma(x2, c22);
      c23 = w3.fma(x2, c23);
      FloatVector x3 = FloatVector.broadcast(FLOATS, x[xi + 3]);
      c30 = w0.fma(x3, c30);
      c31 = w1.fma(x3, c31);
      c32 = w2.fma(x3, c32);
      c33 = w3.fma(x3, c33);
    }
    c00.intoArray(c, co);
    c01.intoArray(c, co + LANES);
    c02.intoArray(c, co + 2 * LANES);
    c03.intoArray(c, co + 3 * LANES);
    c10.intoArray(c, co + ldc);
    c11.intoArray(c, co + ldc + LANES);
    c12.intoArray(c, co + ldc + 2 * LANES);
    c13.intoArray(c, co + ldc + 3 * LANES);
    c20.intoArray(c, co + 2 * ldc);
    c21.intoArray(c, co + 2 * ldc + LANES);
    c22.intoArray(c, co + 2 * ldc + 2 * LANES);
    c23.intoArray(c, co + 2 * ldc + 3 * LANES);
    c30.intoArray(c, co + 3 * ldc);
    c31.intoArray(c, co + 3 * ldc + LANES);
    c32.intoArray(c, co + 3 * ldc + 2 * LANES);
    c33.intoArray(c, co + 3 * ldc + 3 * LANES);
  }

  static void rows2(float[] x, int xo, short[] w, int wo, int kc, float[] c, int co, int ldc) {
    FloatVector c00 = FloatVector.fromArray(FLOATS, c, co);
    FloatVector c01 = FloatVector.fromArray(FLOATS, c, co + LANES);
    FloatVector c02 = FloatVector.fromArray(FLOATS, c, co + 2 * LANES);
    FloatVector c03 = FloatVector.fromArray(FLOATS, c, co + 3 * LANES);
    FloatVector c10 = FloatVector.fromArray(FLOATS, c, co + ldc);
    FloatVector c11 = FloatVector.fromArray(FLOATS, c, co + ldc + LANES);
    FloatVector c12 = FloatVector.fromArray(FLOATS, c, co + ldc + 2 * LANES);
    FloatVector c13 = FloatVector.fromArray(FLOATS, c, co + ldc + 3 * LANES);
    for (int i = 0, wi = wo, xi = xo; i < kc; i++, wi += PANEL, xi += 2) {
      FloatVector w0 = widen(w, wi);
      FloatVector w1 = widen(w, wi + LANES);
      FloatVector w2 = widen(w, wi + 2 * LANES);
      FloatVector w3 = widen(w, wi + 3 * LANES);
      FloatVector x0 = FloatVector.broadcast(FLOATS, x[xi]);
      c00 = w0.fma(x0, c00);
      c01 = w1.fma(x0, c01);
      c02 = w2.fma(x0, c02);
      c03 = w3.fma(x0, c03);
      FloatVector x1 = FloatVector.broadcast(FLOATS, x[xi + 1]);
      c10 = w0.fma(x1, c10);
      c11 = w1.fma(x1, c11);
      c12 = w2.fma(x1, c12);
      c13 = w3.fma(x1, c13);
    }
    c00.intoArray(c, co);
    c01.intoArray(c, co + LANES);
    c02.intoArray(c, co + 2 * LANES);
    c03.intoArray(c, co + 3 * LANES);
    c10.intoArray(c, co + ldc);
    c11.intoArray(c, co + ldc + LANES);
    c12.intoArray(c, co + ldc + 2 * LANES);
    c13.intoArray(c, co + ldc + 3 * LANES);
  }

  static void rows1(float[] x, int xo, short[] w, int wo, int kc, float[] c, int co, int ldc) {
    FloatVector c00 = FloatVector.fromArray(FLOATS, c, co);
    FloatVector c01 = FloatVector.fromArray(FLOATS, c, co + LANES);
    FloatVector c02 = FloatVector.fromArray(FLOATS, c, co + 2 * LANES);
    FloatVector c03 = FloatVector.fromArray(FLOATS, c, co + 3 * LANES);
    for (int i = 0, wi = wo, xi = xo; i < kc; i++, wi += PANEL, xi += 1) {
      FloatVector w0 = widen(w, wi);
      FloatVector w1 = widen(w, wi + LANES);
      FloatVector w2 = widen(w, wi + 2 * LANES);
      FloatVector w3 = widen(w, wi + 3 * LANES);
      FloatVector x0 = FloatVector.broadcast(FLOATS, x[xi]);
      c00 = w0.fma(x0, c00);
      c01 = w1.fma(x0, c01);
      c02 = w2.fma(x0, c02);
      c03 = w3.fma(x0, c03);
    }
    c00.intoArray(c, co);
    c01.intoArray(c, co + LANES);
    c02.intoArray(c, co + 2 * LANES);
    c03.intoArray(c, co + 3 * LANES);
  }
}
