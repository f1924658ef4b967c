package io.moeflux.pipeline.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.reference.ReferenceTolerance;
import io.moeflux.transport.protocol.WireFormat;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * How far a MoE layer's output moves when hidden rows cross the wire in bf16 or fp8 instead of
 * float32: per token, the largest difference of the layer's routed output, divided by the root mean
 * square of that token's float32 output. The bound is {@link ReferenceTolerance#forWire}'s, the one
 * the checkpoint checks apply, less the float32 wire's own.
 */
class WireErrorTest {
  private static final int TOKENS = 64;
  private static final int RANKS = 4;

  @ParameterizedTest
  @ValueSource(strings = {"bf16", "fp8", "fp8/fp8", "f32/bf16", "bf16/f32"})
  void theRoutedOutputMovesWithinTheWiresToleranceOfTheRowsRms(String label) {
    WireFormat wire = WireFormat.parse(label);
    ModelConfig c =
        ModelConfig.builder().hidden(256).intermediate(128).layers(1).experts(16).topK(4).build();
    ExpertBank bank = new ExpertBank(c);
    Placement placement = Placement.identity(1, 16, RANKS);
    ReferenceModel f32 = new ReferenceModel(c, bank, placement, WireFormat.F32);
    ReferenceModel rounded = new ReferenceModel(c, bank, placement, wire);
    double worst = 0;
    for (int rank = 0; rank < RANKS; rank++) {
      TokenBatch in = gaussianBatch(TOKENS, c.hidden(), 17 + rank);
      float[] exact = f32.forward(rank, in).data();
      float[] moved = rounded.forward(rank, in).data();
      worst = Math.max(worst, worstRelativeToRms(in.data(), exact, moved, c.hidden()));
    }
    double bound =
        ReferenceTolerance.forWire(wire).outputRelativeToRms()
            - ReferenceTolerance.F32_WIRE.outputRelativeToRms();
    assertThat(worst).isGreaterThan(0).isLessThanOrEqualTo(bound);
  }

  /**
   * Per token, {@code max |moved - exact| / rms(exact - in)}: the routed output is the layer's
   * output less its residual input.
   */
  private static double worstRelativeToRms(float[] in, float[] exact, float[] moved, int hidden) {
    double worst = 0;
    for (int t = 0; t < in.length / hidden; t++) {
      double squares = 0;
      double largest = 0;
      for (int i = t * hidden; i < (t + 1) * hidden; i++) {
        double routed = (double) exact[i] - in[i];
        squares += routed * routed;
        largest = Math.max(largest, Math.abs((double) moved[i] - exact[i]));
      }
      worst = Math.max(worst, largest / Math.sqrt(squares / hidden));
    }
    return worst;
  }

  private static TokenBatch gaussianBatch(int tokens, int hidden, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    float[] x = new float[tokens * hidden];
    for (int n = 0; n < x.length; n++) {
      double u = random.nextDouble();
      double v = random.nextDouble();
      x[n] = (float) (Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v));
    }
    return TokenBatch.of(0, tokens, hidden, x);
  }
}
