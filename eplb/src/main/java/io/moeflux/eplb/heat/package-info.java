/**
 * Expert heat: a race-free stream from the dispatch tap to per-window snapshots aggregated over the
 * mesh, with balancedness and peak-to-average per layer.
 */
@NullMarked
package io.moeflux.eplb.heat;

import org.jspecify.annotations.NullMarked;
