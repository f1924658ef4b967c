package io.moeflux.pipeline.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

import io.moeflux.pipeline.kernel.ExpertKernels;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SharedExpertTest {
  private final ModelConfig config = ModelConfig.builder().hidden(12).intermediate(20).build();
  private final ExpertFfn ffn =
      ExpertFfn.swiglu(ExpertWeights.generate(config, 0, 1), ExpertKernels.preferred());

  @Test
  void gatedSharedExpertScalesEachTokenBySigmoidOfItsGate() {
    SplittableRandom random = new SplittableRandom(1);
    int tokens = 21;
    float[] x = new float[tokens * 12];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (random.nextDouble() * 2 - 1);
    }
    float[] gate = new float[12];
    for (int i = 0; i < 12; i++) {
      gate[i] = (float) (random.nextDouble() - 0.5);
    }
    SharedExpert plain = SharedExpert.ungated(ffn);
    SharedExpert gated = SharedExpert.gated(ffn, gate.clone());
    float[] y = new float[x.length];
    float[] g = new float[x.length];
    try (ExpertWorkers workers = ExpertWorkers.callerOnly()) {
      plain.forward(x, tokens, y, workers);
      gated.forward(x, tokens, g, workers);
    }
    float[] direct = new float[x.length];
    ffn.forward(x, 0, tokens, direct, 0, new float[ffn.scratchLength(tokens)]);
    assertThat(y).containsExactly(direct);
    for (int t = 0; t < tokens; t++) {
      double dot = 0;
      for (int i = 0; i < 12; i++) {
        dot += gate[i] * x[t * 12 + i];
      }
      double s = 1 / (1 + Math.exp(-dot));
      for (int j = 0; j < 12; j++) {
        assertThat((double) g[t * 12 + j]).isCloseTo(s * y[t * 12 + j], offset(1e-6));
      }
    }
    assertThat(gated.weightBytes()).isEqualTo(ffn.weightBytes() + 12 * 4);
  }

  @Test
  void tokensSplitAmongWorkersGiveTheSameBits() {
    SplittableRandom random = new SplittableRandom(2);
    int tokens = 4 * ExpertWorkers.MIN_ROWS_PER_PART + 5;
    float[] x = new float[tokens * 12];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (random.nextDouble() * 2 - 1);
    }
    SharedExpert gated = SharedExpert.gated(ffn, new float[] {1, -2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 1});
    float[] alone = new float[x.length];
    float[] split = new float[x.length];
    try (ExpertWorkers one = ExpertWorkers.callerOnly();
        ExpertWorkers three = ExpertWorkers.start("shared-test", 3)) {
      gated.forward(x, tokens, alone, one);
      gated.forward(x, tokens, split, three);
    }
    assertThat(split).containsExactly(alone);
  }
}
