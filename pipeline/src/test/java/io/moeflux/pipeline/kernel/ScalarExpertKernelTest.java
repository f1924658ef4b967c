package io.moeflux.pipeline.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.pipeline.checkpoint.ExpertTensors;
import io.moeflux.pipeline.checkpoint.StoredTensor;
import io.moeflux.pipeline.checkpoint.TensorDtype;
import io.moeflux.pipeline.model.ExpertFfn;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ScalarExpertKernelTest {
  private static final int H = 24;
  private static final int I = 40;

  private static float[] random(SplittableRandom r, int n, double scale) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
    }
    return v;
  }

  @ParameterizedTest
  @EnumSource(
      value = TensorDtype.class,
      names = {"F32", "BF16", "F16"})
  void swigluOfTheStoredWeightsAccumulatedInFloat(TensorDtype dtype) {
    SplittableRandom random = new SplittableRandom(dtype.ordinal());
    ExpertTensors w =
        new ExpertTensors(
            StoredTensor.rounded(dtype, new long[] {I, H}, random(random, I * H, 0.3)),
            StoredTensor.rounded(dtype, new long[] {I, H}, random(random, I * H, 0.3)),
            StoredTensor.rounded(dtype, new long[] {H, I}, random(random, H * I, 0.2)));
    StoredExpert expert = new StoredExpert(w, ScalarExpertKernel.INSTANCE);
    assertThat(expert.weightBytes()).isEqualTo(3L * H * I * dtype.bytes());
    int rows = 7;
    float[] x = random(random, rows * H, 1);
    float[] y = new float[rows * H];
    expert.forward(x, 0, rows, y, 0, new float[expert.scratchLength(rows)]);
    float[] gate = w.gate().toFloats();
    float[] up = w.up().toFloats();
    float[] down = w.down().toFloats();
    for (int r = 0; r < rows; r++) {
      double[] a = new double[I];
      for (int j = 0; j < I; j++) {
        double g = 0;
        double u = 0;
        for (int i = 0; i < H; i++) {
          g += (double) gate[j * H + i] * x[r * H + i];
          u += (double) up[j * H + i] * x[r * H + i];
        }
        a[j] = g / (1 + Math.exp(-g)) * u;
      }
      for (int k = 0; k < H; k++) {
        double expected = 0;
        for (int j = 0; j < I; j++) {
          expected += down[k * I + j] * a[j];
        }
        assertThat(Math.abs(y[r * H + k] - expected)).isLessThan(1e-5);
      }
    }
    // each row alone gives the same bits as in the batch
    float[] alone = new float[H];
    for (int r = 0; r < rows; r++) {
      expert.forward(x, r * H, 1, alone, 0, new float[expert.scratchLength(1)]);
      assertThat(alone).containsExactly(Arrays.copyOfRange(y, r * H, (r + 1) * H));
    }
    assertThat(ExpertFfn.silu(0f)).isZero();
  }
}
