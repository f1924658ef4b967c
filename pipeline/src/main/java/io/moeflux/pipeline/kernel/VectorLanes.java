package io.moeflux.pipeline.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector shapes the vector kernel uses: the machine's preferred float vector, the short vector
 * with as many lanes (16-bit weights load into it, then widen), and the int vector of the float
 * vector's size. Static finals, so the JIT sees them as constants.
 */
final class VectorLanes {
  static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
  static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
  static final VectorSpecies<Short> HALVES =
      VectorSpecies.of(short.class, VectorShape.forBitSize(FLOATS.vectorBitSize() / 2));

  /** Float lanes per vector. */
  static final int LANES = FLOATS.length();

  /** Outputs per panel: the tiles are four vectors wide. */
  static final int PANEL = 4 * LANES;

  private VectorLanes() {}
}
