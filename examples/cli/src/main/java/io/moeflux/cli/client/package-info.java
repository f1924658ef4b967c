/**
 * A plain rsocket-java client of {@code moeflux serve}, the starting point for a client in another
 * process.
 */
@NullMarked
package io.moeflux.cli.client;

import org.jspecify.annotations.NullMarked;
