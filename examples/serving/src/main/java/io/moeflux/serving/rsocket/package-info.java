/**
 * The RSocket routes ({@code moe.forward}, {@code moe.heat}, {@code moe.placement}, {@code
 * moe.status}) and the byte layout of {@code moe.forward}.
 */
@NullMarked
package io.moeflux.serving.rsocket;

import org.jspecify.annotations.NullMarked;
