package io.moeflux.pipeline;

import io.moeflux.pipeline.model.ExpertKind;
import io.moeflux.pipeline.toggle.StepToggle;
import java.util.Locale;
import java.util.Objects;

/**
 * Whether a rank splits its batch into two micro-batches, so that one micro-batch's experts run
 * while the other's frames travel (dual-batch overlap, as vLLM's DBO and DeepEP's receive hook do
 * it). Every rank of a group must split the same steps the same way (it is in the handshake
 * fingerprint): the number of micro-batches of a step depends only on its step id and the model,
 * never on a rank's own batch. A split step sends one frame to every peer per phase and
 * micro-batch; a rank with fewer than two tokens sends empty frames for the empty micro-batch. The
 * arithmetic per token is the same either way, so the results are bitwise equal.
 *
 * <p>{@link #off()} is the default: on a machine whose cores the ranks keep busy (the 2-core
 * loopback machine of the README's figures), a link is CPU too, so no core waits for frames, and
 * the split's extra frames cost 5–19 % per step with SwiGLU experts. Behind links that leave cores
 * idle (2 ranks × 256 tokens, 50 MB/s links, SwiGLU experts) the split took the step to 0.74 of its
 * time: the CLI's {@code rank} and {@code serve --rank} choose {@link #auto()} when a peer is on
 * another host and a step can carry 128 tokens per rank or more. {@link #auto()} splits when the
 * experts compute something ({@link ExpertKind#SWIGLU} and checkpoint experts), for links that
 * leave cores idle while frames travel; with identity experts there is nothing to hide the exchange
 * behind, and a split only doubles the frames. {@link #alternating} is for benchmarks: the split
 * switched by a {@link StepToggle#abba} toggle, so that a running group measures both.
 */
public final class Overlap {
  private enum Mode {
    OFF,
    ON,
    AUTO,
    ALTERNATING
  }

  private static final Overlap OFF = new Overlap(Mode.OFF, StepToggle.always());
  private static final Overlap ON = new Overlap(Mode.ON, StepToggle.always());
  private static final Overlap AUTO = new Overlap(Mode.AUTO, StepToggle.always());

  private final Mode mode;
  private final StepToggle toggle;

  private Overlap(Mode mode, StepToggle toggle) {
    this.mode = mode;
    this.toggle = toggle;
  }

  /** Never split: one micro-batch per step. */
  public static Overlap off() {
    return OFF;
  }

  /** Always split into two micro-batches. */
  public static Overlap on() {
    return ON;
  }

  /** Split when the model's experts compute something (not the identity). */
  public static Overlap auto() {
    return AUTO;
  }

  /**
   * Blocks of {@code blockSteps} steps, off and on in the order off, on, on, off, off, on, on, ...
   * (ABBA): a step splits where {@link StepToggle#abba StepToggle.abba(blockSteps)} is on.
   *
   * @throws IllegalArgumentException when {@code blockSteps < 1}
   */
  public static Overlap alternating(int blockSteps) {
    return new Overlap(Mode.ALTERNATING, StepToggle.abba(blockSteps));
  }

  /**
   * The policy {@link #label()} names: {@code off}, {@code on}, {@code auto} or {@code
   * alternating/N}.
   *
   * @throws IllegalArgumentException naming the choices
   */
  public static Overlap parse(String label) {
    Objects.requireNonNull(label, "label");
    String text = label.strip().toLowerCase(Locale.ROOT);
    switch (text) {
      case "off":
        return OFF;
      case "on":
        return ON;
      case "auto":
        return AUTO;
      default:
        if (text.startsWith("alternating/")) {
          try {
            return alternating(Integer.parseInt(text.substring("alternating/".length())));
          } catch (NumberFormatException e) {
            // falls through to the error naming the choices
          }
        }
        throw new IllegalArgumentException(
            "unknown overlap '" + label + "': expected off, on, auto or alternating/N");
    }
  }

  /** The micro-batches step {@code step} is split into, 1 or 2, with experts of {@code kind}. */
  public int microBatches(long step, ExpertKind kind) {
    return splits(step, kind) ? 2 : 1;
  }

  /** Whether step {@code step} is split, with experts of {@code kind}. */
  public boolean splits(long step, ExpertKind kind) {
    return switch (mode) {
      case OFF -> false;
      case ON -> true;
      case AUTO -> kind != ExpertKind.IDENTITY;
      case ALTERNATING -> toggle.isOn(step);
    };
  }

  /**
   * The toggle that switches the split for {@link #alternating}; {@link StepToggle#always()} for
   * the other policies.
   */
  public StepToggle toggle() {
    return toggle;
  }

  /** Whether steps switch between split and not ({@link #alternating}). */
  public boolean alternates() {
    return mode == Mode.ALTERNATING;
  }

  /**
   * {@code off}, {@code on}, {@code auto} or {@code alternating/N}: what the handshake compares.
   */
  public String label() {
    return mode == Mode.ALTERNATING
        ? "alternating/" + toggle.blockSteps()
        : mode.name().toLowerCase(Locale.ROOT);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof Overlap that && mode == that.mode && toggle.equals(that.toggle);
  }

  @Override
  public int hashCode() {
    return Objects.hash(mode, toggle);
  }

  @Override
  public String toString() {
    return label();
  }
}
