/** Measurement tools for the bench commands: the raw TCP reference, percentiles, allocation. */
@NullMarked
package io.moeflux.cli.bench;

import org.jspecify.annotations.NullMarked;
