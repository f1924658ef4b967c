/** The TCP {@link io.moeflux.transport.MeshTransport}: ranks across processes and hosts. */
@NullMarked
package io.moeflux.transport.tcp;

import org.jspecify.annotations.NullMarked;
