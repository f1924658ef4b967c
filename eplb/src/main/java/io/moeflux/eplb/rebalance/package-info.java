/**
 * The online EPLB loop: heat snapshots to plans to weight migration to a switch that every rank
 * makes at the same step.
 */
@NullMarked
package io.moeflux.eplb.rebalance;

import org.jspecify.annotations.NullMarked;
