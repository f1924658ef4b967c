package io.moeflux.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.cli.forward.HiddenStatesFile;
import io.moeflux.pipeline.checkpoint.Checkpoint;
import io.moeflux.pipeline.checkpoint.CheckpointGenerator;
import io.moeflux.pipeline.checkpoint.ModelFamily;
import io.moeflux.pipeline.checkpoint.SafetensorsWriter;
import io.moeflux.pipeline.checkpoint.TensorDtype;
import io.moeflux.transport.testkit.LeakRecorder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input to {@code moeflux forward}: one clear line on stderr, exit 2, no output file. */
class ForwardBadInputTest {
  private static final int HIDDEN = 64;

  @TempDir Path dir;
  Path model;
  Path good;
  Path outFile;
  final CliRun cli = new CliRun();

  @BeforeEach
  void checkpoint() throws IOException {
    model = dir.resolve("model");
    CheckpointGenerator.builder(ModelFamily.DEEPSEEK_V3).decoderLayers(3).build().write(model);
    good = dir.resolve("good.safetensors");
    HiddenStatesFile.writeInput(good, 2, HIDDEN, new float[2 * HIDDEN], TensorDtype.F32);
    outFile = dir.resolve("out.safetensors");
  }

  @AfterEach
  void noLeaks() {
    LeakRecorder.assertNoLeaks();
  }

  /** Runs forward on {@code input} and layer 1; returns the one stderr line. */
  private String refused(Path modelDir, int layer, Path input) {
    int code =
        cli.run(
            "forward",
            "--model",
            modelDir.toString(),
            "--layer",
            "" + layer,
            "--input",
            input.toString(),
            "--output",
            outFile.toString(),
            "--transport",
            "LOCAL");
    assertThat(code).as(cli.out()).isEqualTo(2);
    String[] lines = cli.err().trim().split("\n");
    assertThat(lines).hasSize(1);
    assertThat(lines[0]).startsWith("moeflux forward: ");
    assertThat(Files.exists(outFile)).isFalse();
    return lines[0];
  }

  private Path input(String name, SafetensorsWriter writer) throws IOException {
    Path file = dir.resolve(name);
    writer.write(file);
    return file;
  }

  @Test
  void aMissingInputFile() {
    assertThat(refused(model, 1, dir.resolve("absent.safetensors")))
        .contains("absent.safetensors")
        .contains("no such file");
  }

  @Test
  void aMalformedInputFile() throws IOException {
    Path garbage = dir.resolve("garbage.safetensors");
    Files.write(garbage, "not a safetensors file at all".getBytes(StandardCharsets.US_ASCII));
    assertThat(refused(model, 1, garbage)).contains("garbage.safetensors").contains("header");
  }

  @Test
  void aWrongTensorName() throws IOException {
    Path file =
        input(
            "named.safetensors",
            SafetensorsWriter.create()
                .add("hidden", TensorDtype.F32, new long[] {2, HIDDEN}, new float[2 * HIDDEN]));
    assertThat(refused(model, 1, file))
        .contains("no tensor named 'hidden_states'")
        .contains("hidden");
  }

  @Test
  void aWrongShape() throws IOException {
    Path file =
        input(
            "flat.safetensors",
            SafetensorsWriter.create()
                .add(
                    "hidden_states",
                    TensorDtype.F32,
                    new long[] {1, 2, HIDDEN},
                    new float[2 * HIDDEN]));
    assertThat(refused(model, 1, file)).contains("[1, 2, 64]").contains("[tokens, hidden]");
  }

  @Test
  void aWrongDtype() throws IOException {
    Path file =
        input(
            "ints.safetensors",
            SafetensorsWriter.create()
                .addInts("hidden_states", new long[] {2, HIDDEN}, new int[2 * HIDDEN]));
    assertThat(refused(model, 1, file)).contains("dtype I32").contains("F32, BF16 or F16");
  }

  @Test
  void aHiddenSizeThatDoesNotMatch() throws IOException {
    Path file = dir.resolve("narrow.safetensors");
    HiddenStatesFile.writeInput(file, 2, 32, new float[64], TensorDtype.BF16);
    assertThat(refused(model, 1, file)).contains("[2, 32]").contains("hidden size is 64");
  }

  @Test
  void aLayerOutOfRange() {
    assertThat(refused(model, 3, good)).contains("layer 3 is out of range");
  }

  @Test
  void aDenseLayer() {
    assertThat(refused(model, 0, good)).contains("layer 0 is a dense layer");
  }

  @Test
  void anUnsupportedModelType() throws IOException {
    Path llama = dir.resolve("llama");
    Files.createDirectories(llama);
    Files.writeString(
        llama.resolve(Checkpoint.CONFIG),
        "{\"model_type\": \"llama\", \"hidden_size\": 64, \"num_hidden_layers\": 2}");
    assertThat(refused(llama, 1, good)).contains("model_type 'llama' is not supported");
  }

  @Test
  void aMissingModelDirectory() {
    assertThat(refused(dir.resolve("nowhere"), 1, good))
        .contains("nowhere")
        .contains("not a model directory");
  }
}
