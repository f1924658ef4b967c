/**
 * Every byte layout that crosses a wire, one codec per frame body, in the static flyweight style of
 * rsocket-java's {@code io.rsocket.frame}: codecs read and write in place and make no object per
 * frame, and check a received body against what its header implies. Numbers in bodies are
 * little-endian; hidden rows travel in the group's {@link
 * io.moeflux.transport.protocol.WirePrecision} and move in and out of frames through {@link
 * io.moeflux.transport.protocol.RowCoder} with bulk copies or conversions, never value by value
 * through the buffer. A change to any layout here bumps {@link
 * io.moeflux.transport.protocol.ProtocolVersion}.
 */
@NullMarked
package io.moeflux.transport.protocol;

import org.jspecify.annotations.NullMarked;
