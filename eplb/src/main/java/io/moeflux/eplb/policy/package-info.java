/**
 * Placement policies: from per-layer expert load to physical slots with redundant replicas
 * (DeepSeek's algorithm as the baseline, a balanced policy that never does worse, a
 * minimal-movement policy), their validation and their migration cost.
 */
@NullMarked
package io.moeflux.eplb.policy;

import org.jspecify.annotations.NullMarked;
