package io.moeflux.pipeline.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import io.moeflux.pipeline.kernel.ExpertKernels;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ExpertFfnTest {
  private static final int HIDDEN = 24;
  private static final int INTERMEDIATE = 40;

  private final ModelConfig config =
      ModelConfig.builder().hidden(HIDDEN).intermediate(INTERMEDIATE).build();
  private final ExpertFfn ffn =
      ExpertFfn.swiglu(ExpertWeights.generate(config, 1, 2), ExpertKernels.preferred());

  private static float[] randomRows(SplittableRandom random, int rows) {
    float[] x = new float[rows * HIDDEN];
    for (int n = 0; n < x.length; n++) {
      x[n] = (float) (random.nextDouble() * 4 - 2);
    }
    return x;
  }

  @Test
  void batchedEqualsRowByRowBitwise() {
    SplittableRandom random = new SplittableRandom(7);
    float[] one = new float[ffn.scratchLength(1)];
    for (int trial = 0; trial < 30; trial++) {
      int rows = 1 + random.nextInt(13);
      int xOffset = random.nextInt(5);
      int yOffset = random.nextInt(5);
      float[] x = new float[xOffset + rows * HIDDEN];
      System.arraycopy(randomRows(random, rows), 0, x, xOffset, rows * HIDDEN);
      float[] batched = new float[yOffset + rows * HIDDEN];
      Arrays.fill(batched, Float.NaN);
      ffn.forward(x, xOffset, rows, batched, yOffset, new float[ffn.scratchLength(rows)]);
      for (int r = 0; r < rows; r++) {
        float[] single = new float[HIDDEN];
        ffn.forward(x, xOffset + r * HIDDEN, 1, single, 0, one);
        float[] fromBatch =
            Arrays.copyOfRange(batched, yOffset + r * HIDDEN, yOffset + (r + 1) * HIDDEN);
        assertThat(bits(fromBatch))
            .as("trial %d row %d of %d", trial, r, rows)
            .isEqualTo(bits(single));
      }
    }
  }

  @Test
  void aRowsResultDoesNotDependOnItsNeighbours() {
    SplittableRandom random = new SplittableRandom(11);
    float[] row = randomRows(random, 1);
    float[] expected = new float[HIDDEN];
    ffn.forward(row, 0, 1, expected, 0, new float[ffn.scratchLength(1)]);
    for (int rows = 2; rows <= 9; rows++) {
      float[] x = randomRows(random, rows);
      int place = random.nextInt(rows);
      System.arraycopy(row, 0, x, place * HIDDEN, HIDDEN);
      float[] y = new float[rows * HIDDEN];
      ffn.forward(x, 0, rows, y, 0, new float[ffn.scratchLength(rows)]);
      assertThat(bits(Arrays.copyOfRange(y, place * HIDDEN, (place + 1) * HIDDEN)))
          .isEqualTo(bits(expected));
    }
  }

  @Test
  void swigluMatchesNaiveDoublePrecision() {
    ExpertWeights w = ExpertWeights.generate(config, 1, 2);
    float[] all = new float[w.floatCount()];
    w.copyTo(all, 0);
    int n = HIDDEN * INTERMEDIATE;
    SplittableRandom random = new SplittableRandom(3);
    int rows = 6;
    float[] x = randomRows(random, rows);
    float[] y = new float[rows * HIDDEN];
    ffn.forward(x, 0, rows, y, 0, new float[ffn.scratchLength(rows)]);
    for (int r = 0; r < rows; r++) {
      double[] act = new double[INTERMEDIATE];
      for (int j = 0; j < INTERMEDIATE; j++) {
        double g = 0;
        double u = 0;
        for (int i = 0; i < HIDDEN; i++) {
          g += x[r * HIDDEN + i] * (double) all[i * INTERMEDIATE + j];
          u += x[r * HIDDEN + i] * (double) all[n + i * INTERMEDIATE + j];
        }
        act[j] = g / (1 + Math.exp(-g)) * u;
      }
      double[] expected = new double[HIDDEN];
      double scale = 0;
      for (int k = 0; k < HIDDEN; k++) {
        for (int j = 0; j < INTERMEDIATE; j++) {
          expected[k] += act[j] * all[2 * n + j * HIDDEN + k];
        }
        scale = Math.max(scale, Math.abs(expected[k]));
      }
      assertThat(scale).isGreaterThan(1e-3);
      for (int k = 0; k < HIDDEN; k++) {
        assertThat((double) y[r * HIDDEN + k])
            .as("row %d element %d", r, k)
            .isCloseTo(expected[k], offset(1e-5 * scale));
      }
    }
  }

  @Test
  void overwritesWhateverWasInY() {
    float[] x = randomRows(new SplittableRandom(5), 3);
    float[] clean = new float[3 * HIDDEN];
    float[] dirty = new float[3 * HIDDEN];
    Arrays.fill(dirty, 123f);
    float[] scratch = new float[ffn.scratchLength(3)];
    ffn.forward(x, 0, 3, clean, 0, scratch);
    Arrays.fill(scratch, -7f);
    ffn.forward(x, 0, 3, dirty, 0, scratch);
    assertThat(bits(dirty)).isEqualTo(bits(clean));
  }

  @Test
  void identityCopiesRows() {
    ExpertFfn identity = ExpertFfn.identity(HIDDEN);
    assertThat(identity.kind()).isEqualTo(ExpertKind.IDENTITY);
    assertThat(identity.weights()).isNull();
    assertThat(identity.scratchLength(100)).isZero();
    float[] x = randomRows(new SplittableRandom(9), 4);
    float[] y = new float[HIDDEN + 4 * HIDDEN];
    identity.forward(x, 0, 4, y, HIDDEN, new float[0]);
    assertThat(Arrays.copyOfRange(y, HIDDEN, y.length)).isEqualTo(x);
    identity.forward(x, 0, 0, y, 0, null);
  }

  @Test
  void scratchLengthGrowsWithRowsThenStops() {
    assertThat(ffn.kind()).isEqualTo(ExpertKind.SWIGLU);
    assertThat(ffn.hidden()).isEqualTo(HIDDEN);
    assertThat(ffn.scratchLength(0)).isZero();
    int previous = 0;
    for (int rows = 1; rows < 20; rows++) {
      assertThat(ffn.scratchLength(rows)).isGreaterThanOrEqualTo(previous);
      previous = ffn.scratchLength(rows);
    }
    assertThat(ffn.scratchLength(1_000_000)).isEqualTo(ffn.scratchLength(100_000));
  }

  @Test
  void rejectsBadArguments() {
    float[] x = new float[2 * HIDDEN];
    float[] y = new float[2 * HIDDEN];
    assertThatThrownBy(() -> ffn.forward(x, 1, 2, y, 0, new float[ffn.scratchLength(2)]))
        .isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> ffn.forward(x, 0, 2, y, 1, new float[ffn.scratchLength(2)]))
        .isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> ffn.forward(x, 0, 2, y, 0, new float[1]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("scratch");
    assertThatThrownBy(() -> ffn.forward(x, 0, -1, y, 0, new float[0]))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ExpertFfn.identity(0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ExpertFfn.swiglu(null, ExpertKernels.preferred()))
        .isInstanceOf(NullPointerException.class);
  }

  @Test
  void weightsReadBackFromThePackedCopyBitForBit() {
    ExpertWeights w = ExpertWeights.generate(config, 1, 2);
    assertThat(ffn.weights()).isNotNull();
    assertThat(ffn.weights().sameBits(w)).isTrue();
    assertThat(ffn.toString()).contains(ExpertKernels.preferred().name());
  }

  static int[] bits(float[] values) {
    int[] bits = new int[values.length];
    for (int n = 0; n < values.length; n++) {
      bits[n] = Float.floatToRawIntBits(values[n]);
    }
    return bits;
  }
}
