/**
 * Every byte layout that crosses a wire, one codec per frame body, in the static flyweight style of
 * rsocket-java's {@code io.rsocket.frame}: codecs read and write in place and make no object per
 * frame, and check a received body against what its header implies. Numbers in bodies are
 * little-endian, so float rows move with bulk copies through {@link
 * io.moeflux.transport.protocol.FloatViews}. A change to any layout here bumps {@link
 * io.moeflux.transport.protocol.ProtocolVersion}.
 */
@NullMarked
package io.moeflux.transport.protocol;

import org.jspecify.annotations.NullMarked;
