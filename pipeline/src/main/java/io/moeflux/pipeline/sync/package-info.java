/**
 * The DP metadata sync (a per-step all-reduce of token counts and the prefill flag), the comm modes
 * it selects between, and the checked rule that lets decode-only ranks skip it.
 */
@NullMarked
package io.moeflux.pipeline.sync;

import org.jspecify.annotations.NullMarked;
