/**
 * Internal: the RSocket implementation of {@link io.moeflux.transport.RankMesh}, one class per job
 * (connect and handshake, inbound lanes, outbound lanes, membership, the inbox of arrived frames).
 * Not an API; use {@code RankMesh.start(config)}.
 */
@NullMarked
package io.moeflux.transport.mesh;

import org.jspecify.annotations.NullMarked;
