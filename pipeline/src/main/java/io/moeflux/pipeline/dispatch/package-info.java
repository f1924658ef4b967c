/**
 * Dispatch and combine: the per-layer all-to-all with a different token count on every rank. A
 * token travels to a destination rank once, however many of its experts live there; that rank
 * returns one gate-weighted partial sum per token.
 */
package io.moeflux.pipeline.dispatch;
