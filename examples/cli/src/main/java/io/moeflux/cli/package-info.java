/** The {@code moeflux} command-line tool: verify, bench, rebalance, serve and the demos. */
@NullMarked
package io.moeflux.cli;

import org.jspecify.annotations.NullMarked;
