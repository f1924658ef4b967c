package io.moeflux.pipeline.kernel;

import static io.moeflux.pipeline.kernel.RandomExperts.expert;
import static io.moeflux.pipeline.kernel.RandomExperts.naive;
import static io.moeflux.pipeline.kernel.RandomExperts.pack;
import static io.moeflux.pipeline.kernel.RandomExperts.rms;
import static io.moeflux.pipeline.kernel.RandomExperts.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.pipeline.checkpoint.NarrowFloats;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Both kernels against a naive double-precision SwiGLU on random shapes (odd sizes, outputs that
 * are not whole vectors or panels, 0 rows, more rows than one pass takes), against each other, and
 * the batching rule: a row's bits never depend on the rows around it.
 */
class ExpertKernelsTest {
  private static final ExpertKernel VECTOR = ExpertKernels.vector().orElseThrow();
  private static final ExpertKernel SCALAR = ScalarExpertKernel.INSTANCE;
  private static final List<ExpertKernel> KERNELS = List.of(VECTOR, SCALAR);

  @Test
  void theTestsRunTheVectorKernel() {
    assertThat(ExpertKernels.vectorModuleEnabled()).isTrue();
    assertThat(ExpertKernels.preferred()).isSameAs(VECTOR);
    assertThat(VECTOR.name()).matches("vector\\d+-fma-v1");
    assertThat(SCALAR.name()).isEqualTo("scalar-fma-v1");
  }

  @ParameterizedTest
  @EnumSource(WeightFormat.class)
  void bothKernelsMatchANaiveDoublePrecisionSwiglu(WeightFormat format) {
    SplittableRandom random = new SplittableRandom(100 + format.ordinal());
    for (int trial = 0; trial < 24; trial++) {
      int hidden = 1 + random.nextInt(trial < 20 ? 150 : 300);
      int intermediate = 1 + random.nextInt(120);
      int rows =
          trial == 0 ? 0 : trial == 23 ? VectorExpertKernel.ROW_CHUNK + 7 : random.nextInt(20);
      WeightMatrix[] w = expert(random, format, hidden, intermediate);
      float[] x = RandomExperts.floats(random, rows * hidden, 1);
      for (ExpertKernel kernel : KERNELS) {
        float[] y = run(pack(kernel, w), x, rows);
        for (int r = 0; r < rows; r++) {
          double[] expected = naive(w, x, r);
          double tolerance = 2e-5 * rms(expected) + 1e-30;
          for (int k = 0; k < hidden; k++) {
            assertThat(Math.abs(y[r * hidden + k] - expected[k]))
                .as(
                    "%s %s hidden %d intermediate %d row %d of %d, output %d",
                    kernel, format, hidden, intermediate, r, rows, k)
                .isLessThanOrEqualTo(tolerance);
          }
        }
      }
    }
  }

  @ParameterizedTest
  @EnumSource(WeightFormat.class)
  void theFallbackStaysWithinAMillionthOfTheRowRmsOfTheVectorPath(WeightFormat format) {
    SplittableRandom random = new SplittableRandom(200 + format.ordinal());
    for (int trial = 0; trial < 40; trial++) {
      int hidden = 1 + random.nextInt(200);
      int intermediate = 1 + random.nextInt(160);
      int rows = random.nextInt(trial % 10 == 0 ? 300 : 14);
      WeightMatrix[] w = expert(random, format, hidden, intermediate);
      float[] x = RandomExperts.floats(random, rows * hidden, 2);
      float[] vector = run(pack(VECTOR, w), x, rows);
      float[] scalar = run(pack(SCALAR, w), x, rows);
      for (int r = 0; r < rows; r++) {
        double sum = 0;
        for (int k = 0; k < hidden; k++) {
          sum += (double) vector[r * hidden + k] * vector[r * hidden + k];
        }
        double bound = 1e-6 * Math.sqrt(sum / hidden);
        for (int k = 0; k < hidden; k++) {
          assertThat((double) Math.abs(scalar[r * hidden + k] - vector[r * hidden + k]))
              .isLessThanOrEqualTo(bound);
        }
      }
      // Stronger than the bound: the same operations in the same order give the same bits.
      assertThat(scalar)
          .as("hidden %d intermediate %d", hidden, intermediate)
          .containsExactly(vector);
    }
  }

  @ParameterizedTest
  @EnumSource(WeightFormat.class)
  void aRowHasTheSameBitsAloneAndInBatchesOfAnySize(WeightFormat format) {
    SplittableRandom random = new SplittableRandom(300 + format.ordinal());
    int hidden = 70;
    int intermediate = 53;
    WeightMatrix[] w = expert(random, format, hidden, intermediate);
    float[] row = RandomExperts.floats(random, hidden, 1.5);
    for (ExpertKernel kernel : KERNELS) {
      PackedExpert expert = pack(kernel, w);
      float[] alone = run(expert, row, 1);
      int[] sizes = {2, 3, 4, 5, 6, 7, 8, 11, 12, 13, 17, 31, 64, 255, 256, 257, 300};
      for (int rows : sizes) {
        int at = random.nextInt(rows);
        float[] x = RandomExperts.floats(random, rows * hidden, 1.5);
        System.arraycopy(row, 0, x, at * hidden, hidden);
        int xOffset = random.nextInt(9);
        int yOffset = random.nextInt(9);
        float[] shifted = new float[xOffset + x.length];
        System.arraycopy(x, 0, shifted, xOffset, x.length);
        float[] y = new float[yOffset + x.length];
        expert.forward(shifted, xOffset, rows, y, yOffset, new float[expert.scratchLength(rows)]);
        int from = yOffset + at * hidden;
        assertThat(Arrays.copyOfRange(y, from, from + hidden))
            .as("%s: row %d of %d", kernel, at, rows)
            .containsExactly(alone);
      }
    }
  }

  @Test
  void zeroRowsWriteNothing() {
    SplittableRandom random = new SplittableRandom(4);
    for (ExpertKernel kernel : KERNELS) {
      PackedExpert expert = pack(kernel, expert(random, WeightFormat.BF16, 33, 17));
      assertThat(expert.scratchLength(0)).isZero();
      float[] y = {Float.NaN, Float.NaN};
      expert.forward(new float[0], 0, 0, y, 2, new float[0]);
      assertThat(y).containsExactly(Float.NaN, Float.NaN);
    }
  }

  @ParameterizedTest
  @EnumSource(WeightFormat.class)
  void packedWeightsReadBackAsGiven(WeightFormat format) {
    SplittableRandom random = new SplittableRandom(5);
    WeightMatrix[] w = expert(random, format, 81, 45);
    for (ExpertKernel kernel : KERNELS) {
      PackedExpert expert = pack(kernel, w);
      assertThat(expert.kernel()).isEqualTo(kernel.name());
      assertThat(expert.hidden()).isEqualTo(81);
      assertThat(expert.intermediate()).isEqualTo(45);
      assertThat(expert.format(PackedExpert.Matrix.DOWN)).isEqualTo(format);
      assertThat(expert.weightBytes()).isGreaterThanOrEqualTo(3L * 81 * 45 * format.bytes());
      for (int n = 0; n < 500; n++) {
        int j = random.nextInt(45);
        int i = random.nextInt(81);
        assertThat(expert.weight(PackedExpert.Matrix.GATE, j, i)).isEqualTo(w[0].get(j, i));
        assertThat(expert.weight(PackedExpert.Matrix.UP, j, i)).isEqualTo(w[1].get(j, i));
        assertThat(expert.weight(PackedExpert.Matrix.DOWN, i, j)).isEqualTo(w[2].get(i, j));
      }
    }
  }

  @Test
  void halfPrecisionInfinitiesAndNansRunTheScalarArithmetic() {
    SplittableRandom random = new SplittableRandom(6);
    WeightMatrix[] w = expert(random, WeightFormat.F16, 20, 12);
    short[] bits = new short[12 * 20];
    for (int j = 0; j < 12; j++) {
      for (int i = 0; i < 20; i++) {
        bits[j * 20 + i] = NarrowFloats.floatToF16(w[1].get(j, i));
      }
    }
    bits[7] = (short) 0x7C00;
    w[1] = WeightMatrix.ofHalves(WeightFormat.F16, 12, 20, WeightMatrix.Layout.OUT_IN, bits);
    PackedExpert expert = pack(VECTOR, w);
    assertThat(expert.kernel()).isEqualTo(SCALAR.name());
    float[] x = RandomExperts.floats(random, 3 * 20, 1);
    assertThat(run(expert, x, 3)).containsExactly(run(pack(SCALAR, w), x, 3));
  }

  @Test
  void refusesMatricesThatDisagree() {
    SplittableRandom random = new SplittableRandom(7);
    WeightMatrix[] w = expert(random, WeightFormat.F32, 16, 8);
    WeightMatrix half = RandomExperts.matrix(random, WeightFormat.BF16, 8, 16, 1);
    for (ExpertKernel kernel : KERNELS) {
      assertThatThrownBy(() -> kernel.pack(w[0], w[1], w[0]))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("disagree");
      assertThatThrownBy(() -> kernel.pack(w[0], half, w[2]))
          .hasMessageContaining("gate and up differ in format");
      PackedExpert expert = pack(kernel, w);
      assertThatThrownBy(() -> expert.forward(new float[16], 0, 1, new float[16], 0, new float[1]))
          .hasMessageContaining("scratch");
      assertThatThrownBy(() -> expert.forward(new float[16], 1, 1, new float[16], 0, new float[0]))
          .isInstanceOf(IndexOutOfBoundsException.class);
    }
  }
}
