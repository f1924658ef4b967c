package io.moeflux.cli.forward;

import io.moeflux.pipeline.checkpoint.CheckpointException;
import io.moeflux.pipeline.checkpoint.SafetensorsFile;
import io.moeflux.pipeline.checkpoint.SafetensorsWriter;
import io.moeflux.pipeline.checkpoint.TensorDtype;
import io.moeflux.pipeline.checkpoint.TensorInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The files of {@code moeflux forward}: the input holds {@code hidden_states [tokens, hidden]} in
 * F32, BF16 or F16; the output holds {@code hidden_states [tokens, hidden]} F32, {@code topk_ids
 * [tokens, k]} I32 and {@code topk_weights [tokens, k]} F32.
 */
public final class HiddenStatesFile {
  public static final String HIDDEN_STATES = "hidden_states";
  public static final String TOPK_IDS = "topk_ids";
  public static final String TOPK_WEIGHTS = "topk_weights";

  private final int tokens;
  private final int hidden;
  private final float[] values;

  private HiddenStatesFile(int tokens, int hidden, float[] values) {
    this.tokens = tokens;
    this.hidden = hidden;
    this.values = values;
  }

  /**
   * Reads {@code hidden_states} from {@code file}, checking it against the model's hidden size.
   *
   * @throws IllegalArgumentException naming the file and what is wrong: missing or malformed file,
   *     no {@code hidden_states}, a dtype other than F32/BF16/F16, a shape other than {@code
   *     [tokens, hidden]}
   */
  public static HiddenStatesFile read(Path file, int hidden) {
    Objects.requireNonNull(file, "file");
    try (SafetensorsFile st = SafetensorsFile.open(file)) {
      TensorInfo info = st.tensor(HIDDEN_STATES);
      if (info == null) {
        throw new IllegalArgumentException(
            file
                + ": no tensor named '"
                + HIDDEN_STATES
                + "' (it holds "
                + (st.tensors().isEmpty() ? "no tensors" : String.join(", ", st.tensors().keySet()))
                + ")");
      }
      TensorDtype dtype = TensorDtype.parse(info.dtype());
      if (dtype != TensorDtype.F32 && dtype != TensorDtype.BF16 && dtype != TensorDtype.F16) {
        throw new IllegalArgumentException(
            file
                + ": tensor '"
                + HIDDEN_STATES
                + "' has dtype "
                + info.dtype()
                + "; forward reads F32, BF16 or F16");
      }
      if (info.rank() != 2) {
        throw new IllegalArgumentException(
            file
                + ": tensor '"
                + HIDDEN_STATES
                + "' has shape "
                + info.shapeText()
                + "; forward reads [tokens, hidden]");
      }
      if (info.dim(1) != hidden) {
        throw new IllegalArgumentException(
            file
                + ": tensor '"
                + HIDDEN_STATES
                + "' is "
                + info.shapeText()
                + " but the model's hidden size is "
                + hidden);
      }
      if (info.dim(0) * hidden > Integer.MAX_VALUE - 8) {
        throw new IllegalArgumentException(
            file + ": tensor '" + HIDDEN_STATES + "' " + info.shapeText() + " is too large");
      }
      return new HiddenStatesFile((int) info.dim(0), hidden, st.readFloats(HIDDEN_STATES));
    } catch (CheckpointException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  public int tokens() {
    return tokens;
  }

  public int hidden() {
    return hidden;
  }

  /** {@code tokens × hidden} values, widened to float; shared (never write them). */
  public float[] values() {
    return values;
  }

  /** Rows {@code [from, from + count)} in a new array. */
  public float[] rows(int from, int count) {
    Objects.checkFromIndexSize(from, count, tokens);
    float[] rows = new float[count * hidden];
    System.arraycopy(values, from * hidden, rows, 0, rows.length);
    return rows;
  }

  /**
   * Writes an output file: {@code hidden_states [tokens, hidden]} F32, {@code topk_ids [tokens, k]}
   * I32, {@code topk_weights [tokens, k]} F32.
   */
  public static void writeOutput(
      Path file, int tokens, int hidden, float[] hiddenStates, int topK, int[] ids, float[] weights)
      throws IOException {
    SafetensorsWriter.create()
        .metadata("format", "pt")
        .add(HIDDEN_STATES, TensorDtype.F32, new long[] {tokens, hidden}, hiddenStates)
        .addInts(TOPK_IDS, new long[] {tokens, topK}, ids)
        .add(TOPK_WEIGHTS, TensorDtype.F32, new long[] {tokens, topK}, weights)
        .write(file);
  }

  /** Writes an input file: {@code hidden_states [tokens, hidden]} in {@code dtype}. */
  public static void writeInput(
      Path file, int tokens, int hidden, float[] hiddenStates, TensorDtype dtype)
      throws IOException {
    if (Files.isDirectory(file)) {
      throw new IllegalArgumentException(file + " is a directory");
    }
    SafetensorsWriter.create()
        .metadata("format", "pt")
        .add(HIDDEN_STATES, dtype, new long[] {tokens, hidden}, hiddenStates)
        .write(file);
  }
}
