package io.moeflux.pipeline.layer;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.MoeRank;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.sync.CommMode;
import io.moeflux.pipeline.sync.SyncOptions;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.testkit.LeakRecorder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import reactor.core.publisher.Flux;

/**
 * Both exchange strategies on the same inputs: a group that syncs and, with a small capacity, runs
 * every step in the padded all-gather, and a group that runs every step in variable-size dispatch,
 * give the same bits, since the layer runner does the arithmetic for both.
 */
class ExchangeStrategiesTest {
  private static final int STEPS = 6;
  private static final int MOST_TOKENS = 9;
  private static final int PADDED_CAPACITY = 2;

  @AfterEach
  void noLeaks() {
    LeakRecorder.assertNoLeaks();
  }

  static Stream<Arguments> groups() {
    return Stream.of(
        Arguments.of(1, ModelConfig.builder().experts(4).topK(2).build(), 0),
        Arguments.of(3, ModelConfig.builder().experts(6).topK(3).build(), 0),
        Arguments.of(4, ModelConfig.builder().experts(8).topK(4).layers(3).build(), 4),
        Arguments.of(2, ModelConfig.builder().experts(8).topK(1).hidden(64).build(), 2));
  }

  @ParameterizedTest(name = "ranks={0} {1} redundant={2}")
  @MethodSource("groups")
  void paddedAllGatherGivesTheBitsOfVariableDispatch(
      int ranks, ModelConfig model, int redundantSlots) {
    List<List<TokenBatch>> inputs = inputs(ranks, model.hidden());
    PipelineConfig padded =
        PipelineConfig.builder(model, PADDED_CAPACITY)
            // the largest batch is declared: the padded all-gather carries batches up to it
            .sync(SyncOptions.mixed().toBuilder().maxBatchTokens(MOST_TOKENS).build())
            .redundantSlots(redundantSlots)
            .build();
    PipelineConfig variable =
        PipelineConfig.builder(model, MOST_TOKENS).redundantSlots(redundantSlots).build();

    List<List<TokenBatch>> viaPadded = run(ranks, padded, inputs, CommMode.PADDED_ALLGATHER);
    List<List<TokenBatch>> viaVariable = run(ranks, variable, inputs, CommMode.VARIABLE);

    assertThat(viaPadded).hasSize(STEPS);
    for (int step = 0; step < STEPS; step++) {
      for (int r = 0; r < ranks; r++) {
        TokenBatch a = viaPadded.get(step).get(r);
        TokenBatch b = viaVariable.get(step).get(r);
        String where = "step " + step + ", rank " + r;
        assertThat(a.tokens()).as(where).isEqualTo(b.tokens());
        assertThat(bits(a.data())).as(where + ": hidden states").isEqualTo(bits(b.data()));
        assertThat(a.topkIds()).as(where + ": top-k ids").isEqualTo(b.topkIds());
        assertThat(bits(a.topkWeights())).as(where + ": weights").isEqualTo(bits(b.topkWeights()));
      }
    }
  }

  /** Runs the inputs through a new group and checks every step ran in {@code mode}. */
  private static List<List<TokenBatch>> run(
      int ranks, PipelineConfig config, List<List<TokenBatch>> inputs, CommMode mode) {
    MoeGroup group =
        MoeGroup.start(ranks, TransportKind.LOCAL, config).block(Duration.ofSeconds(30));
    try {
      List<Flux<TokenBatch>> streams = new ArrayList<>();
      for (List<TokenBatch> batches : inputs) {
        streams.add(Flux.fromIterable(batches));
      }
      List<List<TokenBatch>> outputs =
          group.forward(streams).collectList().block(Duration.ofSeconds(60));
      for (MoeRank rank : group.ranks()) {
        assertThat(rank.status().commMode()).isEqualTo(mode);
        assertThat(rank.status().paddedSteps())
            .isEqualTo(mode == CommMode.PADDED_ALLGATHER ? STEPS : 0);
      }
      group.close().block(Duration.ofSeconds(20));
      return outputs;
    } finally {
      group.dispose();
    }
  }

  /**
   * Random counts from 0 to {@link #MOST_TOKENS}; one rank a step brings more than {@link
   * #PADDED_CAPACITY}, so that the syncing group runs every step padded.
   */
  private static List<List<TokenBatch>> inputs(int ranks, int hidden) {
    SplittableRandom random = new SplittableRandom(ranks * 31L + hidden);
    List<List<TokenBatch>> inputs = new ArrayList<>();
    for (int r = 0; r < ranks; r++) {
      inputs.add(new ArrayList<>());
    }
    for (int step = 0; step < STEPS; step++) {
      for (int r = 0; r < ranks; r++) {
        int tokens =
            r == step % ranks
                ? PADDED_CAPACITY + 1 + random.nextInt(MOST_TOKENS - PADDED_CAPACITY)
                : random.nextInt(MOST_TOKENS + 1);
        float[] data = new float[tokens * hidden];
        for (int i = 0; i < data.length; i++) {
          data[i] = (float) (random.nextDouble() * 2 - 1);
        }
        inputs.get(r).add(TokenBatch.of(step, tokens, hidden, data));
      }
    }
    return inputs;
  }

  private static int[] bits(float[] values) {
    int[] bits = new int[values.length];
    for (int i = 0; i < values.length; i++) {
      bits[i] = Float.floatToRawIntBits(values[i]);
    }
    return bits;
  }
}
