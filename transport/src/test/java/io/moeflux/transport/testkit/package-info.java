/**
 * Test support published in the transport test-jar: {@link
 * io.moeflux.transport.testkit.LeakRecorder} (paranoid leak detection turned into test failures)
 * for every module, and {@link io.moeflux.transport.testkit.RankMeshContract}, the behaviour every
 * {@link io.moeflux.transport.MeshTransport} must show.
 */
@NullMarked
package io.moeflux.transport.testkit;

import org.jspecify.annotations.NullMarked;
