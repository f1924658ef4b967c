/**
 * The rank mesh: how the ranks of an expert-parallel group exchange frames. {@link
 * io.moeflux.transport.RankMesh} is the entry point ({@code RankMesh.start(config)}), configured by
 * a {@link io.moeflux.transport.MeshConfig} that names a {@link io.moeflux.transport.MeshTransport}
 * and a {@link io.moeflux.transport.MeshFingerprint}; {@link io.moeflux.transport.Collectives}
 * builds all-to-all, all-gather and barriers on it. Frame layouts live in {@link
 * io.moeflux.transport.protocol}, transports in {@code tcp} and {@code local}, the RSocket
 * machinery in {@code mesh}.
 */
@NullMarked
package io.moeflux.transport;

import org.jspecify.annotations.NullMarked;
