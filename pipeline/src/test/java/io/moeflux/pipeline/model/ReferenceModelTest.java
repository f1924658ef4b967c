package io.moeflux.pipeline.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import io.moeflux.pipeline.TokenBatch;
import io.moeflux.transport.protocol.Bf16;
import io.moeflux.transport.protocol.E4m3;
import io.moeflux.transport.protocol.WireFormat;
import io.moeflux.transport.protocol.WirePrecision;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ReferenceModelTest {

  private static TokenBatch randomBatch(long step, int tokens, int hidden, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    float[] x = new float[tokens * hidden];
    for (int n = 0; n < x.length; n++) {
      x[n] = (float) (random.nextDouble() * 2 - 1);
    }
    return TokenBatch.of(step, tokens, hidden, x);
  }

  /**
   * 8 experts in 12 slots on 3 ranks; hot experts 1, 4, 6 and 7 have replicas on other ranks, with
   * uneven shares (expert 1: 200/256 in slot 1, 56/256 in slot 7).
   */
  private static Placement redundant(int layers) {
    int[] map = {0, 1, 2, 4, 3, 4, 5, 1, 6, 7, 6, 7};
    int[] share = {256, 200, 256, 100, 256, 156, 256, 56, 30, 128, 226, 128};
    int[][] phy2log = new int[layers][];
    int[][] shares = new int[layers][];
    for (int l = 0; l < layers; l++) {
      phy2log[l] = map.clone();
      shares[l] = share.clone();
    }
    return Placement.of(phy2log, shares, 8, 3, 1L);
  }

  @Test
  void oneLayerMatchesAHandComputation() {
    ModelConfig c =
        ModelConfig.builder()
            .hidden(4)
            .intermediate(3)
            .layers(1)
            .experts(4)
            .topK(2)
            .groups(0)
            .topkGroups(0)
            .gateSkew(0.0)
            .expertKind(ExpertKind.SWIGLU)
            .seed(42L)
            .build();
    ExpertBank bank = new ExpertBank(c);
    ReferenceModel model = new ReferenceModel(c, bank, Placement.identity(1, 4, 1));
    TokenBatch in = randomBatch(3, 5, 4, 1);
    TokenBatch out = model.forward(0, in);

    int[] ids = new int[10];
    float[] w = new float[10];
    TokenRouter router = model.router(0);
    router.route(in.data(), 5, ids, w, new float[router.scratchLength()]);
    assertThat(out.topkIds()).isEqualTo(ids);
    assertThat(out.topkWeights()).isEqualTo(w);
    for (int t = 0; t < 5; t++) {
      double[] expected = new double[4];
      for (int j = 0; j < 4; j++) {
        expected[j] = in.data()[t * 4 + j];
      }
      for (int k = 0; k < 2; k++) {
        double[] y = naiveSwiglu(bank.weights(0, ids[t * 2 + k]), in.data(), t * 4);
        for (int j = 0; j < 4; j++) {
          expected[j] += w[t * 2 + k] * y[j];
        }
      }
      for (int j = 0; j < 4; j++) {
        assertThat((double) out.data()[t * 4 + j]).isCloseTo(expected[j], offset(1e-6));
      }
    }
  }

  /** down(silu(x . gate) * (x . up)) in double, straight from the definition. */
  private static double[] naiveSwiglu(ExpertWeights weights, float[] x, int offset) {
    int h = weights.hidden();
    int n = weights.intermediate();
    float[] all = new float[weights.floatCount()];
    weights.copyTo(all, 0);
    double[] y = new double[h];
    for (int j = 0; j < n; j++) {
      double g = 0;
      double u = 0;
      for (int i = 0; i < h; i++) {
        g += (double) x[offset + i] * all[i * n + j];
        u += (double) x[offset + i] * all[h * n + i * n + j];
      }
      double a = g / (1 + Math.exp(-g)) * u;
      for (int k = 0; k < h; k++) {
        y[k] += a * all[2 * h * n + j * h + k];
      }
    }
    return y;
  }

  @ParameterizedTest
  @ValueSource(strings = {"f32", "bf16", "fp8", "fp8/fp8", "f32/bf16"})
  void followsTheDocumentedArithmeticBitForBit(String label) {
    WireFormat wire = WireFormat.parse(label);
    ModelConfig c =
        ModelConfig.builder().hidden(32).intermediate(48).layers(3).topK(4).gateSkew(0.8).build();
    ExpertBank bank = new ExpertBank(c);
    Placement placement = redundant(3);
    ReferenceModel model = new ReferenceModel(c, bank, placement, wire);
    TokenBatch in = randomBatch(9, 37, 32, 2);
    // The rank picks replicas, hence the grouping of the sums: the bits must tell ranks apart,
    // or this test could not see a wrong order.
    assertThat(ExpertFfnTest.bits(model.forward(0, in).data()))
        .isNotEqualTo(ExpertFfnTest.bits(model.forward(1, in).data()));
    for (int rank = 0; rank < 3; rank++) {
      TokenBatch out = model.forward(rank, in);
      float[] expected = spelledOut(c, bank, placement, wire, rank, in.step(), in.data(), 37);
      assertThat(ExpertFfnTest.bits(out.data()))
          .as("rank %d", rank)
          .isEqualTo(ExpertFfnTest.bits(expected));
    }
  }

  /** A row as it arrives in {@code wire}, value by value from the formats' definitions. */
  private static float[] crossed(WirePrecision wire, float[] row, int from, int h) {
    float[] out = new float[h];
    byte[] codes = new byte[h];
    float scale = wire == WirePrecision.FP8 ? E4m3.quantize(row, from, h, codes) : 0f;
    for (int j = 0; j < h; j++) {
      float v = row[from + j];
      out[j] =
          switch (wire) {
            case F32 -> v;
            case BF16 -> Bf16.widen(Bf16.narrow(v));
            case FP8 -> E4m3.value(codes[j]) * scale;
          };
    }
    return out;
  }

  /**
   * The arithmetic of ReferenceModel's contract, written out loop by loop, one row at a time: a row
   * or partial sum rounded where it leaves the token's rank, picks summed in ascending slot order.
   */
  private static float[] spelledOut(
      ModelConfig c,
      ExpertBank bank,
      Placement placement,
      WireFormat wire,
      int rank,
      long step,
      float[] input,
      int tokens) {
    int h = c.hidden();
    int topK = c.topK();
    float[] state = input.clone();
    for (int l = 0; l < c.layers(); l++) {
      Router router = Router.of(c, l);
      int[] ids = new int[tokens * topK];
      float[] w = new float[tokens * topK];
      router.route(state, tokens, ids, w, new float[router.scratchLength()]);
      float[] next = new float[state.length];
      for (int t = 0; t < tokens; t++) {
        float[][] y = new float[topK][h];
        int[] destination = new int[topK];
        int[] slot = new int[topK];
        float[] away = crossed(wire.dispatch(), state, t * h, h);
        for (int k = 0; k < topK; k++) {
          ExpertFfn ffn = bank.expert(l, ids[t * topK + k]);
          slot[k] = placement.slotFor(l, ids[t * topK + k], step, rank, t);
          destination[k] = placement.rankOfSlot(slot[k]);
          float[] x = destination[k] == rank ? Arrays.copyOfRange(state, t * h, t * h + h) : away;
          ffn.forward(x, 0, 1, y[k], 0, new float[ffn.scratchLength(1)]);
        }
        float[] acc = new float[h];
        for (int r = 0; r < placement.ranks(); r++) {
          boolean used = false;
          float[] partial = new float[h];
          for (int s = 0; s < placement.ranks() * placement.slotsPerRank(); s++) {
            for (int k = 0; k < topK; k++) {
              if (destination[k] == r && slot[k] == s) {
                used = true;
                for (int j = 0; j < h; j++) {
                  partial[j] += w[t * topK + k] * y[k][j];
                }
              }
            }
          }
          if (used && r != rank) {
            partial = crossed(wire.combine(), partial, 0, h);
          }
          if (used) {
            for (int j = 0; j < h; j++) {
              acc[j] += partial[j];
            }
          }
        }
        for (int j = 0; j < h; j++) {
          next[t * h + j] = state[t * h + j] + acc[j];
        }
      }
      state = next;
    }
    return state;
  }

  @Test
  void identityExpertsAddTheWeightedInput() {
    ModelConfig c =
        ModelConfig.builder()
            .layers(1)
            .expertKind(ExpertKind.IDENTITY)
            .groups(4)
            .topkGroups(2)
            .build();
    ReferenceModel model = new ReferenceModel(c, new ExpertBank(c), Placement.identity(1, 8, 2));
    TokenBatch in = randomBatch(0, 20, 64, 3);
    TokenBatch out = model.forward(1, in);
    for (int t = 0; t < 20; t++) {
      float sum = out.topkWeights()[2 * t] + out.topkWeights()[2 * t + 1];
      for (int j = 0; j < 64; j++) {
        float h = in.data()[t * 64 + j];
        assertThat(out.data()[t * 64 + j]).isCloseTo(h + h * sum, offset(1e-6f * Math.abs(h)));
      }
    }

    ModelConfig deep = c.toBuilder().layers(3).build();
    TokenBatch out3 =
        new ReferenceModel(deep, new ExpertBank(deep), Placement.identity(3, 8, 1)).forward(0, in);
    for (int n = 0; n < in.data().length; n++) {
      assertThat(out3.data()[n])
          .isCloseTo(8 * in.data()[n], offset(1e-5f * Math.abs(in.data()[n])));
    }
  }

  @Test
  void outputCarriesTheLastLayersRouting() {
    ModelConfig two = ModelConfig.builder().gateSkew(0.5).build();
    ModelConfig one = two.toBuilder().layers(1).build();
    TokenBatch in = randomBatch(4, 11, 64, 4);
    TokenBatch afterOne =
        new ReferenceModel(one, new ExpertBank(one), Placement.identity(1, 8, 2)).forward(1, in);
    TokenBatch afterTwo =
        new ReferenceModel(two, new ExpertBank(two), Placement.identity(2, 8, 2)).forward(1, in);
    int[] ids = new int[22];
    float[] w = new float[22];
    Router last = Router.of(two, 1);
    last.route(afterOne.data(), 11, ids, w, new float[last.scratchLength()]);
    assertThat(afterTwo.topkIds()).isEqualTo(ids);
    assertThat(ExpertFfnTest.bits(afterTwo.topkWeights())).isEqualTo(ExpertFfnTest.bits(w));
    assertThat(afterTwo.step()).isEqualTo(4);
    assertThat(afterTwo.tokens()).isEqualTo(11);
  }

  @Test
  void aTokensResultDoesNotDependOnItsBatchOnAnIdentityPlacement() {
    ModelConfig c = ModelConfig.builder().topK(3).build();
    ReferenceModel model = new ReferenceModel(c, new ExpertBank(c), Placement.identity(2, 8, 4));
    TokenBatch in = randomBatch(1, 9, 64, 5);
    TokenBatch out = model.forward(2, in);
    for (int t = 0; t < 9; t++) {
      float[] row = Arrays.copyOfRange(in.data(), t * 64, (t + 1) * 64);
      TokenBatch alone = model.forward(3, TokenBatch.of(1, 1, 64, row));
      assertThat(ExpertFfnTest.bits(alone.data()))
          .isEqualTo(ExpertFfnTest.bits(Arrays.copyOfRange(out.data(), t * 64, (t + 1) * 64)));
    }
  }

  @Test
  void theRankOnlyChangesRounding() {
    ModelConfig c = ModelConfig.builder().topK(4).layers(2).build();
    ReferenceModel model = new ReferenceModel(c, new ExpertBank(c), redundant(2));
    TokenBatch in = randomBatch(2, 16, 64, 6);
    TokenBatch zero = model.forward(0, in);
    TokenBatch one = model.forward(1, in);
    assertThat(one.topkIds()).isEqualTo(zero.topkIds());
    for (int n = 0; n < zero.data().length; n++) {
      assertThat(one.data()[n]).isCloseTo(zero.data()[n], offset(1e-5f));
    }
  }

  @Test
  void leavesTheInputAloneAndKeepsStepAndStage() {
    ModelConfig c = ModelConfig.small();
    ReferenceModel model = new ReferenceModel(c, new ExpertBank(c), Placement.identity(2, 8, 2));
    TokenBatch plain = randomBatch(5, 3, 64, 7);
    TokenBatch in = TokenBatch.of(5, 3, 64, plain.data().clone(), true);
    TokenBatch out = model.forward(0, in);
    assertThat(in.sameHiddenAs(plain)).isTrue();
    assertThat(out.prefill()).isTrue();
    assertThat(out.step()).isEqualTo(5);
    assertThat(out.data()).isNotSameAs(in.data());

    TokenBatch empty = model.forward(1, TokenBatch.empty(6, 64));
    assertThat(empty.tokens()).isZero();
    assertThat(empty.step()).isEqualTo(6);
    assertThat(empty.topkIds()).isEmpty();
  }

  @Test
  void rejectsMismatchedParts() {
    ModelConfig c = ModelConfig.small();
    ExpertBank bank = new ExpertBank(c);
    assertThatThrownBy(
            () ->
                new ReferenceModel(
                    c, new ExpertBank(c.toBuilder().seed(1).build()), Placement.identity(2, 8, 2)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("bank was built for config");
    assertThatThrownBy(() -> new ReferenceModel(c, bank, Placement.identity(3, 8, 2)))
        .hasMessage("placement has 3 layers of 8 experts, the model 2 of 8");
    ReferenceModel model = new ReferenceModel(c, bank, Placement.identity(2, 8, 2));
    assertThatThrownBy(() -> model.forward(2, TokenBatch.empty(0, 64)))
        .isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> model.forward(0, TokenBatch.empty(0, 32)))
        .hasMessage("batch hidden size 32 differs from the model's 64");
  }
}
