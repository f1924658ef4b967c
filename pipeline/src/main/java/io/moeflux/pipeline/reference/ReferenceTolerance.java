package io.moeflux.pipeline.reference;

import io.moeflux.transport.protocol.WireFormat;
import io.moeflux.transport.protocol.WirePrecision;

/**
 * How close a result must be to the float64 reference, per precision of the hidden states on the
 * wire between ranks ({@link #forWire}). The top-k ids must always be equal (on inputs whose
 * selection gaps are at least {@link #MIN_SELECTION_GAP}), and so must the weights within float32
 * rounding whatever the wire: a token is routed on its own rank, before its row crosses a socket.
 *
 * <p>With {@link #F32_WIRE} the ranks multiply the same weights as the reference, and the only
 * differences are float32 rounding in the router, the experts' accumulation and the combine. A
 * narrower wire rounds each row where it crosses a socket (the dispatched rows, then the partial
 * sums coming back): bf16 keeps 8 significant bits (a relative error of at most 2^-9 per value),
 * fp8 e4m3 with a per-token scale 4 (2^-4). The bounds below are those errors carried through one
 * MoE block, measured against the row's RMS ({@code WireErrorTest}), with room to spare.
 *
 * @param weightRelative the largest {@code |w - w_ref| / |w_ref|} of a top-k weight
 * @param outputRelativeToRms the largest {@code |y - y_ref|} of an output element, divided by the
 *     root mean square of the reference output
 */
public record ReferenceTolerance(double weightRelative, double outputRelativeToRms) {

  /**
   * The smallest difference between selection values for which ids must agree: float32 routers
   * resolve differences some thousand times smaller, so a gap of {@code 1e-3} cannot flip.
   */
  public static final double MIN_SELECTION_GAP = 1e-3;

  /** Hidden states as float32 on the wire: weights within 1e-5 relative, outputs within 1e-4. */
  public static final ReferenceTolerance F32_WIRE = new ReferenceTolerance(1e-5, 1e-4);

  /** Any phase in bf16, none in fp8: outputs within 3e-2 of the RMS. */
  public static final ReferenceTolerance BF16_WIRE = new ReferenceTolerance(1e-5, 3e-2);

  /** A phase in fp8 e4m3 (dispatch, and combine in bf16 or fp8): outputs within 0.35 of the RMS. */
  public static final ReferenceTolerance FP8_WIRE = new ReferenceTolerance(1e-5, 0.35);

  /** The tolerance of {@code wire}: that of its narrowest phase. */
  public static ReferenceTolerance forWire(WireFormat wire) {
    WirePrecision narrowest =
        wire.dispatch().ordinal() > wire.combine().ordinal() ? wire.dispatch() : wire.combine();
    return switch (narrowest) {
      case F32 -> F32_WIRE;
      case BF16 -> BF16_WIRE;
      case FP8 -> FP8_WIRE;
    };
  }

  public ReferenceTolerance {
    if (!(weightRelative >= 0) || !(outputRelativeToRms >= 0)) {
      throw new IllegalArgumentException(
          "tolerances must be >= 0, got " + weightRelative + " and " + outputRelativeToRms);
    }
  }
}
