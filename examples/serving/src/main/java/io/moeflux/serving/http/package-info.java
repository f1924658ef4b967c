/** HTTP status routes on Reactor Netty: {@code /status}, {@code /metrics}, {@code /heat.svg}. */
@NullMarked
package io.moeflux.serving.http;

import org.jspecify.annotations.NullMarked;
