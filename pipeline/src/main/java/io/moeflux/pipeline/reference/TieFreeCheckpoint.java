package io.moeflux.pipeline.reference;

import io.moeflux.pipeline.checkpoint.Checkpoint;
import io.moeflux.pipeline.checkpoint.CheckpointGenerator;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Writes a random checkpoint on which given inputs route without near-ties: for every MoE layer and
 * every token, the float64 selection values that decide the token's top-k (and, for deepseek_v3,
 * its groups) are at least a minimum gap apart ({@link Float64Routing#gaps()}). With such a
 * checkpoint a float32 implementation must choose exactly the reference's experts, in the same
 * order, so a comparison can demand equal ids.
 *
 * <p>It tries seeds {@code firstSeed, firstSeed + 1, ...}: each is written, its routers loaded, the
 * inputs routed; the first seed that passes is kept on disk and returned. Random routers on a few
 * dozen tokens pass within a few tries (a gap of {@code 1e-3} between logits of spread about 1 is
 * missed by roughly one token-choice in a few hundred).
 */
public final class TieFreeCheckpoint {
  private static final int DEFAULT_ATTEMPTS = 64;

  private TieFreeCheckpoint() {}

  /**
   * Writes {@code generator}'s checkpoint into {@code directory} with the first seed from {@code
   * firstSeed} on which {@code tokens} rows of {@code inputs} keep gaps of at least {@link
   * ReferenceTolerance#MIN_SELECTION_GAP} in every MoE layer, trying up to 64 seeds.
   *
   * @return the seed written
   * @throws IllegalStateException when no seed passes
   */
  public static long write(
      CheckpointGenerator.Builder generator,
      Path directory,
      float[] inputs,
      int tokens,
      long firstSeed)
      throws IOException {
    return write(
        generator,
        directory,
        inputs,
        tokens,
        firstSeed,
        ReferenceTolerance.MIN_SELECTION_GAP,
        DEFAULT_ATTEMPTS);
  }

  /**
   * As {@link #write(CheckpointGenerator.Builder, Path, float[], int, long)} with a chosen minimum
   * gap and number of seeds to try. The builder's seed is changed.
   */
  public static long write(
      CheckpointGenerator.Builder generator,
      Path directory,
      float[] inputs,
      int tokens,
      long firstSeed,
      double minGap,
      int attempts)
      throws IOException {
    Objects.requireNonNull(generator, "generator");
    Objects.requireNonNull(directory, "directory");
    Objects.requireNonNull(inputs, "inputs");
    if (attempts < 1) {
      throw new IllegalArgumentException("attempts must be >= 1, got " + attempts);
    }
    double closest = Double.POSITIVE_INFINITY;
    for (int attempt = 0; attempt < attempts; attempt++) {
      long seed = firstSeed + attempt;
      generator.seed(seed).build().write(directory);
      double gap = smallestGap(directory, inputs, tokens);
      if (gap >= minGap) {
        return seed;
      }
      closest = Math.min(closest, gap);
    }
    throw new IllegalStateException(
        "no seed in "
            + firstSeed
            + ".."
            + (firstSeed + attempts - 1)
            + " routes the "
            + tokens
            + " tokens with selection gaps >= "
            + minGap
            + " (closest gap seen "
            + closest
            + "); use fewer tokens or experts");
  }

  /** The smallest selection gap of {@code tokens} rows of {@code inputs} over every MoE layer. */
  public static double smallestGap(Path directory, float[] inputs, int tokens) {
    try (Checkpoint checkpoint = Checkpoint.open(directory)) {
      double gap = Double.POSITIVE_INFINITY;
      for (int layer : checkpoint.moeLayers()) {
        gap =
            Math.min(
                gap, Float64MoeBlock.load(checkpoint, layer).route(inputs, tokens).smallestGap());
      }
      return gap;
    }
  }
}
