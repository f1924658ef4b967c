/**
 * Switching expert placements while the pipeline runs: the switch schedule, the placement a rank
 * has prepared, and the agreement that makes every rank switch at the same step or none.
 */
@NullMarked
package io.moeflux.pipeline.placement;

import org.jspecify.annotations.NullMarked;
