/** The {@code moeflux} command-line tool: verify, bench, rebalance and the demos. */
package io.moeflux.cli;
