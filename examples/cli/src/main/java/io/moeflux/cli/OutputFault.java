package io.moeflux.cli;

import io.moeflux.pipeline.TokenBatch;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * A deliberate fault, for showing that the output checks catch it: flips the lowest bit of the last
 * value of one part (hidden values, top-k ids or top-k weights) of one rank's output, the first at
 * or after a given step that has such a value. Given by a hidden option ({@code --flip-bit
 * RANK:STEP[:hidden|id|weight]}); the pipeline is not touched, only the output on its way to the
 * check.
 */
final class OutputFault {
  /** Which part of an output the fault flips a bit in. */
  enum Part {
    HIDDEN,
    ID,
    WEIGHT
  }

  private final int rank;
  private final long fromStep;
  private final Part part;
  private volatile long injectedAt = -1;

  private OutputFault(int rank, long fromStep, Part part) {
    this.rank = rank;
    this.fromStep = fromStep;
    this.part = part;
  }

  /** Parses {@code RANK:STEP[:hidden|id|weight]} (default part: hidden). */
  static OutputFault parse(String spec) {
    String[] fields = spec.split(":");
    if (fields.length < 2 || fields.length > 3) {
      throw new IllegalArgumentException(
          "--flip-bit takes RANK:STEP[:hidden|id|weight], got '" + spec + "'");
    }
    try {
      Part part =
          fields.length == 3 ? Part.valueOf(fields[2].toUpperCase(Locale.ROOT)) : Part.HIDDEN;
      return new OutputFault(Integer.parseInt(fields[0]), Long.parseLong(fields[1]), part);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "--flip-bit takes RANK:STEP[:hidden|id|weight], got '" + spec + "'", e);
    }
  }

  /** {@code out}, or a copy of it with the bit flipped when this is where the fault goes. */
  TokenBatch apply(int outputRank, TokenBatch out) {
    if (outputRank != rank || out.step() < fromStep || injectedAt >= 0) {
      return out;
    }
    float[] data = out.data().clone();
    int[] ids = out.topkIds().clone();
    float[] weights = out.topkWeights().clone();
    switch (part) {
      case HIDDEN -> {
        if (data.length == 0) {
          return out;
        }
        data[data.length - 1] = flip(data[data.length - 1]);
      }
      case ID -> {
        if (ids.length == 0) {
          return out;
        }
        ids[ids.length - 1] ^= 1;
      }
      case WEIGHT -> {
        if (weights.length == 0) {
          return out;
        }
        weights[weights.length - 1] = flip(weights[weights.length - 1]);
      }
    }
    injectedAt = out.step();
    return new TokenBatch(
        out.step(), out.tokens(), out.hidden(), data, out.prefill(), ids, weights, out.layer());
  }

  private static float flip(float value) {
    return Float.intBitsToFloat(Float.floatToRawIntBits(value) ^ 1);
  }

  /** Where the fault went in, or null when no output of the rank had the part yet. */
  @Nullable String where() {
    long step = injectedAt;
    return step < 0 ? null : "rank " + rank + " step " + step + " " + part.name().toLowerCase();
  }
}
