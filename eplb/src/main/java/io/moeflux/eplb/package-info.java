/**
 * Expert-parallel load balancing: {@code heat} collects and aggregates expert load, {@code policy}
 * plans placements with redundant experts, {@code migration} moves expert weights, and {@code
 * rebalance} ties them into the online loop.
 */
@NullMarked
package io.moeflux.eplb;

import org.jspecify.annotations.NullMarked;
