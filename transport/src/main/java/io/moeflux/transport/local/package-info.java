/** The in-JVM {@link io.moeflux.transport.MeshTransport}: ranks of one process, for fast tests. */
@NullMarked
package io.moeflux.transport.local;

import org.jspecify.annotations.NullMarked;
