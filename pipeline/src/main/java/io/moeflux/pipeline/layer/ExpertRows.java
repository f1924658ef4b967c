package io.moeflux.pipeline.layer;

import io.moeflux.pipeline.StepMemory;
import io.moeflux.pipeline.model.ExpertFfn;
import io.moeflux.pipeline.model.ExpertWorkers;
import java.util.Arrays;

/**
 * The rows of one chunk of received tokens, grouped per local expert slot so that each slot's
 * expert runs once over its block, and the experts' outputs. A chunk holds at most {@link
 * #chunkRows()} rows ({@link StepMemory#chunkRows}), so the buffers are bounded whatever the
 * capacity; they are allocated on first use (identity experts never need them) and reused every
 * chunk. The rows per slot over all chunks of a layer are counted for the heat tap.
 */
final class ExpertRows {
  private final int hidden;
  private final int chunkRows;
  private int[] rows = new int[0];
  private int[] start = new int[0];
  private int[] fill = new int[0];
  private int[] heat = new int[0];
  private float[] input = new float[0];
  private float[] output = new float[0];

  ExpertRows(int hidden) {
    this.hidden = hidden;
    this.chunkRows = StepMemory.chunkRows(hidden);
  }

  int chunkRows() {
    return chunkRows;
  }

  /** Starts a layer on {@code slots} slots: no rows, no heat. */
  void beginLayer(int slots) {
    if (rows.length != slots) {
      rows = new int[slots];
      start = new int[slots];
      fill = new int[slots];
      heat = new int[slots];
    }
    Arrays.fill(heat, 0);
  }

  /** Rows per slot over the layer so far. */
  int[] heat() {
    return heat;
  }

  /** Counts a pick of the layer on {@code slot} without running it through a chunk. */
  void countHeat(int slot) {
    heat[slot]++;
  }

  /** Starts a chunk: no rows. */
  void beginChunk() {
    Arrays.fill(rows, 0);
  }

  /** Counts a row of the chunk on {@code slot}. */
  void count(int slot) {
    rows[slot]++;
    heat[slot]++;
  }

  /** After counting: each slot's rows become one contiguous block. */
  void layout() {
    int next = 0;
    for (int slot = 0; slot < rows.length; slot++) {
      start[slot] = next;
      fill[slot] = 0;
      next += rows[slot];
    }
    if (input.length < next * hidden) {
      input = new float[Math.max(next, chunkRows) * hidden];
      output = new float[Math.max(next, chunkRows) * hidden];
    }
  }

  /** The next free row of {@code slot}'s block. */
  int place(int slot) {
    return start[slot] + fill[slot]++;
  }

  float[] input() {
    return input;
  }

  float[] output() {
    return output;
  }

  /** Runs each slot's expert over its block of rows, on the rank's expert workers. */
  void run(ExpertFfn[] experts, ExpertWorkers workers) {
    workers.run(experts, start, rows, rows.length, hidden, input, output);
  }
}
