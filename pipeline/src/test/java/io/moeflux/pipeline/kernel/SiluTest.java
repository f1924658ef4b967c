package io.moeflux.pipeline.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class SiluTest {

  @Test
  void expIsWithinTwoUlpOfMathExp() {
    SplittableRandom random = new SplittableRandom(1);
    for (int n = 0; n < 200_000; n++) {
      float x = (float) (random.nextDouble() * 175 - 87);
      double exact = Math.exp(x);
      assertThat(Math.abs(Silu.exp(x) - exact))
          .as("exp(%s)", x)
          .isLessThanOrEqualTo(2 * Math.ulp((float) exact));
    }
    assertThat(Silu.exp(0f)).isEqualTo(1f);
    assertThat(Silu.exp(-1000f)).isPositive().isLessThan(2e-38f);
    assertThat(Silu.exp(1000f)).isFinite().isGreaterThan(1e38f);
  }

  @Test
  void siluFollowsItsDefinitionAndSaturates() {
    assertThat(Silu.silu(0f)).isZero();
    assertThat((double) Silu.silu(2f)).isCloseTo(2 / (1 + Math.exp(-2)), offset(1e-6));
    assertThat(Silu.silu(200f)).isEqualTo(200f);
    assertThat(Silu.silu(-200f)).isNegative().isGreaterThan(-1e-35f);
    assertThat(Silu.silu(Float.NaN)).isNaN();
  }

  @Test
  void theVectorActivationHasTheScalarBitsInEveryLane() {
    int lanes = FloatVector.SPECIES_PREFERRED.length();
    float[] specials = {
      0f,
      -0f,
      1e-30f,
      -1e-30f,
      1f,
      -1f,
      20f,
      -20f,
      87.5f,
      -87.5f,
      88.5f,
      -88.5f,
      100f,
      -100f,
      Float.POSITIVE_INFINITY,
      Float.NEGATIVE_INFINITY,
      Float.NaN,
      Float.MIN_VALUE,
      Float.MAX_VALUE
    };
    SplittableRandom random = new SplittableRandom(2);
    int n = 64 * lanes;
    float[] g = new float[n];
    float[] u = new float[n];
    for (int i = 0; i < n; i++) {
      g[i] = i < specials.length ? specials[i] : (float) ((random.nextDouble() * 2 - 1) * 30);
      u[i] = (float) (random.nextDouble() * 4 - 2);
    }
    float[] out = new float[n];
    for (int i = 0; i < n; i += lanes) {
      VectorExpertKernel.siluTimes(
              FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, g, i),
              FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, u, i))
          .intoArray(out, i);
    }
    for (int i = 0; i < n; i++) {
      assertThat(Float.floatToRawIntBits(out[i]))
          .as("silu(%s) * %s", g[i], u[i])
          .isEqualTo(Float.floatToRawIntBits(Silu.silu(g[i]) * u[i]));
    }
  }
}
