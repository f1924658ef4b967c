package io.moeflux.transport.protocol;

import java.util.Objects;

/**
 * The precision of hidden values on the wire in each phase of a MoE layer: the token rows a
 * DISPATCH or GATHER frame carries, and the partial sums a COMBINE frame carries back. Every rank
 * of a group uses the same one (it is part of the handshake fingerprint).
 *
 * <p>{@link #of(WirePrecision)} is what {@code --wire} means: both phases in that precision, except
 * fp8, which combines in bf16 (partial sums are sums of several experts' outputs, and DeepEP sends
 * them in bf16 too).
 */
public record WireFormat(WirePrecision dispatch, WirePrecision combine) {
  /** float32 both ways: nothing is rounded. */
  public static final WireFormat F32 = new WireFormat(WirePrecision.F32, WirePrecision.F32);

  public WireFormat {
    Objects.requireNonNull(dispatch, "dispatch");
    Objects.requireNonNull(combine, "combine");
  }

  /** {@code wire} for both phases, except fp8, which combines in bf16. */
  public static WireFormat of(WirePrecision wire) {
    Objects.requireNonNull(wire, "wire");
    return new WireFormat(wire, wire == WirePrecision.FP8 ? WirePrecision.BF16 : wire);
  }

  /** This format with the combine phase in {@code combine}. */
  public WireFormat withCombine(WirePrecision combine) {
    return new WireFormat(dispatch, combine);
  }

  /**
   * {@code f32}, {@code bf16}: one name when both phases agree (and {@link #parse} reads it back as
   * this format); otherwise dispatch, then combine: {@code fp8/bf16}, {@code fp8/fp8}.
   */
  public String label() {
    return dispatch == combine && dispatch != WirePrecision.FP8
        ? dispatch.label()
        : dispatch.label() + "/" + combine.label();
  }

  /**
   * The format {@link #label()} names: {@code f32}, {@code bf16} or {@code fp8} ({@link
   * #of(WirePrecision)}), or {@code dispatch/combine}.
   *
   * @throws IllegalArgumentException naming the choices
   */
  public static WireFormat parse(String label) {
    Objects.requireNonNull(label, "label");
    int slash = label.indexOf('/');
    if (slash < 0) {
      return of(WirePrecision.parse(label));
    }
    return new WireFormat(
        WirePrecision.parse(label.substring(0, slash)),
        WirePrecision.parse(label.substring(slash + 1)));
  }

  @Override
  public String toString() {
    return label();
  }
}
