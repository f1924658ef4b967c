package io.moeflux.pipeline.layer;

import io.moeflux.pipeline.model.ExpertFfn;
import io.moeflux.pipeline.model.ExpertWorkers;
import java.util.Arrays;

/**
 * The rows this rank's expert slots received in one layer, grouped per slot, and the experts'
 * outputs. The buffers are allocated for the worst case and reused every layer.
 */
final class ExpertRows {
  private final int hidden;
  private int[] rows = new int[0];
  private int[] start = new int[0];
  private int[] fill = new int[0];
  private float[] input = new float[0];
  private float[] output = new float[0];

  ExpertRows(int hidden, int rowsCapacity, int slots) {
    this.hidden = hidden;
    reserve(rowsCapacity, slots);
  }

  /** Makes room for {@code rowsCapacity} rows over {@code slots} slots (grows, never shrinks). */
  void reserve(int rowsCapacity, int slots) {
    if (input.length < rowsCapacity * hidden) {
      input = new float[rowsCapacity * hidden];
      output = new float[rowsCapacity * hidden];
    }
    if (rows.length != slots) {
      rows = new int[slots];
      start = new int[slots];
      fill = new int[slots];
    }
  }

  /** Starts a layer: no rows yet. */
  void clear() {
    Arrays.fill(rows, 0);
  }

  void count(int slot) {
    rows[slot]++;
  }

  /** Rows per slot so far; reused every layer (the heat tap copies what it keeps). */
  int[] counts() {
    return rows;
  }

  /** After counting: each slot's rows become one contiguous block. */
  void layout() {
    int next = 0;
    for (int slot = 0; slot < rows.length; slot++) {
      start[slot] = next;
      fill[slot] = 0;
      next += rows[slot];
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
