/**
 * Every byte layout that crosses a wire, one codec per frame body, in the static flyweight style of
 * rsocket-java's {@code io.rsocket.frame}: codecs read and write in place and make no object per
 * frame. A change to any layout here bumps {@link io.moeflux.transport.protocol.ProtocolVersion}.
 */
@NullMarked
package io.moeflux.transport.protocol;

import org.jspecify.annotations.NullMarked;
