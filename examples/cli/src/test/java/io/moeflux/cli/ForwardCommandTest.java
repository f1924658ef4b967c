package io.moeflux.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.moeflux.cli.forward.HiddenStatesFile;
import io.moeflux.cli.forward.OneLayerModel;
import io.moeflux.cli.forward.TokenSplit;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.checkpoint.CheckpointGenerator;
import io.moeflux.pipeline.checkpoint.ModelFamily;
import io.moeflux.pipeline.checkpoint.SafetensorsFile;
import io.moeflux.pipeline.checkpoint.TensorDtype;
import io.moeflux.pipeline.family.CheckpointModel;
import io.moeflux.pipeline.model.CounterBasedRandom;
import io.moeflux.pipeline.model.ReferenceModel;
import io.moeflux.pipeline.reference.Float64MoeBlock;
import io.moeflux.pipeline.reference.Float64Output;
import io.moeflux.pipeline.reference.ReferenceComparison;
import io.moeflux.pipeline.reference.ReferenceTolerance;
import io.moeflux.pipeline.reference.TieFreeCheckpoint;
import io.moeflux.transport.protocol.WireFormat;
import io.moeflux.transport.testkit.LeakRecorder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code moeflux forward} on every family, 1 and 3 ranks, bf16/f32/fp8 weights in one file or
 * shards, F32/BF16/F16 inputs, and at 3 ranks with bf16 and fp8 rows on the wire: the output file's
 * top-k ids equal the float64 reference's, its weights and hidden states are within the wire's
 * {@link ReferenceTolerance} (float32: 1e-5 relative, 1e-4 of the output RMS), and the distributed
 * result equals the single-process path (rounding as the wire does) bitwise. Checkpoints are
 * written so that no token's choice is decided by less than 1e-3.
 */
class ForwardCommandTest {
  private static final int TOKENS = 13;

  @TempDir Path dir;
  final CliRun cli = new CliRun();

  @AfterEach
  void noLeaks() {
    LeakRecorder.assertNoLeaks();
  }

  static Stream<Arguments> cases() {
    List<Arguments> cases = new ArrayList<>();
    for (ModelFamily family : ModelFamily.values()) {
      for (int ranks : new int[] {1, 3}) {
        cases.add(Arguments.of(family, ranks, TensorDtype.BF16, 1, TensorDtype.F32, "f32"));
        cases.add(Arguments.of(family, ranks, TensorDtype.F32, 3, TensorDtype.BF16, "f32"));
      }
    }
    cases.add(
        Arguments.of(ModelFamily.DEEPSEEK_V3, 1, TensorDtype.F8_E4M3, 2, TensorDtype.F16, "f32"));
    cases.add(
        Arguments.of(ModelFamily.DEEPSEEK_V3, 3, TensorDtype.F8_E4M3, 1, TensorDtype.F32, "f32"));
    // rows that cross a socket are rounded: each wire's own tolerance
    cases.add(Arguments.of(ModelFamily.QWEN3_MOE, 3, TensorDtype.BF16, 1, TensorDtype.F32, "bf16"));
    cases.add(
        Arguments.of(ModelFamily.DEEPSEEK_V3, 3, TensorDtype.BF16, 1, TensorDtype.F32, "fp8"));
    cases.add(
        Arguments.of(ModelFamily.MIXTRAL, 3, TensorDtype.BF16, 1, TensorDtype.F32, "fp8/fp8"));
    return cases.stream();
  }

  /** Random hidden states written in {@code dtype}, and the values the file then holds. */
  static float[] writeInput(Path file, int tokens, int hidden, TensorDtype dtype)
      throws IOException {
    float[] x = new float[tokens * hidden];
    for (int i = 0; i < x.length; i++) {
      x[i] = CounterBasedRandom.symmetric(77, i, 1f);
    }
    HiddenStatesFile.writeInput(file, tokens, hidden, x, dtype);
    return HiddenStatesFile.read(file, hidden).values();
  }

  @ParameterizedTest(name = "{0} ranks={1} {2} shards={3} input {4} wire {5}")
  @MethodSource("cases")
  void theOutputMatchesTheFloat64ReferenceAndTheSingleProcessPath(
      ModelFamily family,
      int ranks,
      TensorDtype dtype,
      int shards,
      TensorDtype inputDtype,
      String wireLabel)
      throws IOException {
    WireFormat wire = WireFormat.parse(wireLabel);
    ReferenceTolerance tolerance = ReferenceTolerance.forWire(wire);
    Path model = dir.resolve("model");
    Path in = dir.resolve("in.safetensors");
    Path outFile = dir.resolve("out.safetensors");
    // hidden 160 > 128: deepseek's fp8 weights span more than one scale block
    int hidden = dtype == TensorDtype.F8_E4M3 ? 160 : 48;
    float[] x = writeInput(in, TOKENS, hidden, inputDtype);
    TieFreeCheckpoint.write(
        CheckpointGenerator.builder(family)
            .hidden(hidden)
            .decoderLayers(3)
            .intermediate(24)
            .sharedIntermediate(40)
            .dtype(dtype)
            .shards(shards),
        model,
        x,
        TOKENS,
        family.ordinal() * 100L + ranks);
    int layer = 2;
    String transport = ranks == 1 ? "LOCAL" : "TCP";
    assertThat(
            cli.run(
                "forward",
                "--model",
                model.toString(),
                "--layer",
                "" + layer,
                "--input",
                in.toString(),
                "--output",
                outFile.toString(),
                "--ranks",
                "" + ranks,
                "--transport",
                transport,
                "--wire",
                "" + wire.dispatch(),
                "--combine-wire",
                "" + wire.combine()))
        .as(cli.err())
        .isZero();
    assertThat(cli.err()).isEmpty();

    JsonNode json = cli.lastLine();
    assertThat(json.get("model_type").asText()).isEqualTo(family.modelType());
    assertThat(json.get("layer").asInt()).isEqualTo(layer);
    assertThat(json.get("tokens").asInt()).isEqualTo(TOKENS);
    assertThat(json.get("ranks").asInt()).isEqualTo(ranks);
    assertThat(json.get("seconds").asDouble()).isPositive();
    assertThat(json.get("wire").asText()).isEqualTo(wire.label());
    assertThat(json.get("max_rel_err_vs_float64").asDouble())
        .isLessThanOrEqualTo(tolerance.outputRelativeToRms());

    try (SafetensorsFile result = SafetensorsFile.open(outFile);
        CheckpointModel checkpoint = CheckpointModel.open(model)) {
      int k = checkpoint.topK();
      assertThat(result.tensor("hidden_states").shape()).containsExactly(TOKENS, hidden);
      assertThat(result.tensor("hidden_states").dtype()).isEqualTo("F32");
      assertThat(result.tensor("topk_ids").shape()).containsExactly(TOKENS, k);
      assertThat(result.tensor("topk_ids").dtype()).isEqualTo("I32");
      assertThat(result.tensor("topk_weights").shape()).containsExactly(TOKENS, k);
      assertThat(result.tensor("topk_weights").dtype()).isEqualTo("F32");
      float[] hiddenStates = result.readFloats("hidden_states");
      int[] ids = result.readInts("topk_ids");
      float[] weights = result.readFloats("topk_weights");

      Float64Output reference =
          Float64MoeBlock.load(checkpoint.checkpoint(), layer).forward(x, TOKENS);
      assertThat(reference.routing().smallestGap())
          .isGreaterThanOrEqualTo(ReferenceTolerance.MIN_SELECTION_GAP);
      ReferenceComparison check = ReferenceComparison.of(reference, hiddenStates, ids, weights);
      assertThat(check.mismatchedTokens()).as(check.describe()).isZero();
      assertThat(check.maxWeightRelative())
          .as(check.describe())
          .isLessThanOrEqualTo(tolerance.weightRelative());
      assertThat(check.maxOutputRelativeToRms())
          .as(check.describe())
          .isLessThanOrEqualTo(tolerance.outputRelativeToRms());
      assertThat(json.get("max_rel_err_vs_float64").asDouble())
          .isEqualTo(check.maxOutputRelativeToRms());

      assertEqualsSingleProcessPath(
          checkpoint, layer, ranks, wire, x, hidden, k, hiddenStates, ids, weights);
    }
  }

  /** The single-process path ({@code verify --model}'s reference) gives the same bits. */
  private static void assertEqualsSingleProcessPath(
      CheckpointModel checkpoint,
      int layer,
      int ranks,
      WireFormat wire,
      float[] x,
      int hidden,
      int k,
      float[] hiddenStates,
      int[] ids,
      float[] weights) {
    OneLayerModel oneLayer = OneLayerModel.of(checkpoint, checkpoint.layerOf(layer));
    TokenSplit split = TokenSplit.of(TOKENS, ranks);
    PipelineConfig config = PipelineConfig.of(oneLayer, Math.max(1, split.largest()));
    ReferenceModel single = new ReferenceModel(oneLayer, config.initialPlacement(ranks), wire);
    for (int r = 0; r < ranks; r++) {
      int n = split.tokens(r);
      int from = split.start(r);
      float[] rows = new float[n * hidden];
      System.arraycopy(x, from * hidden, rows, 0, rows.length);
      TokenBatch expected = single.forward(r, TokenBatch.of(0, n, hidden, rows));
      for (int i = 0; i < n * hidden; i++) {
        assertThat(Float.floatToRawIntBits(hiddenStates[from * hidden + i]))
            .as("rank %d value %d", r, i)
            .isEqualTo(Float.floatToRawIntBits(expected.data()[i]));
      }
      for (int i = 0; i < n * k; i++) {
        assertThat(ids[from * k + i]).isEqualTo(expected.topkIds()[i]);
        assertThat(weights[from * k + i]).isEqualTo(expected.topkWeights()[i]);
      }
    }
  }
}
