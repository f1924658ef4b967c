package io.moeflux.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.pipeline.checkpoint.CheckpointGenerator;
import io.moeflux.pipeline.checkpoint.ModelFamily;
import io.moeflux.pipeline.checkpoint.TensorDtype;
import io.moeflux.pipeline.family.CheckpointModel;
import io.moeflux.pipeline.model.MoeModel;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.model.ReferenceModel;
import io.moeflux.pipeline.sync.SyncOptions;
import io.moeflux.pipeline.workload.SyntheticWorkload;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.testkit.LeakRecorder;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

/**
 * Every family's MoE blocks from a generated checkpoint (bf16 and f32, one file and sharded) on 1
 * and 3 ranks: every step runs the layer of the step rule, every output is bitwise equal to the
 * single-process path, and no buffer leaks. 8 experts on 3 ranks take 9 slots, one a replica.
 */
class CheckpointGroupTest {
  @TempDir Path dir;

  @AfterEach
  void noLeaks() {
    LeakRecorder.assertNoLeaks();
  }

  static Stream<Arguments> cases() {
    List<Arguments> cases = new ArrayList<>();
    for (ModelFamily family : ModelFamily.values()) {
      for (int ranks : new int[] {1, 3}) {
        cases.add(Arguments.of(family, ranks, TensorDtype.BF16, 1));
        cases.add(Arguments.of(family, ranks, TensorDtype.F32, 3));
      }
      cases.add(Arguments.of(family, 3, TensorDtype.BF16, 2));
      cases.add(Arguments.of(family, 3, TensorDtype.F32, 1));
    }
    cases.add(Arguments.of(ModelFamily.DEEPSEEK_V3, 3, TensorDtype.F8_E4M3, 2));
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} ranks={1} {2} shards={3}")
  @MethodSource("cases")
  void distributedOutputsEqualTheSingleProcessPathBitwise(
      ModelFamily family, int ranks, TensorDtype dtype, int shards) throws IOException {
    Path checkpoint = dir.resolve("model");
    CheckpointGenerator.builder(family)
        .hidden(32)
        .decoderLayers(3)
        .intermediate(24)
        .sharedIntermediate(40)
        .dtype(dtype)
        .shards(shards)
        .seed(family.ordinal() * 31L + ranks)
        .build()
        .write(checkpoint);
    try (CheckpointModel model = CheckpointModel.open(checkpoint)) {
      int capacity = 6;
      MoeGroup group =
          run(
              PipelineConfig.of(model, capacity),
              ranks,
              ranks == 3 ? TransportKind.TCP : TransportKind.LOCAL,
              SyntheticWorkload.random(11, model.hidden(), capacity, 0.1),
              7);
      group.dispose();
    }
  }

  /** Ranks that sync the DP metadata run steps beyond the capacity padded, with the same bits. */
  @ParameterizedTest
  @EnumSource(
      value = ModelFamily.class,
      names = {"QWEN2_MOE", "DEEPSEEK_V3"})
  void paddedAllGatherStepsEqualTheSingleProcessPath(ModelFamily family) throws IOException {
    Path checkpoint = dir.resolve("padded");
    CheckpointGenerator.builder(family).hidden(16).decoderLayers(3).build().write(checkpoint);
    try (CheckpointModel model = CheckpointModel.open(checkpoint)) {
      int capacity = 4;
      PipelineConfig config =
          PipelineConfig.builder(model, capacity).sync(SyncOptions.mixed()).build();
      SyntheticWorkload workload =
          SyntheticWorkload.random(5, model.hidden(), 3 * capacity, 0.1)
              .withPrefillProbability(0.3);
      MoeGroup group = run(config, 3, TransportKind.LOCAL, workload, 8);
      assertThat(group.ranks().stream().mapToLong(r -> r.status().paddedSteps()).sum())
          .isPositive();
      group.dispose();
    }
  }

  /** Runs {@code steps} steps, checks every output; returns the closed group. */
  static MoeGroup run(
      PipelineConfig config,
      int ranks,
      TransportKind transport,
      SyntheticWorkload workload,
      int steps) {
    MoeModel model = config.model();
    MoeGroup group = MoeGroup.start(ranks, transport, config).block(Duration.ofSeconds(60));
    try {
      Placement placement = config.initialPlacement(ranks);
      ReferenceModel reference = new ReferenceModel(model, placement);
      List<Flux<TokenBatch>> inputs = new ArrayList<>();
      for (int r = 0; r < ranks; r++) {
        int rank = r;
        // odd ranks name the layer of the step, as a caller running the model in order would
        inputs.add(
            workload
                .batches(r, 0, steps)
                .map(b -> rank % 2 == 1 ? b.atLayer(layerOf(model, b.step())) : b));
      }
      AtomicInteger checked = new AtomicInteger();
      StepVerifier.create(group.forward(inputs))
          .thenConsumeWhile(
              outputs -> {
                for (int r = 0; r < ranks; r++) {
                  TokenBatch actual = outputs.get(r);
                  TokenBatch expected = reference.forward(r, workload.batch(r, actual.step()));
                  assertThat(actual.layer()).isEqualTo(layerOf(model, actual.step()));
                  assertThat(expected.layer()).isEqualTo(actual.layer());
                  assertThat(actual.tokens()).isEqualTo(expected.tokens());
                  assertThat(actual.topkIds()).isEqualTo(expected.topkIds());
                  assertThat(actual.topkWeights()).containsExactly(expected.topkWeights());
                  MoeGroupReferenceTest.assertClose(actual, expected);
                  checked.incrementAndGet();
                }
                return true;
              })
          .expectComplete()
          .verify(Duration.ofSeconds(120));
      assertThat(checked).hasValue(steps * ranks);
      group.close().block(Duration.ofSeconds(30));
      return group;
    } catch (RuntimeException | AssertionError e) {
      group.dispose();
      throw e;
    }
  }

  static int layerOf(MoeModel model, long step) {
    return model.layerId(MoeModel.layerOfStep(step, model.layers()));
  }
}
