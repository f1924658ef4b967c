package io.moeflux.pipeline.reference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.pipeline.checkpoint.CheckpointGenerator;
import io.moeflux.pipeline.checkpoint.ModelFamily;
import io.moeflux.pipeline.model.CounterBasedRandom;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class TieFreeCheckpointTest {
  @TempDir Path dir;

  private static float[] inputs(int tokens, int hidden) {
    float[] x = new float[tokens * hidden];
    for (int i = 0; i < x.length; i++) {
      x[i] = CounterBasedRandom.symmetric(42, i, 1f);
    }
    return x;
  }

  @ParameterizedTest
  @EnumSource(ModelFamily.class)
  void theWrittenSeedRoutesTheInputsWithoutNearTies(ModelFamily family) throws IOException {
    float[] x = inputs(24, 64);
    long seed =
        TieFreeCheckpoint.write(
            CheckpointGenerator.builder(family).decoderLayers(3), dir, x, 24, 100);
    assertThat(seed).isBetween(100L, 163L);
    assertThat(TieFreeCheckpoint.smallestGap(dir, x, 24))
        .isGreaterThanOrEqualTo(ReferenceTolerance.MIN_SELECTION_GAP);
  }

  @Test
  void aGapNoSeedReachesIsReportedWithTheClosestSeen() {
    float[] x = inputs(8, 64);
    assertThatThrownBy(
            () ->
                TieFreeCheckpoint.write(
                    CheckpointGenerator.builder(ModelFamily.MIXTRAL), dir, x, 8, 1, 100.0, 2))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no seed in 1..2")
        .hasMessageContaining("closest gap seen");
  }

  @Test
  void withoutTheCheckNearTiesDoHappen() throws IOException {
    // Many tokens over many experts: some token's choice is decided by less than 1e-3 on some
    // seed, which is why the tests that demand equal ids write their checkpoints through the check.
    float[] x = inputs(512, 64);
    double smallest = Double.POSITIVE_INFINITY;
    for (long seed = 1; seed <= 3; seed++) {
      CheckpointGenerator.builder(ModelFamily.QWEN3_MOE)
          .experts(16)
          .topK(4)
          .seed(seed)
          .build()
          .write(dir);
      smallest = Math.min(smallest, TieFreeCheckpoint.smallestGap(dir, x, 512));
    }
    assertThat(smallest).isLessThan(ReferenceTolerance.MIN_SELECTION_GAP);
  }
}
