package io.moeflux.pipeline.reference;

import io.moeflux.pipeline.checkpoint.Checkpoint;
import io.moeflux.pipeline.checkpoint.ModelFamily;
import io.moeflux.pipeline.checkpoint.Projection;
import io.moeflux.pipeline.checkpoint.SafetensorsWriter;
import io.moeflux.pipeline.checkpoint.TensorDtype;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A one-layer checkpoint with weights chosen by hand (F32, so every value is exact), for checking
 * the float64 block against results worked out on paper.
 */
final class HandCheckpoint {
  private final ModelFamily family;
  private final SafetensorsWriter writer = SafetensorsWriter.create();
  private final int hidden;

  HandCheckpoint(ModelFamily family, int hidden) {
    this.family = family;
    this.hidden = hidden;
  }

  HandCheckpoint router(float... weight) {
    return add(family.routerWeight(0), weight.length / hidden, hidden, weight);
  }

  HandCheckpoint bias(float... bias) {
    writer.add(family.correctionBias(0), TensorDtype.F32, new long[] {bias.length}, bias.clone());
    return this;
  }

  /** Expert e with intermediate 1: gate row, up row, down column. */
  HandCheckpoint expert(int e, float[] gate, float[] up, float[] down) {
    add(family.expertWeight(0, e, Projection.GATE), 1, hidden, gate);
    add(family.expertWeight(0, e, Projection.UP), 1, hidden, up);
    return add(family.expertWeight(0, e, Projection.DOWN), hidden, 1, down);
  }

  /** The shared expert with intermediate 1. */
  HandCheckpoint shared(float[] gate, float[] up, float[] down) {
    add(family.sharedWeight(0, Projection.GATE), 1, hidden, gate);
    add(family.sharedWeight(0, Projection.UP), 1, hidden, up);
    return add(family.sharedWeight(0, Projection.DOWN), hidden, 1, down);
  }

  HandCheckpoint sharedGate(float... gate) {
    return add(family.sharedGate(0), 1, hidden, gate);
  }

  private HandCheckpoint add(String name, int rows, int cols, float[] values) {
    writer.add(name, TensorDtype.F32, new long[] {rows, cols}, values.clone());
    return this;
  }

  /** Writes config.json (with {@code fields}, a JSON fragment) and the tensors; opens it. */
  Checkpoint open(Path dir, String fields) throws IOException {
    Files.createDirectories(dir);
    String config =
        "{\"model_type\": \""
            + family.modelType()
            + "\", \"hidden_size\": "
            + hidden
            + ", \"num_hidden_layers\": 1, "
            + fields
            + "}";
    Files.write(dir.resolve(Checkpoint.CONFIG), config.getBytes(StandardCharsets.UTF_8));
    writer.write(dir.resolve(Checkpoint.SINGLE_FILE));
    return Checkpoint.open(dir);
  }
}
