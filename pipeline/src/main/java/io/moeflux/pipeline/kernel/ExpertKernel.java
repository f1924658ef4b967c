package io.moeflux.pipeline.kernel;

/**
 * Computes SwiGLU experts: packs an expert's matrices once, at load, into the layout its loops
 * read, and runs them ({@link PackedExpert#forward}). {@link ExpertKernels#preferred()} picks the
 * fastest one this JVM can run. Ranks compare {@link #name()} at handshake: a group computes with
 * one kernel.
 */
public interface ExpertKernel {
  /** Names the implementation, e.g. {@code vector512-fma-v1} or {@code scalar-fma-v1}. */
  String name();

  /**
   * Packs one expert: {@code gate} and {@code up} are {@code intermediate x hidden} (outputs x
   * inputs) of one format, {@code down} is {@code hidden x intermediate}.
   *
   * @throws IllegalArgumentException when the shapes disagree, or gate and up differ in format
   */
  PackedExpert pack(WeightMatrix gate, WeightMatrix up, WeightMatrix down);
}
