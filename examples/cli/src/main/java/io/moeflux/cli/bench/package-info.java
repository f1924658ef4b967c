/** Measurement tools for the bench commands: the raw TCP reference, percentiles, allocation. */
package io.moeflux.cli.bench;
