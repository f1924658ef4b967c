package io.moeflux.pipeline.reference;

/**
 * How close a result must be to the float64 reference, per precision of the hidden states on the
 * wire between ranks. The top-k ids must always be equal (on inputs whose selection gaps are at
 * least {@link #MIN_SELECTION_GAP}).
 *
 * <p>Only float32 crosses the wire today ({@link #F32_WIRE}): the ranks multiply the same weights
 * as the reference, and the only differences are float32 rounding in the router, the experts'
 * accumulation and the combine. The 16-bit and fp8 wire formats of the data-path issue add their
 * own bounds here as further constants, next to this one.
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

  public ReferenceTolerance {
    if (!(weightRelative >= 0) || !(outputRelativeToRms >= 0)) {
      throw new IllegalArgumentException(
          "tolerances must be >= 0, got " + weightRelative + " and " + outputRelativeToRms);
    }
  }
}
