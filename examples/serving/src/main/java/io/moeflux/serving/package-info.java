/**
 * Serving a rank group from a reactive server: {@link io.moeflux.serving.BalancedGroup} (a group
 * with heat and rebalancing on), {@link io.moeflux.serving.RequestBatcher} (client requests packed
 * into group steps) and {@link io.moeflux.serving.StatusFields} (what status answers carry). The
 * RSocket routes are in {@code rsocket}, the HTTP status routes in {@code http}, the heat picture
 * in {@code picture}. Nothing here picks a logging binding or a metrics backend: the embedding
 * server does.
 */
@NullMarked
package io.moeflux.serving;

import org.jspecify.annotations.NullMarked;
